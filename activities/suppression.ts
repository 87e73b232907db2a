// Suppression reads and writes of reputation workflows, and what a delivery decides without an
// attempt: recipients that expired (their addresses are told) and the final state when its last
// attempt did not record it (expired, cancelled).
import { Context } from '@temporalio/activity';
import type { Pool } from 'pg';
import { recordDeliveryState as storeDeliveryState } from '../src/db/messages';
import type { DatabaseOutage } from '../src/db/outage';
import { getActiveSuppression, markLifted, upsertSuppression } from '../src/db/suppressions';
import type { Suppression } from '../src/policy/reputation';
import type { DeliveryStateRecord } from '../src/types';
import { noticeOf, type ReputationNotifier } from './reputation';

export interface SuppressionActivityDeps {
  pool: Pool;
  outage: DatabaseOutage;
  /** For the first run of an expiry, which follows the last attempt's suppression check at once. */
  notifyAfterAttempt: ReputationNotifier;
  /** For a retried run, when a suppression may have been added since. */
  notifyReputation: ReputationNotifier;
}

export function createSuppressionActivities({ pool, outage, notifyAfterAttempt, notifyReputation }: SuppressionActivityDeps) {
  return {
    /**
     * Idempotent, so a retry after a crash changes nothing twice: the expiries and the final
     * state are written first, then each expired send is told to its address's reputation
     * workflow, which counts a message once.
     */
    async recordDeliveryState(record: DeliveryStateRecord): Promise<void> {
      await outage.run(`recording the state of message ${record.messageId}`, () => storeDeliveryState(pool, record));
      const at = new Date().toISOString();
      const notices = (record.expired ?? []).map((e) => noticeOf(record.messageId, e.address, 'softBounced', e.reply, at));
      await (Context.current().info.attempt === 1 ? notifyAfterAttempt : notifyReputation)(notices);
    },

    /** The active suppression of an address, for a reputation workflow that starts fresh. */
    async loadSuppression(address: string): Promise<Suppression | null> {
      const row = await outage.run('reading a suppression', () => getActiveSuppression(pool, address));
      if (!row) return null;
      const { address: _, liftedAt: __, ...suppression } = row;
      return suppression;
    },

    async writeSuppression({ address, ...suppression }: Suppression & { address: string }): Promise<void> {
      await outage.run('writing a suppression', () => upsertSuppression(pool, address, suppression));
    },

    async liftSuppression({ address, at, actor, reason }: { address: string; at: string; actor: string | null; reason: string }): Promise<void> {
      await outage.run('lifting a suppression', () => markLifted(pool, address, at, actor, reason));
    },
  };
}
