// Delivers send outcomes to the per-address reputation workflows. Workflow code cannot
// signal-with-start, so activities do it with a client: the reputation workflow is created by
// the first signal and exists exactly once per address.
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { outcomeSignals } from '../workflows/definitions';
import type { ReputationWorkflowSettings } from '../src/policy/reputation';
import { REPUTATION_WORKFLOW_TYPE, reputationWorkflowId, type ReputationNotice } from '../src/types';

export type ReputationNotifier = (notices: ReputationNotice[]) => Promise<void>;

export interface NotifierOptions {
  /**
   * The notices come straight from an attempt, which found none of their addresses actively
   * suppressed a moment ago: a reputation workflow started by them need not read the table
   * (one activity and one workflow task less per first bounce of an address). Notices retried
   * later by the delivery workflow leave this off, as a suppression may have been added since.
   */
  fromAttempt?: boolean;
}

export interface ReputationDeps {
  client: Client;
  taskQueue: string;
  reputation: ReputationWorkflowSettings;
}

/**
 * Tells each address's reputation workflow (which counts each message once). Bounces use
 * signal-with-start, so the first one creates the workflow. A delivery only resets a count, and
 * an address without a running reputation workflow has none: its delivery is signalled only
 * to a workflow that exists, and creates nothing — most addresses never bounce and so never
 * cost a workflow.
 */
export function reputationNotifier({ client, taskQueue, reputation }: ReputationDeps, { fromAttempt = false }: NotifierOptions = {}): ReputationNotifier {
  const notify = async ({ address, event, ...signal }: ReputationNotice): Promise<void> => {
    const workflowId = reputationWorkflowId(address);
    if (event === 'delivered') {
      await client.workflow
        .getHandle(workflowId)
        .signal(outcomeSignals.delivered, signal)
        .catch((err: unknown) => {
          if (!(err instanceof WorkflowNotFoundError)) throw err;
        });
      return;
    }
    await client.workflow.signalWithStart(REPUTATION_WORKFLOW_TYPE, {
      workflowId,
      taskQueue,
      args: [{ address, settings: reputation, ...(fromAttempt ? { noActiveSuppression: true } : {}) }],
      signal: outcomeSignals[event],
      signalArgs: [signal],
    });
  };
  return async (notices) => {
    await Promise.all(notices.map(notify));
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
