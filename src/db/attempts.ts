// The attempt log and the accepted-recipient ledger that makes a retried send activity safe.
import type { Pool } from 'pg';
import type { AttemptReply } from '../types';

export interface AcceptedRecipient {
  recipient: string;
  attempt: number;
  code: number | null;
  enhanced: string | null;
  text: string;
}

export async function acceptedRecipients(pool: Pool, messageId: string, recipients: string[]): Promise<AcceptedRecipient[]> {
  const res = await pool.query(
    `SELECT recipient, attempt, code, enhanced, reply_text FROM accepted_recipients
      WHERE message_id = $1 AND recipient = ANY($2)`,
    [messageId, recipients],
  );
  return res.rows.map((r) => ({ recipient: r.recipient, attempt: r.attempt, code: r.code, enhanced: r.enhanced, text: r.reply_text }));
}

/**
 * Records one attempt's replies, and the accepted recipients, in one transaction. Runs before
 * the send activity completes so that a retry of the activity finds what was accepted.
 */
export async function recordAttempt(pool: Pool, messageId: string, attempt: number, replies: AttemptReply[]): Promise<void> {
  if (replies.length === 0) return;
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(
      `INSERT INTO attempts (message_id, attempt, recipient, code, enhanced, reply_text, kind, category, retry_after_ms)
       SELECT $1, $2, r.recipient, r.code, r.enhanced, r.reply_text, r.kind, r.category, r.retry_after_ms
         FROM unnest($3::text[], $4::int[], $5::text[], $6::text[], $7::text[], $8::text[], $9::int[])
           AS r(recipient, code, enhanced, reply_text, kind, category, retry_after_ms)
       ON CONFLICT (message_id, attempt, recipient) DO UPDATE
         SET code = EXCLUDED.code, enhanced = EXCLUDED.enhanced, reply_text = EXCLUDED.reply_text,
             kind = EXCLUDED.kind, category = EXCLUDED.category, retry_after_ms = EXCLUDED.retry_after_ms, at = now()`,
      [
        messageId,
        attempt,
        replies.map((r) => r.address),
        replies.map((r) => r.code),
        replies.map((r) => r.enhanced),
        replies.map((r) => r.text),
        replies.map((r) => r.kind),
        replies.map((r) => r.category),
        replies.map((r) => r.retryAfterMs),
      ],
    );
    const accepted = replies.filter((r) => r.kind === 'delivered' && !r.alreadyAccepted);
    if (accepted.length > 0) {
      await client.query(
        `INSERT INTO accepted_recipients (message_id, recipient, attempt, code, enhanced, reply_text)
         SELECT $1, r.recipient, $2, r.code, r.enhanced, r.reply_text
           FROM unnest($3::text[], $4::int[], $5::text[], $6::text[]) AS r(recipient, code, enhanced, reply_text)
         ON CONFLICT (message_id, recipient) DO NOTHING`,
        [messageId, attempt, accepted.map((r) => r.address), accepted.map((r) => r.code), accepted.map((r) => r.enhanced), accepted.map((r) => r.text)],
      );
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
