// Suppression reads and the delivery's final state: short database steps, run as local activities.
import type { Pool } from 'pg';
import { setMessageState } from '../src/db/messages';
import { activeSuppressions } from '../src/db/suppressions';
import { FINAL_MESSAGE_STATES, type MessageState, type SuppressionCheck } from '../src/types';

export function createSuppressionActivities({ pool }: { pool: Pool }) {
  return {
    /** The recipients among `addresses` that are on the suppression list right now. */
    async checkSuppressions(addresses: string[]): Promise<SuppressionCheck[]> {
      return activeSuppressions(pool, addresses);
    },

    async recordDeliveryState({ messageId, state }: { messageId: string; state: MessageState }): Promise<void> {
      await setMessageState(pool, messageId, state, FINAL_MESSAGE_STATES.includes(state));
    },
  };
}
