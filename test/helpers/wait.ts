// Polling for a condition that another process or workflow brings about.
import type { Client } from '@temporalio/client';
import type { ReputationWorkflowSettings } from '../../src/reputation/policy';
import { REPUTATION_WORKFLOW_TYPE, reputationWorkflowId, type ReputationEventType, outcomeSignals } from '../../src/reputation/contract';

/** Polls `get` until `ok` holds; fails naming `what` and the last value seen. */
export async function eventually<T>(what: string, get: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < until) {
    last = await get().catch(() => undefined as T);
    if (last !== undefined && ok(last)) return last;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what}: not reached, last seen ${JSON.stringify(last)}`);
}

const CATEGORY = { delivered: 'delivered', softBounced: 'mailbox_full', hardBounced: 'unknown_user' } as const;

/**
 * Reports a send's final outcome to an address's reputation workflow with signal-with-start,
 * deliveries too (unlike the activities, which start none for a delivery): a soft bounce is a
 * send that expired on a full mailbox, a hard bounce an unknown user.
 */
export async function reportOutcome(
  client: Client,
  target: { taskQueue: string; settings: ReputationWorkflowSettings },
  address: string,
  event: ReputationEventType,
  messageId: string,
): Promise<void> {
  await client.workflow.signalWithStart(REPUTATION_WORKFLOW_TYPE, {
    workflowId: reputationWorkflowId(address),
    taskQueue: target.taskQueue,
    args: [{ address, settings: target.settings }],
    signal: outcomeSignals[event],
    signalArgs: [{ messageId, category: CATEGORY[event], scope: 'recipient', reply: { code: null, enhanced: null, text: '' }, at: new Date().toISOString() }],
  });
}
