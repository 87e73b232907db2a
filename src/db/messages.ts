// Message content: written once by the client, read by the send activity, never carried in
// workflow history.
import type { Pool } from 'pg';
import type { MessageState, ProfileName, RetrySchedule } from '../types';

export interface StoredMessageInput {
  id: string;
  contentHash: string;
  mailFrom: string;
  recipients: string[];
  messageIdHeader: string;
  raw: Buffer;
  profile: ProfileName | 'custom';
  schedule: RetrySchedule;
}

export interface MessageRow {
  id: string;
  contentHash: string;
  recipients: string[];
  messageIdHeader: string;
  profile: ProfileName | 'custom';
  schedule: RetrySchedule;
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
    `INSERT INTO messages (id, content_hash, mail_from, recipients, message_id_header, raw, size_bytes, profile, schedule)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
     ON CONFLICT (id) DO NOTHING
     RETURNING ${MESSAGE_COLUMNS}`,
    [m.id, m.contentHash, m.mailFrom, m.recipients, m.messageIdHeader, m.raw, m.raw.length, m.profile, JSON.stringify(m.schedule)],
  );
  if (inserted.rows[0]) return { row: toMessageRow(inserted.rows[0]), created: true };
  const row = await getMessage(pool, m.id);
  if (!row) throw new Error(`message ${m.id} was neither stored nor found: was it deleted meanwhile? Send it again`);
  return { row, created: false };
}

const MESSAGE_COLUMNS = 'id, content_hash, recipients, message_id_header, profile, schedule, state, created_at';

function toMessageRow(r: Record<string, any>): MessageRow {
  return {
    id: r.id,
    contentHash: r.content_hash,
    recipients: r.recipients,
    messageIdHeader: r.message_id_header,
    profile: r.profile,
    schedule: r.schedule,
    state: r.state,
    createdAt: r.created_at,
  };
}

export async function getMessage(pool: Pool, id: string): Promise<MessageRow | null> {
  const res = await pool.query(`SELECT ${MESSAGE_COLUMNS} FROM messages WHERE id = $1`, [id]);
  return res.rows[0] ? toMessageRow(res.rows[0]) : null;
}

export async function setMessageState(pool: Pool, id: string, state: MessageState, final: boolean): Promise<void> {
  await pool.query(
    `UPDATE messages SET state = $2, finished_at = CASE WHEN $3 THEN coalesce(finished_at, now()) ELSE NULL END WHERE id = $1`,
    [id, state, final],
  );
}
