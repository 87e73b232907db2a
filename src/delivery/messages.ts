// Message content: written once by the client, read by the send activity, never carried in
// workflow history; and what the delivery workflow records about the message besides attempts
// (its state, its expired recipients).
import type { Pool } from 'pg';
import { rollupUpserts } from '../domains/store';
import type { OutboxEvent } from '../webhooks/contract';
import { cancelledEventsSource, insertedEventIds, messageEventParams, messageEventsSource, outboxInsert } from '../webhooks/outbox';
import { FINAL_MESSAGE_STATES, type DeliveryStateRecord, type MessageState, type ProfileName, type RetrySchedule, type SchedulePlan } from './contract';

export interface StoredMessageInput {
  id: string;
  contentHash: string;
  mailFrom: string;
  recipients: string[];
  messageIdHeader: string;
  raw: Buffer;
  profile: ProfileName | 'custom';
  schedule: RetrySchedule;
  /** Each recipient's schedule (migrations/1764250000000_schedule-plans.sql). */
  plans?: SchedulePlan[];
}

export interface MessageRow {
  id: string;
  contentHash: string;
  recipients: string[];
  messageIdHeader: string;
  profile: ProfileName | 'custom';
  schedule: RetrySchedule;
  /** Null for messages stored before per-domain policies: every recipient follows `schedule`. */
  plans: SchedulePlan[] | null;
  state: MessageState;
  createdAt: Date;
}

/**
 * Stores a message unless one with the same id exists. Returns the stored row, which is the
 * earlier one for a repeated id: the caller compares content hashes to tell a retry of the same
 * request from a different message reusing an id.
 */
export async function insertMessage(pool: Pool, m: StoredMessageInput): Promise<{ row: MessageRow; created: boolean }> {
  // One round trip for a new message; the earlier row is read only when the id was taken.
  const inserted = await pool.query(
    `INSERT INTO messages (id, content_hash, mail_from, recipients, message_id_header, raw, size_bytes, profile, schedule, plans)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
     ON CONFLICT (id) DO NOTHING
     RETURNING ${MESSAGE_COLUMNS}`,
    [m.id, m.contentHash, m.mailFrom, m.recipients, m.messageIdHeader, m.raw, m.raw.length, m.profile, JSON.stringify(m.schedule), m.plans ? JSON.stringify(m.plans) : null],
  );
  if (inserted.rows[0]) return { row: toMessageRow(inserted.rows[0]), created: true };
  const row = await getMessage(pool, m.id);
  if (!row) throw new Error(`message ${m.id} was neither stored nor found: was it deleted meanwhile? Send it again`);
  return { row, created: false };
}

const MESSAGE_COLUMNS = 'id, content_hash, recipients, message_id_header, profile, schedule, plans, state, created_at';

function toMessageRow(r: Record<string, any>): MessageRow {
  return {
    id: r.id,
    contentHash: r.content_hash,
    recipients: r.recipients,
    messageIdHeader: r.message_id_header,
    profile: r.profile,
    schedule: r.schedule,
    plans: r.plans,
    state: r.state,
    createdAt: r.created_at,
  };
}

export async function getMessage(pool: Pool, id: string): Promise<MessageRow | null> {
  const res = await pool.query(`SELECT ${MESSAGE_COLUMNS} FROM messages WHERE id = $1`, [id]);
  return res.rows[0] ? toMessageRow(res.rows[0]) : null;
}

/**
 * What a delivery workflow records without an attempt, in one statement: the message's state
 * (when given; `finished_at` set once it is final), the recipients that expired and, for those
 * newly recorded only, the `expired` count of their domain's current hour and day. Idempotent:
 * a retried activity inserts no expiry twice, so it counts none twice (the expirations key).
 *
 * Webhook events in the same statement (README "Webhooks"): `events` (the expiries', built by
 * src/webhooks/events.ts) and, for a cancellation, one per recipient still open. Returns the
 * ids of the events it inserted.
 */
export async function recordDeliveryState(pool: Pool, record: DeliveryStateRecord, events: OutboxEvent[] = []): Promise<string[]> {
  const { messageId, state } = record;
  const final = state !== null && FINAL_MESSAGE_STATES.includes(state);
  const res = await pool.query(
    `WITH state AS (
       UPDATE messages SET state = $2, finished_at = CASE WHEN $3 THEN coalesce(finished_at, now()) ELSE NULL END
        WHERE id = $1 AND $2::text IS NOT NULL
     ), expired AS (
       INSERT INTO expirations (message_id, recipient)
       SELECT $1, recipient FROM unnest($4::text[]) AS recipient
       ON CONFLICT (message_id, recipient) DO NOTHING
       RETURNING domain, at
     ), delta AS (
       SELECT domain, date_trunc('hour', at, 'UTC') AS hour, count(*) AS expired FROM expired GROUP BY 1, 2
     ), ${rollupUpserts('delta', ['expired'])},
     ${outboxInsert('events', messageEventsSource(5, '$1', null))},
     ${outboxInsert('cancelled', cancelledEventsSource('$1', '$2'))}
     SELECT ${insertedEventIds('events', 'cancelled')}`,
    [messageId, state, final, (record.expired ?? []).map((e) => e.address), ...messageEventParams(events)],
  );
  return res.rows[0].event_ids;
}
