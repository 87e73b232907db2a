// What one attempt reads and writes: the message, the suppressions, the accepted-recipient
// ledger that makes a retried send activity safe and the health rollups of the recipients'
// domains, in one query before the SMTP transaction and one statement after it. Each round trip to PostgreSQL is a wake-up of two processes, and at
// full speed the worker spent more of its time on eight of them than on SMTP (bench/RESULTS.md).
import type { Pool } from 'pg';
import type { AttemptLog, AttemptReply, MessageState } from './contract';
import type { SuppressionCheck } from '../reputation/contract';
import { ROLLUP_COUNTERS, rollupUpserts } from '../domains/store';
import { SEND_LEASE_TTL_MS, TAKE_SEND_LEASE, type SendLease } from './leases';
import { ACTIVE_SUPPRESSION } from '../reputation/store';
import type { OutboxEvent } from '../webhooks/contract';
import { insertedEventIds, messageEventParams, messageEventsSource, outboxInsert } from '../webhooks/outbox';

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
  /** Recipients with an active suppression: they are skipped, never attempted. */
  suppressed: SuppressionCheck[];
  /** Recipients an earlier run of this activity already had accepted. */
  accepted: AcceptedRecipient[];
  /** Whether this run took the send lease; when not, the holder and until when it is held. */
  lease: { taken: true } | { taken: false; holder: string; until: Date };
}

/** Reads what the attempt needs and takes its send lease, in one statement. */
export async function loadAttemptContext(pool: Pool, messageId: string, recipients: string[], lease: SendLease): Promise<AttemptContext> {
  const res = await pool.query(
    `WITH lease AS (${TAKE_SEND_LEASE})
     SELECT m.id, m.mail_from, m.raw,
            (SELECT coalesce(json_agg(json_build_object('address', s.address, 'reason', s.reason)), '[]')
               FROM suppressions s WHERE s.address = ANY($2) AND ${ACTIVE_SUPPRESSION}) AS suppressed,
            (SELECT coalesce(json_agg(json_build_object('recipient', a.recipient, 'attempt', a.attempt, 'code', a.code,
                                                        'enhanced', a.enhanced, 'text', a.reply_text)), '[]')
               FROM accepted_recipients a WHERE a.message_id = $1 AND a.recipient = ANY($2)) AS accepted,
            EXISTS (SELECT 1 FROM lease) AS leased,
            held.holder AS lease_holder, held.until AS lease_until
       FROM (SELECT 1) AS one
       LEFT JOIN messages m ON m.id = $1
       LEFT JOIN send_leases held ON held.message_id = $1`,
    [messageId, recipients, lease.holder, lease.predecessors, SEND_LEASE_TTL_MS],
  );
  const r = res.rows[0];
  return {
    message: r.id === null ? null : { id: r.id, mailFrom: r.mail_from, raw: r.raw },
    suppressed: r.suppressed,
    accepted: r.accepted,
    // `held` is the snapshot before this statement: the other run's lease when it was busy.
    lease: r.leased ? { taken: true } : { taken: false, holder: r.lease_holder, until: r.lease_until },
  };
}

/**
 * Where each freshly tried recipient's reply came from (README "Traffic shaping"): its site, when
 * the sender knows it, and the connection-level error code (ESITESUSPENDED and ESITETHROTTLED:
 * held back by Rebound itself, no SMTP attempt). By address; recipients absent have neither.
 * Kept off the workflow's types: it goes to the attempt log only.
 */
export type AttemptSites = Record<string, { site?: string | null; errorCode?: string | null }>;

/** One attempt's log entry; when `finalState` is set, the message's state is written in the same statement. */
export type AttemptRecord = AttemptLog & { sites?: AttemptSites };

/**
 * What one attempt adds to the hourly and daily rollups of its recipients' domains (README
 * "Domain health"): +1 per attempt row this statement inserted and, when a retried activity
 * re-records an attempt with a different reply (or in a later hour), -1 for the row it replaced
 * and +1 for the new one, so the rollups always equal a count of the attempt log. A re-recorded
 * row whose earlier version this statement's snapshot cannot see (the two runs raced) keeps the
 * first run's count: never counted twice. Soft replies count under their scope; rows without
 * one under fallback_reply_scope(category) (see the migration).
 *
 * `earlier` and `tried` read the snapshot taken before this statement's own writes: what
 * previous runs and attempts wrote, nothing this statement inserts.
 */
