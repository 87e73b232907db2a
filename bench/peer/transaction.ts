// One transaction of the peer's, with pg-boss's jobs inside it (its `db` option): a row and the
// job that goes with it are written together or not at all.
import type { Pool, PoolClient } from 'pg';
import type PgBoss from 'pg-boss';

/** Runs `work` between BEGIN and COMMIT on one client, rolling back on any error; `db` lets pg-boss write in the same transaction. */
export async function inTransaction(pool: Pool, work: (c: PoolClient, db: PgBoss.Db) => Promise<void>): Promise<void> {
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    await work(c, { executeSql: (text, values) => c.query(text, values) });
    await c.query('COMMIT');
  } catch (err) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    c.release();
  }
}
