// One message = one run of this workflow (spec 3-4). Deterministic: time and randomness come
// from the workflow sandbox, all I/O happens in activities, and the message body never enters
// the history (the workflow carries the message id only).
import {
  CancellationScope,
  condition,
  isCancellation,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { createActivities } from '../activities';
import { planNextAttempt } from '../src/policy/schedule';
import { finalMessageState } from '../src/policy/states';
import { BounceCategoriesKey, DeliveryAttemptsKey, DeliveryStateKey, RecipientDomainsKey } from '../src/search-attributes';
import type {
  AttemptReply,
  DeliveryInput,
  DeliveryStatus,
  MessageState,
  RecipientState,
  RecipientStatus,
} from '../src/types';
import { domainOf } from '../src/types';
import { retryNowSignal, statusQuery } from './definitions';

type Activities = ReturnType<typeof createActivities>;

const { sendAttempt } = proxyActivities<Activities>({
  // Connection, greeting and socket timeouts of the transport are well below this.
  startToCloseTimeout: '5 minutes',
  // Infrastructure failures (database, worker crash) are retried here; SMTP replies are
  // results, handled by the schedule below.
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', nonRetryableErrorTypes: ['MessageNotFound'] },
});

// Outcomes the send activity could not report, and the final state of a delivery whose last
// attempt did not record it (expired, cancelled): short steps, and regular
// rather than local activities, since a local activity runs inside a workflow task and a task
// held across a long timer skip (the time-skipping test server, a paused worker) expires.
const { notifyReputation, recordDeliveryState } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

const OPEN_STATES: readonly RecipientState[] = ['pending', 'retrying'];

export async function deliveryWorkflow(input: DeliveryInput): Promise<DeliveryStatus> {
  const info = workflowInfo();
  const startMs = info.startTime.getTime();
  const deadlineMs = startMs + input.schedule.deadlineMs;
  const recipients: RecipientStatus[] = input.recipients.map((address) => ({
    address,
    state: 'pending',
    attempts: 0,
    lastReply: null,
    firstAttemptAt: null,
    lastAttemptAt: null,
    finishedAt: null,
  }));
  let state: MessageState = 'queued';
  let attempts = 0;
  let nextAttemptAt: number | null = null;
  let retryNowRequested = false;
  const bounceCategories = new Set<string>();

  const snapshot = (): DeliveryStatus => ({
    messageId: input.messageId,
    workflowId: info.workflowId,
    state,
    profile: input.profile,
    createdAt: new Date(startMs).toISOString(),
    deadline: new Date(deadlineMs).toISOString(),
    attempts,
    nextAttemptAt: nextAttemptAt === null ? null : new Date(nextAttemptAt).toISOString(),
    recipients: recipients.map((r) => ({ ...r })),
  });
  setHandler(statusQuery, snapshot);
  setHandler(retryNowSignal, () => {
    retryNowRequested = true;
  });

  const open = () => recipients.filter((r) => OPEN_STATES.includes(r.state));
  const now = () => new Date().toISOString();
  const finish = (r: RecipientStatus, to: RecipientState) => {
    r.state = to;
    r.finishedAt = now();
  };

  // Upserts are history events: one per wait (retrying) and one at the end, never per attempt.
  // The client sets the initial values, the recipient domains among them, with the start.
  let domainsPublished = info.typedSearchAttributes.get(DeliveryStateKey) !== undefined;
  const publish = () => {
    upsertSearchAttributes([
      { key: DeliveryStateKey, value: state },
      { key: DeliveryAttemptsKey, value: attempts },
      { key: BounceCategoriesKey, value: [...bounceCategories].sort() },
      ...(domainsPublished ? [] : [{ key: RecipientDomainsKey, value: [...new Set(input.recipients.map(domainOf))].sort() }]),
    ]);
    domainsPublished = true;
  };

  const applyReply = (r: RecipientStatus, reply: AttemptReply) => {
    const { address: _, alreadyAccepted: __, ...lastReply } = reply;
    r.attempts += 1;
    r.lastReply = lastReply;
    r.lastAttemptAt = now();
    r.firstAttemptAt ??= r.lastAttemptAt;
    if (reply.kind !== 'delivered') bounceCategories.add(reply.category);
    if (reply.kind === 'delivered') finish(r, 'delivered');
    else if (reply.kind === 'hard') finish(r, 'bounced');
    else r.state = 'retrying';
  };

  /** One attempt: the activity skips suppressed recipients and sends to the rest (spec 5, 6). */
  const attempt = async (): Promise<{ softReplies: AttemptReply[]; finalState: MessageState | null }> => {
    attempts += 1;
    state = 'sending';
    nextAttemptAt = null;
    const pending = open();
    const result = await sendAttempt({
      messageId: input.messageId,
      attempt: attempts,
      recipients: pending.map((r) => r.address),
      // A send counts once for reputation however many attempts it takes (spec 1): a retrying
      // recipient's soft bounce was reported at its first one.
      softBounceReported: pending.filter((r) => r.state === 'retrying').map((r) => r.address),
      progress: { recipientsTotal: recipients.length, deliveredBefore: recipients.filter((r) => r.state === 'delivered').length },
    });
    for (const s of result.suppressed) {
      const r = pending.find((p) => p.address === s.address);
      if (!r) continue;
      finish(r, 'suppressed');
      r.suppressionReason = s.reason;
    }
    for (const reply of result.replies) {
      const r = pending.find((x) => x.address === reply.address);
      if (r && OPEN_STATES.includes(r.state)) applyReply(r, reply);
    }
    if (result.unreported.length > 0) await notifyReputation(result.unreported);
    return { softReplies: result.replies.filter((r) => r.kind === 'soft'), finalState: result.finalState };
  };

  /** Runs attempts until no recipient is open; returns the final state if already recorded. */
  const deliver = async (): Promise<MessageState | null> => {
    for (;;) {
      // An attempt in flight always completes and is recorded: a cancellation ends the wait
      // that follows, never an SMTP transaction halfway (its outcome would be lost).
      const { softReplies, finalState } = await CancellationScope.nonCancellable(attempt);
      if (open().length === 0) return finalState;
      const plan = planNextAttempt({ schedule: input.schedule, attemptsMade: attempts, startMs, nowMs: Date.now(), random: Math.random, softReplies });
      if (plan.action === 'expire') {
        for (const r of open()) finish(r, 'expired');
        return null;
      }
      state = 'retrying';
      nextAttemptAt = plan.atMs;
      publish();
      retryNowRequested = false;
      await condition(() => retryNowRequested, plan.delayMs);
    }
  };

  const conclude = async (final: MessageState, alreadyRecorded: boolean) => {
    state = final;
    nextAttemptAt = null;
    publish();
    if (!alreadyRecorded) await recordDeliveryState({ messageId: input.messageId, state });
  };

  let recorded: MessageState | null;
  try {
    recorded = await deliver();
  } catch (err) {
    if (!isCancellation(err)) throw err;
    // Record the cancellation even though this scope is cancelled, then end as Cancelled so the
    // Temporal UI shows what the operator did.
    await CancellationScope.nonCancellable(async () => {
      for (const r of open()) finish(r, 'cancelled');
      await conclude('cancelled', false);
    });
    throw err;
  }
  const final = finalMessageState(recipients.filter((r) => r.state === 'delivered').length, recipients.length);
  // A cancel that arrived during the last attempt must not stop its outcome being recorded.
  await CancellationScope.nonCancellable(() => conclude(final, recorded === final));
  return snapshot();
}