const COUNTED_CHANGES = `
  earlier AS (
    SELECT recipient, domain, code, enhanced, reply_text, kind, category, scope, at
      FROM attempts WHERE message_id = $1 AND attempt = $2 AND recipient = ANY($3)
  ), tried AS (
    -- A send is one message to one recipient, counted at its first attempt: these had one before.
    SELECT DISTINCT recipient FROM attempts WHERE message_id = $1 AND attempt < $2 AND recipient = ANY($3)
  ), changed AS (
    SELECT e.recipient FROM earlier e JOIN logged l USING (recipient)
     WHERE NOT l.inserted
       AND (l.kind, l.category, l.scope, l.code, l.enhanced, date_trunc('hour', l.at, 'UTC'))
           IS DISTINCT FROM (e.kind, e.category, e.scope, e.code, e.enhanced, date_trunc('hour', e.at, 'UTC'))
  ), counted AS (
    SELECT c.sign, c.domain, date_trunc('hour', c.at, 'UTC') AS hour, c.kind, c.category,
           coalesce(c.scope, fallback_reply_scope(c.category)) AS scope, c.code, c.enhanced, left(c.reply_text, 500) AS sample,
           NOT EXISTS (SELECT 1 FROM tried t WHERE t.recipient = c.recipient) AS first
      FROM (SELECT 1 AS sign, recipient, domain, code, enhanced, reply_text, kind, category, scope, at
              FROM logged WHERE inserted OR recipient IN (SELECT recipient FROM changed)
            UNION ALL
            SELECT -1, recipient, domain, code, enhanced, reply_text, kind, category, scope, at
              FROM earlier WHERE recipient IN (SELECT recipient FROM changed)) AS c
  )`;

/** Per domain and hour, what `counted` changes: the counters of recordAttempt. */
const ATTEMPT_DELTA = `
  delta AS (
    SELECT domain, hour, sum(sign) AS attempts, sum(sign * first::int) AS sends, sum(sign * (kind = 'delivered')::int) AS delivered,
           sum(sign * (kind = 'soft' AND scope = 'recipient')::int) AS soft_recipient,
           sum(sign * (kind = 'soft' AND scope = 'destination')::int) AS soft_destination,
           sum(sign * (kind = 'soft' AND scope = 'sender')::int) AS soft_sender,
           sum(sign * (kind = 'soft' AND scope = 'message')::int) AS soft_message,
           sum(sign * (kind = 'hard')::int) AS hard
      FROM counted GROUP BY domain, hour
  ), ${rollupUpserts('delta', ROLLUP_COUNTERS.filter((c) => c !== 'expired'))}`;

/**
 * The non-delivered replies per domain, hour and what they mean, in key order like the rollups.
 * A reply key keeps the first sample it was written with.
 */
const REPLY_UPSERT = `
  replies AS (
    INSERT INTO domain_reply_hourly AS d (domain, hour, kind, category, scope, code, enhanced, sample, count)
    SELECT domain, hour, kind, category, scope, code, enhanced, min(sample), sum(sign)
      FROM counted WHERE kind <> 'delivered'
     GROUP BY domain, hour, kind, category, scope, code, enhanced
     ORDER BY domain, hour, kind, category, scope, code, enhanced
    ON CONFLICT (domain, hour, kind, category, scope, coalesce(code, 0), coalesce(enhanced, '')) DO UPDATE SET count = d.count + EXCLUDED.count
  )`;

