// What `rebound sites`, GET /v1/sites and the dashboard's Sites panel show (README "Traffic
// shaping", visibility): per site, whether it takes mail (open, suspended, throttled), its
// limits, the suspensions and adjustments in force with the receiver's reply that caused them,
// the queue of recipients deferred at it, and its last hour of attempts. Read from PostgreSQL in
// three statements, whatever the number of sites; the sites' limits come from the configuration
// (injected: `SiteDirectory`).
import type { Pool } from 'pg';
import { ValidationError } from '../errors';
import type { RuleScope, Site, SiteLimits } from './contract';

/**
 * The limits a site is shown with when nobody supplied the configured ones: the defaults close
 * to Postfix's (README "Traffic shaping", sites). Only a fallback for callers without a
 * configuration; the worker and the API are given the configuration's own function.
 */
export const FALLBACK_SITE_LIMITS: Readonly<SiteLimits> = Object.freeze({ initialConnections: 5, connections: 20, messagesPerConnection: 100, messagesPerMinute: null });

/** What the view needs of the configuration: a site's effective limits and the sites it names. */
export interface SiteDirectory {
  limitsOf(site: Site): SiteLimits;
  /** Sites the configuration file (or the shipped table) gives limits of: shown even when quiet. */
  configured(): Site[];
}

export const FALLBACK_SITE_DIRECTORY: SiteDirectory = { limitsOf: () => ({ ...FALLBACK_SITE_LIMITS }), configured: () => [] };

/** Whether a site takes mail: `suspended` (a site-wide suspension in force), `throttled` (a site-wide adjustment of its limits), else `open`. */
export type SiteState = 'open' | 'suspended' | 'throttled';

export interface SiteSuspensionView {
  scope: RuleScope;
  /** The site, or the recipient domain for scope domain. */
  site: Site;
  until: string;
  rule: string;
  /** The receiver's reply that matched the rule, or an operator's note. */
  reply: string | null;
  since: string;
}

export interface SiteAdjustmentView extends SiteSuspensionView {
  connections: number | null;
  messagesPerMinute: number | null;
}

/** A recipient whose latest attempt was a deferral at the site, of a message still open. */
export interface QueuedRecipient {
  messageId: string;
  recipient: string;
  attempt: number;
  at: string;
  reply: { code: number | null; enhanced: string | null; text: string };
  category: string;
  retryAfterMs: number | null;
  /** True when Rebound held it back itself (the site suspended or throttled): no SMTP attempt was made. */
  heldBack: boolean;
}

export interface SiteAttemptCounts {
  delivered: number;
  soft: number;
  hard: number;
  /** Deferrals Rebound made without an attempt (ESITESUSPENDED, ESITETHROTTLED); not in `soft`. */
  heldBack: number;
}

export interface SiteView {
  site: Site;
  state: SiteState;
  /** The configured limits (the configuration file, the shipped table, the defaults). */
  limits: SiteLimits;
  /** The limits after the site-wide adjustments in force (the lower of each); equal to `limits` when none. */
  effectiveLimits: SiteLimits;
  /** Whether the configuration names the site. */
  configured: boolean;
  /** Site-wide suspensions, then those of recipient domains last seen at this site. */
  suspensions: SiteSuspensionView[];
  adjustments: SiteAdjustmentView[];
  queue: { total: number; recipients: QueuedRecipient[] };
  lastHour: SiteAttemptCounts;
  /** The latest attempt at the site in the attempt log (within the last 24 h), if any. */
  lastAttemptAt: string | null;
}

export interface SitesView {
  at: string;
  sites: SiteView[];
  /** Domain-scope suspensions and adjustments whose domain has no attempt with a known site yet. */
  unplaced: { suspensions: SiteSuspensionView[]; adjustments: SiteAdjustmentView[] };
}

export interface SitesViewOptions {
  /** Only this site (GET /v1/sites/{site}); then its view is there even when it has nothing. */
  site?: Site;
  /** Queued recipients listed per site (the total is always counted). Default 20, 0 to 500. */
  queueLimit?: number;
}

export const DEFAULT_QUEUE_LIMIT = 20;
export const MAX_QUEUE_LIMIT = 500;

/** A site name as the store keeps it, or a ValidationError naming `site`. */
export function checkedSiteName(value: unknown): Site {
  if (typeof value !== 'string' || value.trim() === '' || value.length > 255 || /[\s\u0000-\u001f]/.test(value.trim())) {
    throw new ValidationError('site', `must be a site name (a provider such as google, or an MX host), 1 to 255 characters without spaces; got ${JSON.stringify(value)}`);
  }
  return value.trim().toLowerCase();
}

const iso = (d: Date | string | null): string | null => (d === null ? null : new Date(d).toISOString());

interface ShapingRow {
  kind: 'suspension' | 'adjustment';
  scope: RuleScope;
  site: string;
  until: Date;
  rule: string;
  reply: string | null;
  created_at: Date;
  connections: number | null;
  messages_per_minute: number | null;
  /** For scope domain: the site of the domain's latest attempt with a known site. */
  at_site: string | null;
}

