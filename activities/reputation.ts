// Delivers send outcomes to the per-address reputation workflows. Workflow code cannot
// signal-with-start, so this activity does it with a client: the reputation workflow is
// created by the first signal and exists exactly once per address.
import type { Client } from '@temporalio/client';
import { deliveredSignal, hardBouncedSignal, softBouncedSignal } from '../workflows/definitions';
import type { ReputationWorkflowSettings } from '../src/policy/reputation';
import { REPUTATION_WORKFLOW_TYPE, reputationWorkflowId, type ReputationNotice } from '../src/types';

const SIGNALS = { delivered: deliveredSignal, softBounced: softBouncedSignal, hardBounced: hardBouncedSignal } as const;

export function createReputationActivities({ client, taskQueue, reputation }: { client: Client; taskQueue: string; reputation: ReputationWorkflowSettings }) {
  return {
    async notifyReputation(notices: ReputationNotice[]): Promise<void> {
      await Promise.all(
        notices.map(({ address, event, ...signal }) =>
          client.workflow.signalWithStart(REPUTATION_WORKFLOW_TYPE, {
            workflowId: reputationWorkflowId(address),
            taskQueue,
            args: [{ address, settings: reputation }],
            signal: SIGNALS[event],
            signalArgs: [signal],
          }),
        ),
      );
    },
  };
}
