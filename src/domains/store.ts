// The SQL of the domain health rollups (migrations/1764300000000_domain-health.sql): the
// upserts recordAttempt and recordDeliveryState (src/db) embed in their single statements, and
// the reads, which never touch the attempt log. Buckets are whole UTC hours and days.
import type { Pool } from 'pg';
import type { TopReply } from './contract';
import type { DomainCounts } from './health';

/** The counters of domain_hourly and domain_daily. */
export const ROLLUP_COUNTERS = ['attempts', 'sends', 'delivered', 'soft_recipient', 'soft_destination', 'soft_sender', 'soft_message', 'hard', 'expired'] as const;
export type RollupCounter = (typeof ROLLUP_COUNTERS)[number];

/**
 * CTEs `hourly` and `daily` that add `delta` (a CTE of domain, hour and `counters`, one row per
 * domain and hour) to both rollups. Rows are upserted in key order and every hourly row before
 * any daily row (`daily` reads what `hourly` returned), so concurrent writers lock in the same
 * order and cannot deadlock.
 */
export function rollupUpserts(delta: string, counters: readonly RollupCounter[]): string {
  const cols = counters.join(', ');
  const add = counters.map((c) => `${c} = d.${c} + EXCLUDED.${c}`).join(', ');
  return `hourly AS (
    INSERT INTO domain_hourly AS d (domain, hour, ${cols})
    SELECT domain, hour, ${cols} FROM ${delta} ORDER BY domain, hour
    ON CONFLICT (domain, hour) DO UPDATE SET ${add}
    RETURNING domain, hour
  ), daily AS (
    INSERT INTO domain_daily AS d (domain, day, ${cols})
    SELECT domain, date_trunc('day', hour, 'UTC'), ${counters.map((c) => `sum(${c})`).join(', ')}
      FROM ${delta} WHERE (domain, hour) IN (SELECT domain, hour FROM hourly)
     GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (domain, day) DO UPDATE SET ${add}
  )`;
}

/**
 * The window of `$1` whole hours ending with the hour of `$3` (the database's now() when null):
 * from `start` to `until`, split into the whole days in it (`first_day` to `today`, exclusive)
 * and the hours outside them. Evaluated once (scalar subqueries), so the bounds are index bounds.
 */
const WINDOW = `w AS MATERIALIZED (
    SELECT h - make_interval(hours => $1::int - 1) AS start, h AS until, date_trunc('day', h, 'UTC') AS today,
           date_trunc('day', h - make_interval(hours => $1::int - 1) + interval '23 hours', 'UTC') AS first_day
      FROM (SELECT date_trunc('hour', coalesce($3::timestamptz, now()), 'UTC') AS h) AS now
  )`;

const COLS = ROLLUP_COUNTERS.join(', ');
const ONE_DOMAIN = `($2::text IS NULL OR domain = $2)`;

/**
 * Every domain with attempts or expiries in the window (or only `domain`). Sums are bigint,
 * read as numbers: exact up to 2^53. `at` moves the end of the window, for tests.
 */
export async function domainCounts(pool: Pool, hours: number, domain?: string, at?: Date): Promise<DomainCounts[]> {
  const res = await pool.query(
    `WITH ${WINDOW}
     SELECT domain, ${ROLLUP_COUNTERS.map((c) => `sum(${c}) AS ${c}`).join(', ')}
       FROM (SELECT domain, ${COLS} FROM domain_hourly
              WHERE hour >= (SELECT start FROM w) AND hour < (SELECT least(first_day, today) FROM w) AND ${ONE_DOMAIN}
             UNION ALL
             SELECT domain, ${COLS} FROM domain_daily
              WHERE day >= (SELECT first_day FROM w) AND day < (SELECT today FROM w) AND ${ONE_DOMAIN}
             UNION ALL
             SELECT domain, ${COLS} FROM domain_hourly
              WHERE hour >= (SELECT greatest(today, start) FROM w) AND hour <= (SELECT until FROM w) AND ${ONE_DOMAIN}) AS buckets
      GROUP BY domain
     HAVING sum(attempts) <> 0 OR sum(expired) <> 0`,
    [hours, domain ?? null, at ?? null],
  );
  return res.rows.map((r) => ({
    domain: r.domain,
    attempts: Number(r.attempts),
    sends: Number(r.sends),
    delivered: Number(r.delivered),
    softRecipient: Number(r.soft_recipient),
    softDestination: Number(r.soft_destination),
    softSender: Number(r.soft_sender),
    softMessage: Number(r.soft_message),
    hard: Number(r.hard),
    expired: Number(r.expired),
  }));
}

/** A domain's most frequent non-delivered replies in the window, with the earliest sample of each. */
export async function topReplies(pool: Pool, domain: string, hours: number, limit = 10): Promise<TopReply[]> {
  const res = await pool.query(
    `WITH ${WINDOW}
     SELECT kind, category, scope, code, enhanced, (array_agg(sample ORDER BY hour))[1] AS sample, sum(count) AS count
       FROM domain_reply_hourly
      WHERE domain = $2 AND hour >= (SELECT start FROM w) AND hour <= (SELECT until FROM w)
      GROUP BY kind, category, scope, code, enhanced
     HAVING sum(count) > 0
      ORDER BY sum(count) DESC, kind, category, scope, code, enhanced
      LIMIT $4`,
    [hours, domain, null, limit],
  );
  return res.rows.map((r) => ({
    kind: r.kind,
    category: r.category,
    scope: r.scope,
    code: r.code,
    enhanced: r.enhanced,
    sample: r.sample,
    count: Number(r.count),
  }));
}

/** One bucket of a domain's series: the rollup's counters for that UTC hour or day. */
export interface SeriesBucket extends DomainCounts {
  /** Start of the bucket, ISO. */
  at: string;
}

/**
 * A domain's last `count` hours (from domain_hourly) or days (from domain_daily), ending with the
 * current one, oldest first; buckets without attempts are zeros, so a chart has no gaps.
 */
export async function domainSeries(pool: Pool, domain: string, unit: 'hour' | 'day', count: number, at?: Date): Promise<SeriesBucket[]> {
  const table = unit === 'hour' ? 'domain_hourly' : 'domain_daily';
  const res = await pool.query(
    `WITH now AS (SELECT date_trunc('${unit}', coalesce($3::timestamptz, now()), 'UTC') AS t),
          buckets AS (SELECT generate_series((SELECT t FROM now) - make_interval(${unit}s => $2::int - 1), (SELECT t FROM now), interval '1 ${unit}') AS at)
     SELECT b.at, ${ROLLUP_COUNTERS.map((c) => `coalesce(r.${c}, 0) AS ${c}`).join(', ')}
       FROM buckets b LEFT JOIN ${table} r ON r.domain = $1 AND r.${unit} = b.at
      ORDER BY b.at`,
    [domain, count, at ?? null],
  );
  return res.rows.map((r) => ({
    at: (r.at as Date).toISOString(),
    domain,
    attempts: Number(r.attempts),
    sends: Number(r.sends),
    delivered: Number(r.delivered),
    softRecipient: Number(r.soft_recipient),
    softDestination: Number(r.soft_destination),
    softSender: Number(r.soft_sender),
    softMessage: Number(r.soft_message),
    hard: Number(r.hard),
    expired: Number(r.expired),
  }));
}
