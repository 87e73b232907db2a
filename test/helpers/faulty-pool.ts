// A real pg pool whose statements matching a pattern fail the way a dropped connection does,
// a given number of times: the database going away at one precise moment, which a real outage
// cannot be timed to hit (the fault suite, `npm run faults`, covers real outages).
import type { Pool } from 'pg';

export interface FaultyPool {
  pool: Pool;
  /** How many statements were failed so far. */
  failed(): number;
}

export function failingStatements(pool: Pool, pattern: RegExp, times = Infinity): FaultyPool {
  let failed = 0;
  const faulty = new Proxy(pool, {
    get(target, key, receiver) {
      if (key !== 'query') return Reflect.get(target, key, receiver);
      return (q: string | { text: string }, ...rest: unknown[]) => {
        if (failed < times && pattern.test(typeof q === 'string' ? q : q.text)) {
          failed += 1;
          return Promise.reject(new Error('Connection terminated unexpectedly'));
        }
        return (target.query as (...a: unknown[]) => unknown).call(target, q, ...rest);
      };
    },
  });
  return { pool: faulty, failed: () => failed };
}
