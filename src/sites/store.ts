// Site suspensions in PostgreSQL (migrations/1764800000000_sites.sql), shared by every worker
// and read by `rebound sites` (README "Traffic shaping"). Times are the database's, so workers
// whose clocks differ agree on when a site reopens.
import type { Pool } from 'pg';
import { ValidationError } from '../errors';
import type { RuleScope, Site, SiteSuspension } from './contract';

interface SuspensionRow {
  scope: RuleScope;
  site: string;
  until: Date;
  rule: string;
  reply: string | null;
  created_at: Date;
}

const fromRow = (r: SuspensionRow): SiteSuspension => ({ scope: r.scope, site: r.site, until: r.until, rule: r.rule, reply: r.reply, createdAt: r.created_at });

/** The longest suspension an operator or a rule may ask for: 30 days. */
export const MAX_SUSPENSION_MS = 30 * 86_400_000;

/** The suspension in force for a site, or null. */
export async function activeSuspension(pool: Pool, site: Site, scope: RuleScope = 'site'): Promise<SiteSuspension | null> {
  const { rows } = await pool.query<SuspensionRow>('SELECT scope, site, until, rule, reply, created_at FROM site_suspensions WHERE scope = $1 AND site = $2 AND until > now()', [scope, site]);
  return rows[0] ? fromRow(rows[0]) : null;
}

/** Every suspension in force, the one reopening first at the top. */
export async function activeSuspensions(pool: Pool): Promise<SiteSuspension[]> {
  const { rows } = await pool.query<SuspensionRow>('SELECT scope, site, until, rule, reply, created_at FROM site_suspensions WHERE until > now() ORDER BY until, scope, site');
  return rows.map(fromRow);
}

export interface SuspendSite {
  /** The whole site (the default), or one recipient domain at it. */
  scope?: RuleScope;
  site: Site;
  durationMs: number;
  rule: string;
  reply: string | null;
}

function checkedSuspension(s: SuspendSite): SuspendSite {
  if (typeof s.site !== 'string' || s.site.trim() === '' || s.site.length > 255) throw new ValidationError('site', 'must be a site name (a provider such as google, or an MX host), 1 to 255 characters');
  if (!(Number.isInteger(s.durationMs) && s.durationMs > 0 && s.durationMs <= MAX_SUSPENSION_MS)) {
    throw new ValidationError('duration', `must be a whole number of milliseconds from 1 to ${MAX_SUSPENSION_MS} (30 days); got ${String(s.durationMs)}`);
  }
  if (s.scope !== undefined && s.scope !== 'site' && s.scope !== 'domain') throw new ValidationError('scope', `must be "site" or "domain"; got ${JSON.stringify(s.scope)}`);
  return { ...s, scope: s.scope ?? 'site', site: s.site.trim().toLowerCase() };
}

/**
 * Suspends a site for durationMs from now. An expired row is replaced; a row in force is only
 * extended (a shorter suspension never cuts a longer one short). Returns what is in force after.
 */
export async function suspendSite(pool: Pool, order: SuspendSite): Promise<SiteSuspension> {
  const s = checkedSuspension(order);
  await pool.query(
    `INSERT INTO site_suspensions AS s (scope, site, until, rule, reply)
     VALUES ($5, $1, now() + $2 * interval '1 millisecond', $3, $4)
     ON CONFLICT (scope, site) DO UPDATE SET until = EXCLUDED.until, rule = EXCLUDED.rule, reply = EXCLUDED.reply, created_at = now()
      WHERE s.until < EXCLUDED.until`,
    [s.site, s.durationMs, s.rule, s.reply, s.scope],
  );
  const active = await activeSuspension(pool, s.site, s.scope);
  if (!active) throw new Error(`site ${s.site}: the suspension just written is not in force (is the database clock moving backwards?)`);
  return active;
}

/** Lifts a site's suspension; whether one was in force. */
export async function resumeSite(pool: Pool, site: Site, scope: RuleScope = 'site'): Promise<boolean> {
  const { rows } = await pool.query<{ active: boolean }>('DELETE FROM site_suspensions WHERE scope = $1 AND site = $2 RETURNING until > now() AS active', [scope, site.trim().toLowerCase()]);
  return rows.some((r) => r.active);
}
