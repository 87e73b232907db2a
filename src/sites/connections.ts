// Connections open to a site, all workers together (README "Traffic shaping", Limits): before
// a pool opens a connection it takes a lease in PostgreSQL's site_connections, and the lease
// lives as long as the connection. A lease expires unless renewed, so a crashed worker's
// connections come back to the others within LEASE_TTL_MS. The site's slow-start limit moves
// with the feedback the pools report (limits.ts nextConnectionLimit), folded into the next
// statement about the site rather than costing one of its own.
import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { logger } from '../log';
import type { Site, SiteLimits } from './contract';
import type { Feedback } from './limits';
import type { QueryMeter } from './stats';

/** What a pool asks before it opens a connection, and tells after each transaction. */
export interface ConnectionAdmission {
  /** A lease for one more connection (call the result when it closes), or null when the site is at its limit. */
  open(): Promise<(() => void) | null>;
  /** A transaction went through (true), or a connection failed or was answered 421 (false). */
  heard(ok: boolean): void;
}

/** How long a lease lives unrenewed: a crashed worker's connections are free again after this. */
export const LEASE_TTL_MS = 60_000;
const RENEW_EVERY_MS = LEASE_TTL_MS / 3;

const NOW_MS = `(extract(epoch FROM now()) * 1000)::bigint`;
/** The slow-start limit after the feedback $succ/$fail, within [1, $cap] (limits.ts nextConnectionLimit, in one step). */
const NEXT_LIMIT = (cap: string, succ: string, fail: string) =>
  `greatest(1, least(${cap}::double precision, c.connection_limit + ${succ}::double precision / greatest(1, c.connection_limit) - ${fail}::double precision))`;
const LIVE_LEASES = `(SELECT count(*) FROM jsonb_each(c.leases) AS e(k, v) WHERE (v #>> '{}')::bigint > ${NOW_MS})`;

const ACQUIRE_SQL = `
INSERT INTO site_connections AS c (site, connection_limit, leases)
VALUES ($1, $2, jsonb_build_object($4::text, ${NOW_MS} + $5::bigint))
ON CONFLICT (site) DO UPDATE SET
  connection_limit = ${NEXT_LIMIT('$3', '$6', '$7')},
  leases = (SELECT coalesce(jsonb_object_agg(k, v), '{}') FROM jsonb_each(c.leases) AS e(k, v) WHERE (v #>> '{}')::bigint > ${NOW_MS}) || EXCLUDED.leases,
  updated_at = now()
WHERE ${LIVE_LEASES} < floor(${NEXT_LIMIT('$3', '$6', '$7')} + 1e-9)
RETURNING connection_limit`;

const RENEW_SQL = `
UPDATE site_connections AS c SET
  leases = c.leases || coalesce((SELECT jsonb_object_agg(id, ${NOW_MS} + $3::bigint) FROM unnest($2::text[]) AS id WHERE c.leases ? id), '{}'),
  connection_limit = ${NEXT_LIMIT('$4', '$5', '$6')},
  updated_at = now()
WHERE site = $1`;

const RELEASE_SQL = `
UPDATE site_connections AS c SET leases = c.leases - $2::text, connection_limit = ${NEXT_LIMIT('$3', '$4', '$5')}, updated_at = now()
WHERE site = $1`;

export class SiteConnections {
  /** Lease ids this process holds, per site. */
  private readonly held = new Map<Site, Set<string>>();
  /** Feedback not yet written, per site. */
  private readonly pending = new Map<Site, Feedback>();
  private readonly lastCap = new Map<Site, number>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly pool: Pool,
    private readonly meter: QueryMeter,
    private readonly ttlMs = LEASE_TTL_MS,
  ) {}

  /** The admission of connections to `site`; `limits` gives the site's limits in force at each ask. */
  for(site: Site, limits: () => SiteLimits): ConnectionAdmission {
    return {
      open: () => this.acquire(site, limits()),
      heard: (ok) => {
        const fb = this.pending.get(site) ?? { successes: 0, failures: 0 };
        if (ok) fb.successes += 1;
        else fb.failures += 1;
        this.pending.set(site, fb);
      },
    };
  }

  /** Stops renewing (the leases then expire); releases are written as connections close. */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private takeFeedback(site: Site): Feedback {
    const fb = this.pending.get(site) ?? { successes: 0, failures: 0 };
    this.pending.delete(site);
    return fb;
  }

  private giveBack(site: Site, fb: Feedback): void {
    const now = this.pending.get(site) ?? { successes: 0, failures: 0 };
    this.pending.set(site, { successes: now.successes + fb.successes, failures: now.failures + fb.failures });
  }

  private async acquire(site: Site, limits: SiteLimits): Promise<(() => void) | null> {
    const id = randomUUID();
    const fb = this.takeFeedback(site);
    this.lastCap.set(site, limits.connections);
    try {
      const { rows } = await this.meter.timed(() =>
        this.pool.query(ACQUIRE_SQL, [site, limits.initialConnections, limits.connections, id, this.ttlMs, fb.successes, fb.failures]),
      );
      if (rows.length === 0) {
        this.giveBack(site, fb);
        return null;
      }
    } catch (err) {
      // Shaping protects the receiver; holding all mail for a database outage would hurt more.
      logger.warn({ site, error: (err as Error).message }, 'could not take a connection lease for the site in PostgreSQL: connecting without it; check the database');
      return () => undefined;
    }
    const mine = this.held.get(site) ?? new Set<string>();
    mine.add(id);
    this.held.set(site, mine);
    this.startRenewing();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      mine.delete(id);
      void this.release(site, id);
    };
  }

  private async release(site: Site, id: string): Promise<void> {
    const fb = this.takeFeedback(site);
    try {
      await this.meter.timed(() => this.pool.query(RELEASE_SQL, [site, id, this.lastCap.get(site) ?? 1, fb.successes, fb.failures]));
    } catch (err) {
      logger.warn({ site, error: (err as Error).message }, `could not release a connection lease of the site in PostgreSQL: it frees itself within ${this.ttlMs / 1000} s`);
    }
  }

  private startRenewing(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.renew(), Math.min(RENEW_EVERY_MS, this.ttlMs / 3));
    this.timer.unref();
  }

  private async renew(): Promise<void> {
    for (const [site, ids] of this.held) {
      if (ids.size === 0) {
        this.held.delete(site);
        continue;
      }
      const fb = this.takeFeedback(site);
      try {
        await this.meter.timed(() => this.pool.query(RENEW_SQL, [site, [...ids], this.ttlMs, this.lastCap.get(site) ?? 1, fb.successes, fb.failures]));
      } catch (err) {
        this.giveBack(site, fb);
        logger.warn({ site, error: (err as Error).message }, 'could not renew the connection leases of the site in PostgreSQL; check the database');
      }
    }
  }
}