/**
 * Suspensions and adjustments in force; a domain-scope one is placed at the site of its domain's
 * latest attempt with a known site (the attempt log by domain and time, attempts_domain_at_idx).
 */
const IN_FORCE = `
  SELECT x.*, CASE WHEN x.scope = 'site' THEN x.site
                   ELSE (SELECT a.site FROM attempts a WHERE a.domain = x.site AND a.site IS NOT NULL ORDER BY a.at DESC LIMIT 1) END AS at_site
    FROM (SELECT 'suspension' AS kind, scope, site, until, rule, reply, created_at, NULL::int AS connections, NULL::int AS messages_per_minute
            FROM site_suspensions WHERE until > now()
          UNION ALL
          SELECT 'adjustment', scope, site, until, rule, reply, created_at, connections, messages_per_minute
            FROM site_adjustments WHERE until > now()) AS x
   ORDER BY x.until, x.scope, x.site`;

/** Per site of `seen`: its latest attempt within 24 h and its last hour by kind. */
const RECENT_OF_SEEN = `
  SELECT s.site, last.at AS last_at, h.delivered, h.soft, h.hard, h.held_back
    FROM seen s
    CROSS JOIN LATERAL (SELECT max(a.at) AS at FROM attempts a WHERE a.site = s.site AND a.at > now() - interval '24 hours') AS last
    CROSS JOIN LATERAL (
      SELECT count(*) FILTER (WHERE kind = 'delivered')::int AS delivered,
             count(*) FILTER (WHERE kind = 'soft' AND coalesce(error_code, '') NOT IN ('ESITESUSPENDED', 'ESITETHROTTLED'))::int AS soft,
             count(*) FILTER (WHERE kind = 'hard')::int AS hard,
             count(*) FILTER (WHERE error_code IN ('ESITESUSPENDED', 'ESITETHROTTLED'))::int AS held_back
        FROM attempts a WHERE a.site = s.site AND a.at > now() - interval '1 hour') AS h
   WHERE s.site IS NOT NULL AND last.at IS NOT NULL`;

/**
 * The sites with an attempt in the last 24 h. The distinct sites come from a skip scan of
 * attempts_site_at_idx: one index probe per site ever seen, not one row per attempt.
 */
const RECENT = `
  WITH RECURSIVE seen(site) AS (
    (SELECT site FROM attempts WHERE site IS NOT NULL ORDER BY site LIMIT 1)
    UNION ALL
    SELECT (SELECT a.site FROM attempts a WHERE a.site > seen.site ORDER BY a.site LIMIT 1)
      FROM seen WHERE seen.site IS NOT NULL
  ) ${RECENT_OF_SEEN}`;

/** The same for the one site $1. */
const RECENT_ONE = `WITH seen(site) AS (SELECT $1::text) ${RECENT_OF_SEEN}`;

/**
 * Recipients whose latest attempt was a deferral at one of the sites $1 and whose message is
 * still open (not finished, the recipient not expired): the first $2 (at least one) per site, oldest first,
 * and how many in all. No message lives beyond the longest deadline (30 days), which bounds
 * the scan of attempts_site_at_idx.
 */
const QUEUE = `
  SELECT * FROM (
    SELECT a.site, a.message_id, a.recipient, a.attempt, a.at, a.code, a.enhanced, a.reply_text, a.category, a.retry_after_ms,
           coalesce(a.error_code IN ('ESITESUSPENDED', 'ESITETHROTTLED'), false) AS held_back,
           count(*) OVER (PARTITION BY a.site)::int AS total,
           row_number() OVER (PARTITION BY a.site ORDER BY a.at, a.message_id, a.recipient)::int AS n
      FROM attempts a JOIN messages m ON m.id = a.message_id AND m.finished_at IS NULL
     WHERE a.site = ANY($1) AND a.kind = 'soft' AND a.at > now() - interval '30 days'
       AND NOT EXISTS (SELECT 1 FROM attempts b WHERE b.message_id = a.message_id AND b.recipient = a.recipient AND b.attempt > a.attempt)
       AND NOT EXISTS (SELECT 1 FROM expirations x WHERE x.message_id = a.message_id AND x.recipient = a.recipient)
  ) AS q
   WHERE q.n <= greatest($2, 1)
   ORDER BY q.site, q.n`;

function shapingView(r: ShapingRow): SiteSuspensionView | SiteAdjustmentView {
  const base = { scope: r.scope, site: r.site, until: iso(r.until)!, rule: r.rule, reply: r.reply, since: iso(r.created_at)! };
  return r.kind === 'adjustment' ? { ...base, connections: r.connections, messagesPerMinute: r.messages_per_minute } : base;
}

/** The lower of two limits, null meaning no cap. */
const lower = (a: number | null, b: number | null): number | null => (a === null ? b : b === null ? a : Math.min(a, b));

/** The limits under the site-wide adjustments in force (each the lowest asked for). */
export function adjustedLimits(limits: SiteLimits, adjustments: readonly Pick<SiteAdjustmentView, 'scope' | 'connections' | 'messagesPerMinute'>[]): SiteLimits {
  let out = { ...limits };
  for (const a of adjustments) {
    if (a.scope !== 'site') continue;
    const connections = lower(out.connections, a.connections) ?? out.connections;
    out = { ...out, connections, initialConnections: Math.min(out.initialConnections, connections), messagesPerMinute: lower(out.messagesPerMinute, a.messagesPerMinute) };
  }
  return out;
}

