// What one attempt reads and writes: the message, the suppressions and the accepted-recipient
// ledger that makes a retried send activity safe, in one query before the SMTP transaction and
// one statement after it. Each round trip to PostgreSQL is a wake-up of two processes, and at
// full speed the worker spent more of its time on eight of them than on SMTP (bench/RESULTS.md).
import type { Pool } from 'pg';
import type { AttemptReply, MessageState, SuppressionCheck } from '../types';
import { ACTIVE_SUPPRESSION } from './suppressions';

export interface AcceptedRecipient {
  recipient: string;
  attempt: number;
  code: number | null;
  enhanced: string | null;
  text: string;
}

export interface MessageForSend {
  id: string;
  mailFrom: string;
  raw: Buffer;
}

export interface AttemptContext {
  /** Null when the message is not in the database. */
  message: MessageForSend | null;
  /** Recipients with an active suppression: they are skipped (spec 5). */
  suppressed: SuppressionCheck[];
  /** Recipients an earlier run of this activity already had accepted. */
  accepted: AcceptedRecipient[];
}

export async function loadAttemptContext(pool: Pool, messageId: string, recipients: string[]): Promise<AttemptContext> {
  const res = await pool.query(
    `SELECT m.id, m.mail_from, m.raw,
            (SELECT coalesce(json_agg(json_build_object('address', s.address, 'reason', s.reason)), '[]')
               FROM suppressions s WHERE s.address = ANY($2) AND ${ACTIVE_SUPPRESSION}) AS suppressed,
            (SELECT coalesce(json_agg(json_build_object('recipient', a.recipient, 'attempt', a.attempt, 'code', a.code,
                                                        'enhanced', a.enhanced, 'text', a.reply_text)), '[]')
               FROM accepted_recipients a WHERE a.message_id = $1 AND a.recipient = ANY($2)) AS accepted
       FROM (SELECT 1) AS one LEFT JOIN messages m ON m.id = $1`,
    [messageId, recipients],
  );
  const r = res.rows[0];
  return {
    message: r.id === null ? null : { id: r.id, mailFrom: r.mail_from, raw: r.raw },
    suppressed: r.suppressed,
    accepted: r.accepted,
  };
}

export interface AttemptRecord {
  messageId: string;
  attempt: number;
  replies: AttemptReply[];
  /** Set when this attempt ended the message: its state is written in the same statement. */
  finalState: MessageState | null;
}

/**
 * Records one attempt's replies, the newly accepted recipients and, when the attempt ended the
 * message, its final state, in one statement (so atomically). Runs before the send activity
 * completes so that a retry of the activity finds what was accepted.
 */
export async function recordAttempt(pool: Pool, record: AttemptRecord): Promise<void> {
  const { messageId, attempt, replies, finalState } = record;
  const accepted = replies.filter((r) => r.kind === 'delivered' && !r.alreadyAccepted);
  await pool.query(
    `WITH logged AS (
       INSERT INTO attempts (message_id, attempt, recipient, code, enhanced, reply_text, kind, category, retry_after_ms)
       SELECT $1, $2, r.recipient, r.code, r.enhanced, r.reply_text, r.kind, r.category, r.retry_after_ms
         FROM unnest($3::text[], $4::int[], $5::text[], $6::text[], $7::text[], $8::text[], $9::int[])
           AS r(recipient, code, enhanced, reply_text, kind, category, retry_after_ms)
       ON CONFLICT (message_id, attempt, recipient) DO UPDATE
         SET code = EXCLUDED.code, enhanced = EXCLUDED.enhanced, reply_text = EXCLUDED.reply_text,
             kind = EXCLUDED.kind, category = EXCLUDED.category, retry_after_ms = EXCLUDED.retry_after_ms, at = now()
     ), ledger AS (
       INSERT INTO accepted_recipients (message_id, recipient, attempt, code, enhanced, reply_text)
       SELECT $1, r.recipient, $2, r.code, r.enhanced, r.reply_text
         FROM unnest($10::text[], $11::int[], $12::text[], $13::text[]) AS r(recipient, code, enhanced, reply_text)
       ON CONFLICT (message_id, recipient) DO NOTHING
     ), final AS (
       UPDATE messages SET state = $14, finished_at = coalesce(finished_at, now())
        WHERE id = $1 AND $14::text IS NOT NULL
     )
     SELECT 1`,
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
      accepted.map((r) => r.address),
      accepted.map((r) => r.code),
      accepted.map((r) => r.enhanced),
      accepted.map((r) => r.text),
      finalState,
    ],
  );
}
