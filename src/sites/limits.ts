// What each site may take from Rebound (README "Traffic shaping", Limits): connections open at
// once across every worker, the slow start towards that cap, messages per connection and
// messages per minute. Effective limits = defaults <- shipped table <- the file's "*" <- the
// file's entry for the site <- a rule's adjustment in force (which only ever lowers). Pure.
import type { SiteAdjustment, Site, SiteLimits } from './contract';

/**
 * Close to Postfix's: initial_destination_concurrency = 5, default_destination_concurrency_limit
 * = 20 and smtp_connection_reuse_count_limit's spirit (Postfix reuses a connection without a
 * count; 100 is KumoMTA's default max_deliveries_per_connection); no rate cap, as in Postfix.
 */
export const DEFAULT_LIMITS: SiteLimits = { initialConnections: 5, connections: 20, messagesPerConnection: 100, messagesPerMinute: null };

/**
 * A starting point per provider, from the numbers in KumoMTA's published traffic-shaping file
 * (assets/policy-extras/shaping.toml in github.com/KumoCorp/kumomta: provider_connection_limit
 * and max_deliveries_per_connection per provider). KumoMTA publishes no per-minute caps for
 * these providers, so none here: a rate comes from the configuration file or from a rule.
 */
export const SHIPPED_LIMITS: Readonly<Record<Site, Partial<SiteLimits>>> = {
  google: { connections: 5, messagesPerConnection: 50 },
  microsoft: { connections: 5, messagesPerConnection: 50 },
  yahoo: { messagesPerConnection: 20 },
  apple: { connections: 10, messagesPerConnection: 5 },
  mimecast: { connections: 10, messagesPerConnection: 100 },
};

const defined = (limits: Partial<SiteLimits> | undefined): Partial<SiteLimits> =>
  Object.fromEntries(Object.entries(limits ?? {}).filter(([, v]) => v !== undefined)) as Partial<SiteLimits>;

/** The lower of two caps, null meaning none. */
export function lowerCap(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.min(a, b);
}

/** What an adjustment changes: only the caps it sets, and only downwards. */
export type LimitCut = Pick<SiteAdjustment, 'connections' | 'messagesPerMinute'>;

/**
 * The limits of a site. `configured` is the file's `sites.limits`; `cut` a rule's adjustment
 * in force (or several, already merged with {@link mergeCuts}). initialConnections never
 * exceeds connections.
 */
export function effectiveLimits(site: Site, configured: Readonly<Record<Site, Partial<SiteLimits>>> = {}, cut: LimitCut | null = null): SiteLimits {
  const merged: SiteLimits = { ...DEFAULT_LIMITS, ...defined(SHIPPED_LIMITS[site]), ...defined(configured['*']), ...defined(configured[site]) };
  const connections = cut?.connections ? Math.min(merged.connections, cut.connections) : merged.connections;
  return {
    connections,
    initialConnections: Math.min(merged.initialConnections, connections),
    messagesPerConnection: merged.messagesPerConnection,
    messagesPerMinute: lowerCap(merged.messagesPerMinute, cut?.messagesPerMinute ?? null),
  };
}

/** Several adjustments in force (the site's and a domain's) as one cut: the lowest of each. */
export function mergeCuts(cuts: readonly LimitCut[]): LimitCut | null {
  if (cuts.length === 0) return null;
  return cuts.reduce<LimitCut>((a, b) => ({ connections: lowerCap(a.connections, b.connections), messagesPerMinute: lowerCap(a.messagesPerMinute, b.messagesPerMinute) }), { connections: null, messagesPerMinute: null });
}

// --- Slow start (Postfix-like feedback) -----------------------------------------------------

/** What one connection or transaction told about the site. */
export interface Feedback {
  /** Transactions the site took without complaint. */
  successes: number;
  /** Connections that failed, or 421s ("too many connections", "slow down"). */
  failures: number;
}

/**
 * The site's connection limit after some feedback, as Postfix's scheduler does it: every
 * success raises the limit by 1/limit (so about +1 per round of `limit` transactions), every
 * failure lowers it by 1; never below 1, never above the cap. The limit is a real number; the
 * connections allowed are its floor.
 */
export function nextConnectionLimit(current: number, cap: number, fb: Feedback): number {
  let limit = Math.min(current, cap);
  for (let i = 0; i < fb.successes && limit < cap; i++) limit = Math.min(cap, limit + 1 / Math.max(1, limit));
  return Math.max(1, limit - fb.failures);
}

/** Connections allowed at a limit. */
export const allowedConnections = (limit: number, cap: number): number => Math.max(1, Math.min(cap, Math.floor(limit + 1e-9)));

// --- Pacing (GCRA) ---------------------------------------------------------------------------

/** The spacing of messages at a rate: 60 per minute is one a second. */
export const emissionIntervalMs = (messagesPerMinute: number): number => 60_000 / messagesPerMinute;

/**
 * The longest a send waits in the activity for its pace slot; a longer wait defers the
 * recipients instead (ESITETHROTTLED), so an attempt never sits in the activity for minutes.
 * Well within the send activity's heartbeat timeout (30 s; it heartbeats while it waits).
 */
export const MAX_PACE_WAIT_MS = 5_000;

/**
 * The generic cell rate algorithm as PostgreSQL runs it (gate-sql.ts), for the unit tests and
 * the README: `tat` is the site's theoretical arrival time. A message may go at max(tat, now)
 * when that is at most `maxWaitMs` away; the next one then may go one interval later. No burst
 * beyond that: the first message after a quiet spell goes at once, the rest one interval apart.
 */
export function paceSlot(tatMs: number | null, nowMs: number, intervalMs: number, maxWaitMs = MAX_PACE_WAIT_MS): { sendAtMs: number; tatMs: number } | { waitMs: number } {
  const sendAtMs = Math.max(tatMs ?? nowMs, nowMs);
  if (sendAtMs - nowMs > maxWaitMs) return { waitMs: sendAtMs - nowMs };
  return { sendAtMs, tatMs: sendAtMs + intervalMs };
}
