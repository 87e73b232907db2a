// What the senders ask about sites (README "Traffic shaping"): before a transaction, whether
// the site or a recipient domain is suspended or throttled (then a deferral instead of a
// connection) and a pace slot, in one statement (admit.ts); after it, whether a receiver's reply
// matches a rule; and, for the connection pools, the site's limits and its shared connection
// leases (connections.ts). Every statement is counted (stats()) for the benchmark.
import type { Pool } from 'pg';
import type { RawReply } from '../delivery/contract';
import { logger } from '../log';
import { adjustSite } from './adjustments';
import { admit } from './admit';
import { SiteConnections, type ConnectionAdmission } from './connections';
import type { ShapingConfig, Site, SiteLimits } from './contract';
import { suspendedReply, throttledReply } from './deferral';
import { countHit } from './hits';
import { effectiveLimits, MAX_PACE_WAIT_MS, mergeCuts, type LimitCut } from './limits';
import { ruleHit, thresholdReached, type RuleHit } from './rules';
import { DEFAULT_SHAPING } from './config-schema';
import { QueryMeter, type ShapingStats } from './stats';
import { suspendSite } from './store';

export interface SiteGate {
  /**
   * Before a transaction at `site` for recipients of `domains` (lower case): the deferral of
   * each domain held back (every one when the site is). Waits for the pace slot first when it
   * is near; an empty map means go ahead.
   */
  admit(site: Site, domains: readonly string[]): Promise<Map<string, RawReply>>;
  /** The replies of one transaction with the site (for `domain`, or null when it carried several): a matching rule acts. */
  heard(site: Site, domain: string | null, replies: readonly RawReply[]): Promise<void>;
  /** The site's limits now: configuration, shipped table, defaults, and the adjustments last seen. */
  limits(site: Site): SiteLimits;
  /** The shared connection leases of the site, or undefined when its connections are not capped across workers. */
  connections(site: Site): ConnectionAdmission | undefined;
  /** Statements run and their time, since the gate was made. */
  stats(): ShapingStats;
  close(): void;
}

/** No shaping: what the senders do when given no gate (tests of routing alone). */
export const OPEN_SITES: SiteGate = {
  admit: async () => new Map(),
  heard: async () => undefined,
  limits: (site) => effectiveLimits(site),
  connections: () => undefined,
  stats: () => ({ queries: 0, ms: 0 }),
  close: () => undefined,
};

