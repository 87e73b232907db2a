// One pg pool per process: workers, the client and the CLI share it instead of connecting per
// call.
import { Pool, PoolConfig } from 'pg';

export function createPool(databaseUrl: string, extra: PoolConfig = {}): Pool {
  const pool = new Pool({ connectionString: databaseUrl, max: 10, idleTimeoutMillis: 30_000, ...extra });
  // An idle client that loses its connection emits here; without a listener it would crash
  // the process. The pool replaces the client on the next query.
  pool.on('error', () => undefined);
  return pool;
}
