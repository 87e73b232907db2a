// Delivers send outcomes to the per-address reputation workflows. Workflow code cannot
// signal-with-start, so activities do it with a client: the reputation workflow is created by
// the first outcome that blames its address and exists exactly once per address.
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { outcomeSignals } from '../workflows/definitions';
import { OUTCOME_KIND, outcomeBlame } from '../src/policy/blame';
import type { ReputationWorkflowSettings } from '../src/policy/reputation';
import { REPUTATION_WORKFLOW_TYPE, reputationWorkflowId, type ClassifiedReply, type ReputationEventType, type ReputationNotice } from '../src/types';

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

/** The notice of one send's outcome, decided by `reply` (the attempt's, or the one an expiry is judged by). */
export function noticeOf(messageId: string, address: string, event: ReputationEventType, reply: ClassifiedReply, at: string): ReputationNotice {
  return { address, event, messageId, category: reply.category, scope: reply.scope, reply: { code: reply.code, enhanced: reply.enhanced, text: reply.text }, at };
}

/** Whether an outcome may create its address's reputation workflow: only one that counts against the address. */
function blamesAddress(n: ReputationNotice): boolean {
  return n.event !== 'delivered' && n.scope !== undefined && outcomeBlame({ kind: OUTCOME_KIND[n.event], category: n.category, scope: n.scope }).counts;
}

/**
 * Tells each address's reputation workflow (which counts each message once). An outcome that
 * blames the address uses signal-with-start, so the first one creates the workflow. Every
 * other outcome — a delivery, which only resets a count, and whatever is not the address's
 * fault — is signalled only to a workflow that exists, so it shows in `rebound address`, and
 * creates nothing: most addresses are never blamed and so never cost a workflow.
 */
export function reputationNotifier({ client, taskQueue, reputation }: ReputationDeps, { fromAttempt = false }: NotifierOptions = {}): ReputationNotifier {
  const notify = async (notice: ReputationNotice): Promise<void> => {
    const { address, event, ...signal } = notice;
    const workflowId = reputationWorkflowId(address);
    if (!blamesAddress(notice)) {
      await client.workflow
        .getHandle(workflowId)
        .signal(outcomeSignals[event], signal)
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
