// The send lease: which run of a send activity may write a message's body to the server
// (README "Reliability"). Temporal retries an attempt whose worker stopped heartbeating, but it
// cannot stop the first run if that worker was only paused or cut off: both would finish the
// SMTP transaction. The lease is the fence. It is taken in the same statement that reads the
// message (attempts.ts), renewed with every heartbeat, checked again after the server's 354,
// and dropped when the run ends. A lease lapses SEND_LEASE_TTL_MS after its last renewal, well
// inside the send activity's 30 s heartbeat timeout, so a retry after a crash never waits for it.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Pool } from 'pg';

export const SEND_LEASE_TTL_MS = 20_000;

export interface SendLease {
  messageId: string;
  /** This run: process and a random token, so two runs never share a lease. */
  holder: string;
  /**
   * Holders this process used for the message whose release PostgreSQL did not take: their
   * runs have ended, so this run may take their lease without waiting for it to lapse.
   */
  predecessors: string[];
}

const PROCESS_TAG = `${hostname()}:${process.pid}`;

export function newSendLease(messageId: string, attempt: number, predecessors: string[]): SendLease {
  return { messageId, holder: `${PROCESS_TAG}/${attempt}/${randomUUID()}`, predecessors };
}

/**
 * The part of the reading statement that takes the lease: free, lapsed, or this process's own
 * ended run. Parameters: $1 message id, $3 holder, $4 predecessors, $5 time to live (ms).
 * Yields one row when taken, none when another run holds it.
 */
export const TAKE_SEND_LEASE = `
  INSERT INTO send_leases (message_id, holder, until) VALUES ($1, $3, now() + $5 * interval '1 millisecond')
  ON CONFLICT (message_id) DO UPDATE SET holder = EXCLUDED.holder, until = EXCLUDED.until
   WHERE send_leases.until < now() OR send_leases.holder = ANY($4::text[])
  RETURNING holder`;

/** Extends the lease; false when this run no longer holds it (another run took it over). */
export async function renewSendLease(pool: Pool, lease: SendLease): Promise<boolean> {
  const res = await pool.query({
    name: 'renew-send-lease',
    text: `UPDATE send_leases SET until = now() + $3 * interval '1 millisecond' WHERE message_id = $1 AND holder = $2`,
    values: [lease.messageId, lease.holder, SEND_LEASE_TTL_MS],
  });
  return res.rowCount === 1;
}

export async function releaseSendLease(pool: Pool, lease: SendLease): Promise<void> {
  await pool.query({ name: 'release-send-lease', text: 'DELETE FROM send_leases WHERE message_id = $1 AND holder = $2', values: [lease.messageId, lease.holder] });
}
