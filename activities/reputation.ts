// The reputation activities: send outcomes delivered to the per-address reputation workflows,
// and the suppression reads and writes those workflows make. Workflow code cannot
// signal-with-start, so activities do it with a client: the reputation workflow is created by
// the first outcome that blames its address and exists exactly once per address.
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Pool } from 'pg';
import type { DatabaseOutage } from '../src/db/outage';
import { outcomeSignals, REPUTATION_WORKFLOW_TYPE, type ReputationEventType, type ReputationNotice } from '../src/reputation/contract';
import { addressWorkflowId } from '../src/reputation/address-id';
import { OUTCOME_KIND, outcomeBlame } from '../src/reputation/blame';
import type { ReputationWorkflowSettings } from '../src/reputation/policy';
import type { Suppression } from '../src/reputation/contract';
import { getActiveSuppression, markLifted, upsertSuppression } from '../src/reputation/store';
import { type ClassifiedReply } from '../src/delivery/contract';

export type ReputationNotifier = (notices: ReputationNotice[]) => Promise<void>;

/** The two ways outcomes reach reputation workflows; they differ in what a new workflow may assume. */
export interface ReputationNotifiers {
  /**
   * For notices straight from an attempt, which found none of their addresses actively
   * suppressed a moment ago: a reputation workflow started by them need not read the table
   * (one activity and one workflow task less per first bounce of an address).
   */
  afterAttempt: ReputationNotifier;
  /** For notices retried later by the delivery workflow: a suppression may have been added since. */
  later: ReputationNotifier;
}

export interface ReputationDeps {
  client: Client;
  taskQueue: string;
  reputation: ReputationWorkflowSettings;
  /** REBOUND_ADDRESS_ID_KEY: the workflow ids are keyed hashes of the addresses (README "Security"); absent or null: the addresses. */
  addressIdKey?: string | null;
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
export function reputationNotifiers(deps: ReputationDeps): ReputationNotifiers {
  return { afterAttempt: notifier(deps, { noActiveSuppression: true }), later: notifier(deps, {}) };
}

function notifier({ client, taskQueue, reputation, addressIdKey = null }: ReputationDeps, startWith: { noActiveSuppression?: true }): ReputationNotifier {
  const notify = async (notice: ReputationNotice): Promise<void> => {
    const { address, event, ...signal } = notice;
    const workflowId = addressWorkflowId(address, addressIdKey);
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
      args: [{ address, settings: reputation, ...startWith }],
      signal: outcomeSignals[event],
      signalArgs: [signal],
    });
  };
  return async (notices) => {
    await Promise.all(notices.map(notify));
  };
}

export function createReputationActivities({ later }: ReputationNotifiers) {
  return {
    /** Notices the send activity could not deliver, retried by the delivery workflow. */
    async notifyReputation(notices: ReputationNotice[]): Promise<void> {
      await later(notices);
    },
  };
}

export interface SuppressionActivityDeps {
  pool: Pool;
  outage: DatabaseOutage;
}

/** The suppression list as reputation workflows read and write it. */
export function createSuppressionActivities({ pool, outage }: SuppressionActivityDeps) {
  return {
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
