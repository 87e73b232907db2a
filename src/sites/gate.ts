// What the direct sender asks about sites (README "Traffic shaping"): before it connects for a
// domain, whether the site of the domain's MX hosts is suspended (then a deferral instead of a
// connection); after each transaction, whether a receiver's reply asks for a suspension.
import type { Pool } from 'pg';
import type { RawReply } from '../delivery/contract';
import { logger } from '../log';
import { suspendedReply } from './deferral';
import { siteOfHost, siteOfHosts } from './policy';
import { DEFAULT_SITE_RULES, suspensionFor, type SiteRule } from './rules';
import { activeSuspension, suspendSite } from './store';

export interface SiteGate {
  /** The deferral every recipient gets when the site of these MX hosts is suspended; null to go ahead. */
  held(domain: string, hosts: readonly string[]): Promise<RawReply | null>;
  /** The replies of one transaction with an MX host: a matching rule suspends its site. */
  heard(host: string, replies: readonly RawReply[]): Promise<void>;
}

/** No shaping: what the direct sender does when it is given no gate (tests of routing alone). */
export const OPEN_SITES: SiteGate = {
  held: async () => null,
  heard: async () => undefined,
};

export interface SiteGateOptions {
  rules?: readonly SiteRule[];
  /** Spreads the retries after a reopening; Math.random unless a test fixes it. */
  random?: () => number;
  now?: () => number;
}

/**
 * The gate backed by site_suspensions. When PostgreSQL cannot be read the message goes ahead
 * (logged): shaping protects the receiver, but holding all mail for a database outage would
 * hurt more, and a receiver that still objects says so again.
 */
export function createSiteGate(pool: Pool, opts: SiteGateOptions = {}): SiteGate {
  const rules = opts.rules ?? DEFAULT_SITE_RULES;
  const random = opts.random ?? Math.random;
  const now = opts.now ?? Date.now;
  return {
    async held(domain, hosts) {
      const site = siteOfHosts(hosts);
      if (site === null) return null;
      try {
        const suspension = await activeSuspension(pool, site);
        return suspension ? suspendedReply(suspension, now(), random) : null;
      } catch (err) {
        logger.warn({ domain, site, error: (err as Error).message }, 'could not read the suspension of the site from PostgreSQL: sending without it; check the database');
        return null;
      }
    },
    async heard(host, replies) {
      const site = siteOfHost(host);
      const order = suspensionFor(site, replies, rules);
      if (!order) return;
      try {
        const s = await suspendSite(pool, order);
        logger.warn({ site, host, rule: order.rule, until: s.until.toISOString() }, 'a receiver asked to slow down: site suspended, its recipients are deferred until it reopens (README "Traffic shaping")');
      } catch (err) {
        logger.error({ site, host, rule: order.rule, error: (err as Error).message }, 'could not write the suspension of the site to PostgreSQL: the site stays open; check the database');
      }
    },
  };
}
