// A rule's temporary change of a site's limits (README "Traffic shaping", Rules: actions rate
// and connections), in PostgreSQL's site_adjustments so every worker applies it. An adjustment
// only lowers: while one is in force a later one keeps the lower value of each cap and the
// later end. Times are the database's.
import type { Pool } from 'pg';
import { ValidationError } from '../errors';
import type { RuleScope, Site, SiteAdjustment } from './contract';
import { MAX_SUSPENSION_MS } from './store';

interface AdjustmentRow {
  scope: RuleScope;
  site: string;
  until: Date;
  connections: number | null;
  messages_per_minute: number | null;
  rule: string;
  reply: string | null;
  created_at: Date;
}

export const adjustmentFromRow = (r: AdjustmentRow): SiteAdjustment => ({
  scope: r.scope,
  site: r.site,
  until: new Date(r.until),
  connections: r.connections,
  messagesPerMinute: r.messages_per_minute,
  rule: r.rule,
  reply: r.reply,
  createdAt: new Date(r.created_at),
});

const COLUMNS = 'scope, site, until, connections, messages_per_minute, rule, reply, created_at';

export interface AdjustSite {
  scope?: RuleScope;
  /** The site, or the recipient domain for scope domain. */
  site: Site;
  durationMs: number;
  connections?: number | null;
  messagesPerMinute?: number | null;
  rule: string;
  reply: string | null;
}

const positiveOrNull = (v: number | null | undefined, field: string): number | null => {
  if (v === null || v === undefined) return null;
  if (!(Number.isInteger(v) && v > 0)) throw new ValidationError(field, `must be a positive whole number; got ${String(v)}`);
  return v;
};

/** Writes (or tightens) an adjustment; returns what is in force after. */
export async function adjustSite(pool: Pool, order: AdjustSite): Promise<SiteAdjustment> {
  const site = order.site.trim().toLowerCase();
  if (site === '' || site.length > 255) throw new ValidationError('site', 'must be a site name or a domain, 1 to 255 characters');
  if (!(Number.isInteger(order.durationMs) && order.durationMs > 0 && order.durationMs <= MAX_SUSPENSION_MS)) {
    throw new ValidationError('duration', `must be a whole number of milliseconds from 1 to ${MAX_SUSPENSION_MS} (30 days); got ${String(order.durationMs)}`);
  }
  const connections = positiveOrNull(order.connections, 'connections');
  const perMinute = positiveOrNull(order.messagesPerMinute, 'messagesPerMinute');
  if (connections === null && perMinute === null) throw new ValidationError('action', 'an adjustment lowers connections or messagesPerMinute; got neither');
  // least() skips NULLs: a rate adjustment in force keeps its rate when a connections one comes.
  const { rows } = await pool.query<AdjustmentRow>(
    `INSERT INTO site_adjustments AS a (scope, site, until, connections, messages_per_minute, rule, reply)
     VALUES ($1, $2, now() + $3 * interval '1 millisecond', $4, $5, $6, $7)
     ON CONFLICT (scope, site) DO UPDATE SET
       until = CASE WHEN a.until <= now() THEN EXCLUDED.until ELSE greatest(a.until, EXCLUDED.until) END,
       connections = CASE WHEN a.until <= now() THEN EXCLUDED.connections ELSE least(a.connections, EXCLUDED.connections) END,
       messages_per_minute = CASE WHEN a.until <= now() THEN EXCLUDED.messages_per_minute ELSE least(a.messages_per_minute, EXCLUDED.messages_per_minute) END,
       rule = EXCLUDED.rule, reply = EXCLUDED.reply, created_at = now()
     RETURNING ${COLUMNS}`,
    [order.scope ?? 'site', site, order.durationMs, connections, perMinute, order.rule, order.reply],
  );
  return adjustmentFromRow(rows[0]);
}

/** Every adjustment in force, the one ending first at the top. */
export async function activeAdjustments(pool: Pool): Promise<SiteAdjustment[]> {
  const { rows } = await pool.query<AdjustmentRow>(`SELECT ${COLUMNS} FROM site_adjustments WHERE until > now() ORDER BY until, scope, site`);
  return rows.map(adjustmentFromRow);
}

/** The adjustment in force for a site (or a domain), or null. */
export async function activeAdjustment(pool: Pool, site: Site, scope: RuleScope = 'site'): Promise<SiteAdjustment | null> {
  const { rows } = await pool.query<AdjustmentRow>(`SELECT ${COLUMNS} FROM site_adjustments WHERE scope = $1 AND site = $2 AND until > now()`, [scope, site.trim().toLowerCase()]);
  return rows[0] ? adjustmentFromRow(rows[0]) : null;
}

/** Lifts an adjustment now; whether one was in force. */
export async function clearAdjustment(pool: Pool, site: Site, scope: RuleScope = 'site'): Promise<boolean> {
  const { rows } = await pool.query<{ active: boolean }>('DELETE FROM site_adjustments WHERE scope = $1 AND site = $2 RETURNING until > now() AS active', [scope, site.trim().toLowerCase()]);
  return rows.some((r) => r.active);
}
