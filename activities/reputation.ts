// Delivers send outcomes to the per-address reputation workflows. Workflow code cannot
// signal-with-start, so activities do it with a client: the reputation workflow is created by
// the first signal and exists exactly once per address.
import type { Client } from '@temporalio/client';
import { deliveredSignal, hardBouncedSignal, softBouncedSignal } from '../workflows/definitions';
import type { ReputationWorkflowSettings } from '../src/policy/reputation';
import { REPUTATION_WORKFLOW_TYPE, reputationWorkflowId, type ReputationNotice } from '../src/types';

const SIGNALS = { delivered: deliveredSignal, softBounced: softBouncedSignal, hardBounced: hardBouncedSignal } as const;

export type ReputationNotifier = (notices: ReputationNotice[]) => Promise<void>;

export interface ReputationDeps {
  client: Client;
  taskQueue: string;
  reputation: ReputationWorkflowSettings;
}

/** Signal-with-start for each notice; the reputation workflow counts each message once. */
export function reputationNotifier({ client, taskQueue, reputation }: ReputationDeps): ReputationNotifier {
  return async (notices) => {
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
  };
}

export function createReputationActivities(deps: ReputationDeps) {
  const notify = reputationNotifier(deps);
  return {
    /** Notices the send activity could not deliver, retried by the delivery workflow. */
    async notifyReputation(notices: ReputationNotice[]): Promise<void> {
      await notify(notices);
    },
  };
}
