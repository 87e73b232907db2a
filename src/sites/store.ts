// Site suspensions in PostgreSQL (migrations/1764800000000_sites.sql), shared by every worker
// and read by `rebound sites` (README "Traffic shaping"). Times are the database's, so workers
// whose clocks differ agree on when a site reopens. Each suspension and each end of one adds its
// webhook event (site.suspended, site.resumed) in the statement that writes it (README "Webhooks").
import type { Pool } from 'pg';
import { ValidationError } from '../errors';
import { insertedEventIds, outboxInsert, siteResumedSource, siteSuspendedSource } from '../webhooks/outbox';
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
 * The statement of suspendSite: the upsert, its `site.suspended` event when it wrote (a new
 * suspension, or one extended), the `site.resumed` of an expired row it replaces whose end was
 * not told yet (README "Webhooks"), and what is in force after, in one round trip. `before`
 * and the final read see the snapshot before the upsert: a row that stays is the one in force.
 */
const SUSPEND_SITE = `
  WITH before AS (
    SELECT scope, site, until, rule, reply, created_at, until AS reopened, 'expired'::text AS resumed_by
      FROM site_suspensions WHERE scope = $5 AND site = $1 AND until <= now() AND resumed_at IS NULL
  ), written AS (
    INSERT INTO site_suspensions AS s (scope, site, until, rule, reply)
    VALUES ($5, $1, now() + $2 * interval '1 millisecond', $3, $4)
    ON CONFLICT (scope, site) DO UPDATE SET until = EXCLUDED.until, rule = EXCLUDED.rule, reply = EXCLUDED.reply, created_at = now(), resumed_at = NULL
     WHERE s.until < EXCLUDED.until
    RETURNING s.scope, s.site, s.until, s.rule, s.reply, s.created_at
  ), ${outboxInsert('resumed', siteResumedSource('before'))},
  ${outboxInsert('suspended', siteSuspendedSource('written'))}
  SELECT w.scope, w.site, w.until, w.rule, w.reply, w.created_at, ${insertedEventIds('resumed', 'suspended')}
    FROM (SELECT * FROM written
          UNION ALL
          SELECT scope, site, until, rule, reply, created_at FROM site_suspensions
           WHERE scope = $5 AND site = $1 AND until > now() AND NOT EXISTS (SELECT 1 FROM written)) AS w`;

/**
 * Suspends a site for durationMs from now. An expired row is replaced; a row in force is only
 * extended (a shorter suspension never cuts a longer one short). Returns what is in force after.
 * A write (new or extended) adds a `site.suspended` webhook event in the same statement; the
 * worker's webhook sweeper starts its deliveries (README "Webhooks").
 */
export async function suspendSite(pool: Pool, order: SuspendSite): Promise<SiteSuspension> {
  const s = checkedSuspension(order);
  const { rows } = await pool.query<SuspensionRow>({ name: 'rebound-suspend-site', text: SUSPEND_SITE, values: [s.site, s.durationMs, s.rule, s.reply, s.scope] });
  if (!rows[0]) throw new Error(`site ${s.site}: the suspension just written is not in force (is the database clock moving backwards?)`);
  return fromRow(rows[0]);
}

/**
 * The statement of resumeSite: the row deleted and, once per suspension, its `site.resumed`:
 * `manual` when it was in force, `expired` when its time had run out before anyone told it.
 */
const RESUME_SITE = `
  WITH gone AS (
    DELETE FROM site_suspensions WHERE scope = $1 AND site = $2
    RETURNING scope, site, until, rule, reply, created_at, resumed_at, until > now() AS active
  ), told AS (
    SELECT scope, site, until, rule, reply, created_at,
           CASE WHEN active THEN now() ELSE until END AS reopened,
           CASE WHEN active THEN 'manual' ELSE 'expired' END AS resumed_by
      FROM gone WHERE active OR resumed_at IS NULL
  ), ${outboxInsert('resumed', siteResumedSource('told'))}
  SELECT coalesce((SELECT bool_or(active) FROM gone), false) AS active, ${insertedEventIds('resumed')}`;

/** Lifts a site's suspension; whether one was in force. Adds its `site.resumed` webhook event (resumedBy manual). */
export async function resumeSite(pool: Pool, site: Site, scope: RuleScope = 'site'): Promise<boolean> {
  const { rows } = await pool.query<{ active: boolean }>({ name: 'rebound-resume-site', text: RESUME_SITE, values: [scope, site.trim().toLowerCase()] });
  return rows[0].active;
}

/** What one round of the expiry sweeper told and saw (src/sites/expiry-sweeper.ts). */
export interface ExpiryRound {
  /** Suspensions whose end this round told (their `site.resumed` written when subscribed). */
  told: number;
  /** The webhook events it inserted, to start at once. */
  eventIds: string[];
  /** What is in force now, for the gauges (README "Metrics"). */
  suspended: { scope: RuleScope; site: Site }[];
  throttled: { scope: RuleScope; site: Site }[];
}

/**
 * Marks up to `batch` expired suspensions as told, with their `site.resumed` (resumedBy
 * expired) in the same statement; rows another worker is telling are skipped, and an event's
 * key makes a second telling add nothing. Also reads what is in force, for the gauges.
 */
const TELL_EXPIRED = `
  WITH told AS (
    UPDATE site_suspensions SET resumed_at = now()
     WHERE (scope, site) IN (SELECT scope, site FROM site_suspensions WHERE until <= now() AND resumed_at IS NULL
                              ORDER BY until LIMIT $1 FOR UPDATE SKIP LOCKED)
    RETURNING scope, site, until, rule, reply, created_at, until AS reopened, 'expired'::text AS resumed_by
  ), ${outboxInsert('resumed', siteResumedSource('told'))}
  SELECT (SELECT count(*) FROM told)::int AS told, ${insertedEventIds('resumed')},
         (SELECT coalesce(json_agg(json_build_object('scope', scope, 'site', site)), '[]') FROM site_suspensions WHERE until > now()) AS suspended,
         (SELECT coalesce(json_agg(json_build_object('scope', scope, 'site', site)), '[]') FROM site_adjustments WHERE until > now()) AS throttled`;

export async function tellExpiredSuspensions(pool: Pool, batch = 500): Promise<ExpiryRound> {
  const { rows } = await pool.query({ name: 'rebound-tell-expired-suspensions', text: TELL_EXPIRED, values: [batch] });
  const r = rows[0];
  return { told: r.told, eventIds: r.event_ids, suspended: r.suspended, throttled: r.throttled };
}