const RECORD_ATTEMPT = `
  WITH logged AS (
    INSERT INTO attempts (message_id, attempt, recipient, code, enhanced, reply_text, kind, category, scope, retry_after_ms, site, error_code)
    SELECT $1, $2, r.recipient, r.code, r.enhanced, r.reply_text, r.kind, r.category, r.scope, r.retry_after_ms, r.site, r.error_code
      FROM unnest($3::text[], $4::int[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::int[], $16::text[], $17::text[])
        AS r(recipient, code, enhanced, reply_text, kind, category, scope, retry_after_ms, site, error_code)
    ON CONFLICT (message_id, attempt, recipient) DO UPDATE
      SET code = EXCLUDED.code, enhanced = EXCLUDED.enhanced, reply_text = EXCLUDED.reply_text,
          kind = EXCLUDED.kind, category = EXCLUDED.category, scope = EXCLUDED.scope,
          retry_after_ms = EXCLUDED.retry_after_ms, site = EXCLUDED.site, error_code = EXCLUDED.error_code, at = now()
    RETURNING recipient, domain, code, enhanced, reply_text, kind, category, scope, at, (xmax = 0) AS inserted
  ), ${COUNTED_CHANGES}, ${ATTEMPT_DELTA}, ${REPLY_UPSERT}, ledger AS (
    INSERT INTO accepted_recipients (message_id, recipient, attempt, code, enhanced, reply_text)
    SELECT $1, r.recipient, $2, r.code, r.enhanced, r.reply_text
      FROM unnest($11::text[], $12::int[], $13::text[], $14::text[]) AS r(recipient, code, enhanced, reply_text)
    ON CONFLICT (message_id, recipient) DO NOTHING
  ), final AS (
    UPDATE messages SET state = $15, finished_at = coalesce(finished_at, now())
     WHERE id = $1 AND $15::text IS NOT NULL
  ), ${outboxInsert('events', messageEventsSource(18, '$1', '$2'))}
  SELECT ${insertedEventIds('events')}`;

/**
 * Records one attempt's replies, the newly accepted recipients, the domain rollups and, when the
 * attempt ended the message, its final state, in one statement (so atomically). Runs before the
 * send activity completes so that a retry of the activity finds what was accepted.
 *
 * A named (prepared) statement: planning this many CTEs cost more than running them, about
 * 2.5 ms an attempt on the bench machine; prepared once per connection, the whole statement
 * costs what the attempt log and ledger alone did before the rollups (bench/RESULTS.md).
 */
export async function recordAttempt(pool: Pool, record: AttemptRecord): Promise<void> {
  await recordAttemptWithEvents(pool, record, []);
}

/**
 * recordAttempt with the attempt's webhook events (src/webhooks/events.ts), written to the
 * outbox in the same statement; returns the ids of those it inserted (README "Webhooks").
 */
export async function recordAttemptWithEvents(pool: Pool, record: AttemptRecord, events: OutboxEvent[]): Promise<string[]> {
  const { messageId, attempt, replies, finalState } = record;
  const sites = record.sites ?? {};
  const accepted = replies.filter((r) => r.kind === 'delivered' && !r.alreadyAccepted);
  const res = await pool.query({
    name: 'rebound-record-attempt',
    text: RECORD_ATTEMPT,
    values: [
      messageId,
      attempt,
      replies.map((r) => r.address),
      replies.map((r) => r.code),
      replies.map((r) => r.enhanced),
      replies.map((r) => r.text),
      replies.map((r) => r.kind),
      replies.map((r) => r.category),
      // Replies classified before scopes existed have none: stored as null, counted by category.
      replies.map((r) => r.scope ?? null),
      replies.map((r) => r.retryAfterMs),
      accepted.map((r) => r.address),
      accepted.map((r) => r.code),
      accepted.map((r) => r.enhanced),
      accepted.map((r) => r.text),
      finalState,
      replies.map((r) => sites[r.address]?.site ?? null),
      replies.map((r) => sites[r.address]?.errorCode ?? null),
      ...messageEventParams(events),
    ],
  });
  return res.rows[0].event_ids;
}

/** The recipients one transaction of a multi-transaction send was accepted for, by code and text. */
export interface AcceptedNow {
  recipient: string;
  code: number | null;
  enhanced: string | null;
  text: string;
}

/**
 * Puts recipients a server just accepted on the ledger before the send's next transaction
 * (direct delivery, one per recipient domain): a later run of the attempt skips them even when
 * this run stops before it records the attempt. The attempt log's own write finds them there.
 */
export async function recordAcceptedNow(pool: Pool, messageId: string, attempt: number, accepted: AcceptedNow[]): Promise<void> {
  if (accepted.length === 0) return;
  await pool.query(
    `INSERT INTO accepted_recipients (message_id, recipient, attempt, code, enhanced, reply_text)
     SELECT $1, r.recipient, $2, r.code, r.enhanced, r.reply_text
       FROM unnest($3::text[], $4::int[], $5::text[], $6::text[]) AS r(recipient, code, enhanced, reply_text)
     ON CONFLICT (message_id, recipient) DO NOTHING`,
    [messageId, attempt, accepted.map((a) => a.recipient), accepted.map((a) => a.code), accepted.map((a) => a.enhanced), accepted.map((a) => a.text)],
  );
}
