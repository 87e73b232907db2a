// One pg pool per process: workers, the client and the CLI share it instead of connecting per
// call.
import { Pool, PoolConfig } from 'pg';
import { logger } from '../log';

/** At most one log line per this long about idle connections lost: an outage drops them all at once. */
const IDLE_ERROR_LOG_INTERVAL_MS = 60_000;

export function createPool(databaseUrl: string, extra: PoolConfig = {}): Pool {
  const pool = new Pool({ connectionString: databaseUrl, max: 10, idleTimeoutMillis: 30_000, ...extra });
  // An idle client that loses its connection emits here; without a listener it would crash
  // the process. The pool replaces the client on the next query; what that query meets is
  // reported by whoever runs it (README "Reliability").
  let loggedAt = -Infinity;
  let since = 0;
  pool.on('error', (err) => {
    since += 1;
    if (Date.now() - loggedAt < IDLE_ERROR_LOG_INTERVAL_MS) return;
    logger.warn({ error: err.message, code: (err as { code?: string }).code ?? null, lost: since }, 'idle PostgreSQL connections lost: the pool opens new ones on the next query');
    loggedAt = Date.now();
    since = 0;
  });
  return pool;
}
