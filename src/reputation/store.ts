// The suppression list. Senders read active rows (neither lifted nor expired); reputation
// workflows, operators and imports write them. Lifted rows stay for the record.
import type { Pool } from 'pg';
import type { Suppression, SuppressionSource } from './contract';
import { addressLiftedSource, addressSuppressedSource, outboxInsert } from '../webhooks/outbox';

/** The condition for a row that stops sends: neither lifted nor expired. */
export const ACTIVE_SUPPRESSION = `lifted_at IS NULL AND (expires_at IS NULL OR expires_at > now())`;

export interface SuppressionRow extends Suppression {
  address: string;
  liftedAt: string | null;
}

function toRow(r: Record<string, any>): SuppressionRow {
  const iso = (d: Date | null) => (d ? d.toISOString() : null);
  return {
    address: r.address,
    reason: r.reason,
    category: r.category,
    source: r.source,
    messageId: r.message_id,
    reply: r.reply,
    since: iso(r.created_at)!,
    until: iso(r.expires_at),
    actor: r.actor,
    note: r.note,
    liftedAt: iso(r.lifted_at),
  };
}

/** A row of the suppressions table as the API and CLI show it. */
export function suppressionRowOf(r: Record<string, any>): SuppressionRow {
  return toRow(r);
}

export async function getActiveSuppression(pool: Pool, address: string): Promise<SuppressionRow | null> {
  const res = await pool.query(`SELECT * FROM suppressions WHERE address = $1 AND ${ACTIVE_SUPPRESSION}`, [address]);
  return res.rows[0] ? toRow(res.rows[0]) : null;
}

// Every write below also writes its webhook event (address.suppressed, address.lifted) in the
// same statement when an endpoint subscribes to it; the workers' sweeper delivers it (README
// "Webhooks").

/** Writes (or replaces) the suppression of an address; a lifted row becomes active again. */
export async function upsertSuppression(pool: Pool, address: string, s: Suppression): Promise<void> {
  await pool.query(
    `WITH written AS (
     INSERT INTO suppressions (address, reason, category, source, message_id, reply, note, actor, created_at, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
     ON CONFLICT (address) DO UPDATE SET
       reason = EXCLUDED.reason, category = EXCLUDED.category, source = EXCLUDED.source,
       message_id = EXCLUDED.message_id, reply = EXCLUDED.reply, note = EXCLUDED.note, actor = EXCLUDED.actor,
       created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at,
       lifted_at = NULL, lifted_by = NULL, lift_reason = NULL
     RETURNING *
     ), ${outboxInsert('events', addressSuppressedSource('written'))}
     SELECT 1`,
    [address, s.reason, s.category, s.source, s.messageId, s.reply, s.note, s.actor, s.since, s.until],
  );
}

export async function markLifted(pool: Pool, address: string, at: string, actor: string | null, reason: string): Promise<boolean> {
  const res = await pool.query(
    `WITH lifted AS (
       UPDATE suppressions SET lifted_at = $2, lifted_by = $3, lift_reason = $4 WHERE address = $1 AND lifted_at IS NULL RETURNING *
     ), ${outboxInsert('events', addressLiftedSource('lifted'))}
     SELECT count(*)::int AS lifted FROM lifted`,
    [address, at, actor, reason],
  );
  return res.rows[0].lifted > 0;
}

export interface ListFilter {
  domain?: string;
  reason?: string;
  limit?: number;
  /** Include lifted and expired rows. */
  all?: boolean;
}

export async function listSuppressions(pool: Pool, f: ListFilter = {}): Promise<SuppressionRow[]> {
  const where = [f.all ? 'true' : ACTIVE_SUPPRESSION];
  const params: unknown[] = [];
  if (f.domain) {
    params.push(f.domain.toLowerCase());
    where.push(`domain = $${params.length}`);
  }
  if (f.reason) {
    params.push(f.reason);
    where.push(`reason = $${params.length}`);
  }
  params.push(f.limit ?? 100);
  const res = await pool.query(`SELECT * FROM suppressions WHERE ${where.join(' AND ')} ORDER BY created_at DESC, address LIMIT $${params.length}`, params);
  return res.rows.map(toRow);
}

/** A row of a CSV import: `expiresAt` is the file's `expires_at` column (the suppression's `until`). */
export type ImportRow = { address: string; expiresAt: string | null } & Pick<Suppression, 'reason' | 'note'>;

/**
 * Inserts or replaces many suppressions in one statement per batch (unnest), source `import`.
 * Returns how many rows were written.
 */
export async function importSuppressions(pool: Pool, rows: ImportRow[], actor: string | null, source: SuppressionSource = 'import'): Promise<number> {
  const BATCH = 10_000;
  let written = 0;
  for (let i = 0; i < rows.length; i += BATCH) {
    const batch = rows.slice(i, i + BATCH);
    const res = await pool.query(
      `WITH written AS (
       INSERT INTO suppressions (address, reason, source, note, actor, expires_at)
       SELECT r.address, r.reason, $5, r.note, $6, r.expires_at
         FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[]) AS r(address, reason, note, expires_at)
       ON CONFLICT (address) DO UPDATE SET
         reason = EXCLUDED.reason, source = EXCLUDED.source, note = EXCLUDED.note, actor = EXCLUDED.actor,
         category = NULL, message_id = NULL, reply = NULL, created_at = now(), expires_at = EXCLUDED.expires_at,
         lifted_at = NULL, lifted_by = NULL, lift_reason = NULL
       RETURNING *
       ), ${outboxInsert('events', addressSuppressedSource('written'))}
       SELECT count(*)::int AS written FROM written`,
      [batch.map((r) => r.address), batch.map((r) => r.reason), batch.map((r) => r.note), batch.map((r) => r.expiresAt), source, actor],
    );
    written += res.rows[0].written;
  }
  return written;
}