/** Whether a site takes mail, from what is in force for it (site-wide ones decide). */
export function siteState(suspensions: readonly Pick<SiteSuspensionView, 'scope'>[], adjustments: readonly Pick<SiteAdjustmentView, 'scope'>[]): SiteState {
  if (suspensions.some((s) => s.scope === 'site')) return 'suspended';
  if (adjustments.some((a) => a.scope === 'site')) return 'throttled';
  return 'open';
}

const NO_ATTEMPTS: SiteAttemptCounts = { delivered: 0, soft: 0, hard: 0, heldBack: 0 };

/** The sites to show and what each holds, in three statements (see above). */
export async function sitesView(pool: Pool, directory: SiteDirectory = FALLBACK_SITE_DIRECTORY, opts: SitesViewOptions = {}): Promise<SitesView> {
  const only = opts.site === undefined ? null : checkedSiteName(opts.site);
  const queueLimit = opts.queueLimit ?? DEFAULT_QUEUE_LIMIT;
  if (!(Number.isInteger(queueLimit) && queueLimit >= 0 && queueLimit <= MAX_QUEUE_LIMIT)) throw new ValidationError('queue', `must be a whole number from 0 to ${MAX_QUEUE_LIMIT}; got ${String(opts.queueLimit)}`);

  const [inForce, recent] = await Promise.all([
    pool.query<ShapingRow>({ name: 'rebound-sites-in-force', text: IN_FORCE }),
    only === null ? pool.query({ name: 'rebound-sites-recent', text: RECENT }) : pool.query({ name: 'rebound-sites-recent-one', text: RECENT_ONE, values: [only] }),
  ]);

  const bySite = new Map<Site, { suspensions: SiteSuspensionView[]; adjustments: SiteAdjustmentView[] }>();
  const unplaced: SitesView['unplaced'] = { suspensions: [], adjustments: [] };
  const held = (site: Site) => {
    let h = bySite.get(site);
    if (!h) bySite.set(site, (h = { suspensions: [], adjustments: [] }));
    return h;
  };
  for (const r of inForce.rows) {
    const view = shapingView(r);
    const into = r.at_site === null ? unplaced : held(r.at_site);
    if (r.kind === 'adjustment') into.adjustments.push(view as SiteAdjustmentView);
    else into.suspensions.push(view);
  }
  const recentBySite = new Map(recent.rows.map((r) => [r.site as string, r]));
  const configured = new Set(directory.configured().map((s) => s.toLowerCase()));

  let names = new Set<Site>([...bySite.keys(), ...recentBySite.keys(), ...configured]);
  if (only !== null) {
    names = new Set([only]);
    // Only this site's: what was not placed at it is not shown.
    unplaced.suspensions = unplaced.suspensions.filter((s) => s.site === only);
    unplaced.adjustments = unplaced.adjustments.filter((s) => s.site === only);
  }
  const sites = [...names].sort();

  // At least one row per site even with queueLimit 0, for its total.
  const queue = sites.length === 0 ? { rows: [] } : await pool.query({ name: 'rebound-sites-queue', text: QUEUE, values: [sites, queueLimit] });
  const queues = new Map<Site, SiteView['queue']>();
  for (const r of queue.rows) {
    let q = queues.get(r.site);
    if (!q) queues.set(r.site, (q = { total: r.total, recipients: [] }));
    if (r.n <= queueLimit) {
      q.recipients.push({
        messageId: r.message_id,
        recipient: r.recipient,
        attempt: r.attempt,
        at: iso(r.at)!,
        reply: { code: r.code, enhanced: r.enhanced, text: r.reply_text },
        category: r.category,
        retryAfterMs: r.retry_after_ms,
        heldBack: r.held_back,
      });
    }
  }

  return {
    at: new Date().toISOString(),
    sites: sites.map((site): SiteView => {
      const h = bySite.get(site) ?? { suspensions: [], adjustments: [] };
      // Site-wide ones first, then the domains at the site.
      const order = (a: SiteSuspensionView, b: SiteSuspensionView) => (a.scope === b.scope ? 0 : a.scope === 'site' ? -1 : 1);
      h.suspensions.sort(order);
      h.adjustments.sort(order);
      const limits = directory.limitsOf(site);
      const r = recentBySite.get(site);
      return {
        site,
        state: siteState(h.suspensions, h.adjustments),
        limits,
        effectiveLimits: adjustedLimits(limits, h.adjustments),
        configured: configured.has(site),
        suspensions: h.suspensions,
        adjustments: h.adjustments,
        queue: queues.get(site) ?? { total: 0, recipients: [] },
        lastHour: r ? { delivered: r.delivered, soft: r.soft, hard: r.hard, heldBack: r.held_back } : { ...NO_ATTEMPTS },
        lastAttemptAt: r ? iso(r.last_at) : null,
      };
    }),
    unplaced,
  };
}
