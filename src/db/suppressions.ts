// The suppression list as senders read it: a row is active while neither lifted nor expired.
import type { Pool } from 'pg';
import type { SuppressionCheck } from '../types';

export async function activeSuppressions(pool: Pool, addresses: string[]): Promise<SuppressionCheck[]> {
  if (addresses.length === 0) return [];
  const res = await pool.query(
    `SELECT address, reason FROM suppressions
      WHERE address = ANY($1) AND lifted_at IS NULL AND (expires_at IS NULL OR expires_at > now())`,
    [addresses],
  );
  return res.rows.map((r) => ({ address: r.address, reason: r.reason }));
}