export interface SiteGateOptions {
  /** The configuration file's `sites:` (README "Traffic shaping"); the shipped rules and limits otherwise. */
  shaping?: ShapingConfig;
  /** Whether a site's connections are capped across workers (leases in PostgreSQL); every site's unless told. */
  sharedConnections?: (site: Site) => boolean;
  /** Spreads the retries after a reopening; Math.random unless a test fixes it. */
  random?: () => number;
  now?: () => number;
  /** The longest a send waits for its pace slot before it defers instead. */
  maxPaceWaitMs?: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The gate backed by PostgreSQL. When PostgreSQL cannot be read the message goes ahead
 * (logged): shaping protects the receiver, but holding all mail for a database outage would
 * hurt more, and a receiver that still objects says so again.
 */
export function createSiteGate(pool: Pool, opts: SiteGateOptions = {}): SiteGate {
  const shaping = opts.shaping ?? DEFAULT_SHAPING;
  const random = opts.random ?? Math.random;
  const now = opts.now ?? Date.now;
  const maxWaitMs = opts.maxPaceWaitMs ?? MAX_PACE_WAIT_MS;
  const shared = opts.sharedConnections ?? (() => true);
  const meter = new QueryMeter();
  const leases = new SiteConnections(pool, meter);
  /** The site-scope adjustments admit() last saw, until they end: the pools' limits follow them. */
  const cuts = new Map<Site, { cut: LimitCut; untilMs: number }>();
  const admissions = new Map<Site, ConnectionAdmission>();

  const limits = (site: Site): SiteLimits => {
    const c = cuts.get(site);
    const cut = c && c.untilMs > now() ? c.cut : null;
    return effectiveLimits(site, shaping.limits, cut);
  };

  async function act(site: Site, hit: RuleHit): Promise<void> {
    const { rule } = hit;
    if (rule.threshold.kind === 'count') {
      const { count, windowMs } = rule.threshold;
      const n = await meter.timed(() => countHit(pool, rule.name, hit.scope, hit.key, windowMs, count));
      if (!thresholdReached(rule, n)) {
        logger.info({ site, key: hit.key, rule: rule.name, matches: n, threshold: count }, 'a receiver\'s reply matched a rule with a threshold: counted, not acting yet');
        return;
      }
    }
    const order = { scope: hit.scope, site: hit.key, durationMs: rule.durationMs, rule: rule.name, reply: hit.reply };
    if (rule.action.kind === 'suspend') {
      const s = await meter.timed(() => suspendSite(pool, order));
      logger.warn({ site, scope: s.scope, key: s.site, rule: rule.name, until: s.until.toISOString() }, 'a receiver asked to slow down: suspended, its recipients are deferred until it reopens (README "Traffic shaping")');
      return;
    }
    const change = rule.action.kind === 'rate' ? { messagesPerMinute: rule.action.messagesPerMinute } : { connections: rule.action.connections };
    const a = await meter.timed(() => adjustSite(pool, { ...order, ...change }));
    if (a.scope === 'site') cuts.set(a.site, { cut: a, untilMs: a.until.getTime() });
    logger.warn({ site, scope: a.scope, key: a.site, rule: rule.name, connections: a.connections, messagesPerMinute: a.messagesPerMinute, until: a.until.toISOString() }, 'a receiver asked to slow down: limits lowered until then (README "Traffic shaping")');
  }

  return {
    async admit(site, domains) {
      const held = new Map<string, RawReply>();
      let r;
      try {
        r = await meter.timed(() => admit(pool, site, domains, effectiveLimits(site, shaping.limits).messagesPerMinute, maxWaitMs));
      } catch (err) {
        logger.warn({ site, domains, error: (err as Error).message }, 'could not read the suspensions and limits of the site from PostgreSQL: sending without them; check the database');
        return held;
      }
      const siteCuts = r.adjustments.filter((a) => a.scope === 'site');
      if (siteCuts.length > 0) cuts.set(site, { cut: mergeCuts(siteCuts)!, untilMs: Math.min(...siteCuts.map((a) => a.until.getTime())) });
      else cuts.delete(site);

      const siteSuspension = r.suspensions.find((s) => s.scope === 'site');
      if (siteSuspension) {
        const reply = suspendedReply(siteSuspension, now(), random);
        for (const d of domains) held.set(d, reply);
        return held;
      }
      for (const s of r.suspensions) if (!held.has(s.site)) held.set(s.site, suspendedReply(s, now(), random));
      for (const refusal of r.refused) {
        const reply = throttledReply(refusal.scope, refusal.key, refusal.messagesPerMinute, refusal.backlogMs, random);
        if (refusal.scope === 'site') for (const d of domains) held.set(d, reply);
        else if (!held.has(refusal.key)) held.set(refusal.key, reply);
      }
      const wait = Math.max(0, ...r.granted.map((g) => g.waitMs));
      if (held.size < domains.length && wait > 0) await sleep(wait);
      return held;
    },

    async heard(site, domain, replies) {
      const hit = ruleHit(site, domain, replies, shaping.rules);
      if (!hit) return;
      try {
        await act(site, hit);
      } catch (err) {
        logger.error({ site, key: hit.key, rule: hit.rule.name, error: (err as Error).message }, 'could not write what a rule asked for to PostgreSQL: the site goes on as before; check the database');
      }
    },

    limits,

    connections(site) {
      if (!shared(site)) return undefined;
      let a = admissions.get(site);
      if (!a) {
        a = leases.for(site, () => limits(site));
        admissions.set(site, a);
      }
      return a;
    },

    stats: () => meter.stats(),
    close: () => leases.close(),
  };
}
