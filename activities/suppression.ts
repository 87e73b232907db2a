// Suppression reads and writes of reputation workflows, and a delivery's final state when its
// last attempt did not record it (expired, cancelled).
import type { Pool } from 'pg';
import { setMessageState } from '../src/db/messages';
import { getActiveSuppression, markLifted, upsertSuppression } from '../src/db/suppressions';
import type { Suppression } from '../src/policy/reputation';
import { FINAL_MESSAGE_STATES, type MessageState } from '../src/types';

export function createSuppressionActivities({ pool }: { pool: Pool }) {
  return {
    async recordDeliveryState({ messageId, state }: { messageId: string; state: MessageState }): Promise<void> {
      await setMessageState(pool, messageId, state, FINAL_MESSAGE_STATES.includes(state));
    },

    /** The active suppression of an address, for a reputation workflow that starts fresh. */
    async loadSuppression(address: string): Promise<Suppression | null> {
      const row = await getActiveSuppression(pool, address);
      if (!row) return null;
      const { address: _, liftedAt: __, ...suppression } = row;
      return suppression;
    },

    async writeSuppression({ address, ...suppression }: Suppression & { address: string }): Promise<void> {
      await upsertSuppression(pool, address, suppression);
    },

    async liftSuppression({ address, at, actor, reason }: { address: string; at: string; actor: string | null; reason: string }): Promise<void> {
      await markLifted(pool, address, at, actor, reason);
    },
  };
}
