// What `rebound inbound` refused before taking a message, counted per day and reason in
// `inbound_refusals` (README "Late outcomes"). Counting is best effort: an SMTP answer never
// waits for it and never fails because of it. Counts gather in memory and go to PostgreSQL in
// one statement at a time, so a flood of refused connections costs one query in flight, not
// one per refusal; while PostgreSQL is down they wait (the reasons are a fixed set, so what
// waits is a handful of numbers) and are written once it is back.
import type { Pool } from 'pg';
import type { Logger } from '../log';

export const REFUSAL_REASONS = ['forged_token', 'relay_denied', 'too_large', 'rate_limited', 'too_many_connections', 'session_too_long'] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

/** How long a failed write waits before the counts are tried again. */
const DEFAULT_RETRY_MS = 5_000;

export interface RefusalCounter {
  /** Counts one refusal; returns at once. */
  count(reason: RefusalReason): void;
  /** Resolves once every count made so far is written, or its write has failed. */
  flushed(): Promise<void>;
  /** Writes what is pending (best effort) and stops retrying. */
  close(): Promise<void>;
}

async function addCounts(pool: Pool, counts: Map<RefusalReason, number>): Promise<void> {
  await pool.query(
    `INSERT INTO inbound_refusals (day, reason, count)
     SELECT current_date, r, n FROM unnest($1::text[], $2::bigint[]) AS u(r, n)
     ON CONFLICT (day, reason) DO UPDATE SET count = inbound_refusals.count + EXCLUDED.count`,
    [[...counts.keys()], [...counts.values()]],
  );
}

export function createRefusalCounter(pool: Pool, log: Logger, opts: { retryMs?: number } = {}): RefusalCounter {
  const retryMs = opts.retryMs ?? DEFAULT_RETRY_MS;
  let pending = new Map<RefusalReason, number>();
  let writing: Promise<void> | null = null;
  let retry: NodeJS.Timeout | null = null;
  let failing = false;
  let closed = false;

  const write = (): Promise<void> => {
    const batch = pending;
    pending = new Map();
    return addCounts(pool, batch).then(
      () => {
        if (failing) log.info('inbound refusals are counted in PostgreSQL again');
        failing = false;
      },
      (err: Error) => {
        for (const [reason, n] of batch) pending.set(reason, (pending.get(reason) ?? 0) + n);
        if (!failing) log.warn({ error: err.message }, `could not count inbound refusals in PostgreSQL; they are kept in memory and written again in ${retryMs / 1000} s`);
        failing = true;
        if (!closed && !retry) {
          retry = setTimeout(() => {
            retry = null;
            start();
          }, retryMs);
          retry.unref();
        }
      },
    );
  };

  // One write at a time: counts made while one runs go in the next.
  const start = (): void => {
    if (writing || pending.size === 0 || (failing && retry)) return;
    writing = write().finally(() => {
      writing = null;
      if (!failing) start();
    });
  };

  return {
    count(reason) {
      pending.set(reason, (pending.get(reason) ?? 0) + 1);
      start();
    },
    async flushed() {
      while (writing) await writing;
    },
    async close() {
      closed = true;
      if (retry) clearTimeout(retry);
      retry = null;
      while (writing) await writing;
      if (pending.size > 0) await write();
    },
  };
}

export interface RefusalCount {
  /** The day, YYYY-MM-DD, in PostgreSQL's time zone. */
  day: string;
  reason: string;
  count: number;
}

/** The refusals of the last `sinceDays` days (today included), oldest day first. */
export async function refusalCounts(pool: Pool, sinceDays: number): Promise<RefusalCount[]> {
  if (!Number.isInteger(sinceDays) || sinceDays < 1 || sinceDays > 3650) throw new Error(`sinceDays must be a whole number of days from 1 to 3650, got ${sinceDays}`);
  const res = await pool.query(
    `SELECT to_char(day, 'YYYY-MM-DD') AS day, reason, count::float8 AS count FROM inbound_refusals
     WHERE day > current_date - $1::int ORDER BY day, reason`,
    [sinceDays],
  );
  return res.rows.map((r) => ({ day: r.day, reason: r.reason, count: Number(r.count) }));
}
