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
import { BounceCategoriesKey, DeliveryAttemptsKey, DeliveryStateKey, RecipientDomainsKey } from '../src/search-attributes';
import type {
  AttemptReply,
  DeliveryInput,
  DeliveryStatus,
  MessageState,
  RecipientState,
  RecipientStatus,
  ReputationNotice,
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

const { notifyReputation } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

// Short database reads and writes. Regular rather than local activities: a local activity runs
// inside a workflow task, and a task held across a long timer skip (the time-skipping test
// server, or a worker paused for a while) expires and is retried.
const { checkSuppressions, recordDeliveryState } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds' },
});

const OPEN_STATES: readonly RecipientState[] = ['pending', 'retrying'];

interface RecipientRecord extends RecipientStatus {
  /** A send counts once for reputation, however many attempts it takes (spec 1). */
  softBounceReported: boolean;
}

export async function deliveryWorkflow(input: DeliveryInput): Promise<DeliveryStatus> {
  const info = workflowInfo();
  const startMs = info.startTime.getTime();
  const deadlineMs = startMs + input.schedule.deadlineMs;
  const recipients: RecipientRecord[] = input.recipients.map((address) => ({
    address,
    state: 'pending',
    attempts: 0,
    lastReply: null,
    firstAttemptAt: null,
    lastAttemptAt: null,
    finishedAt: null,
    softBounceReported: false,
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
    recipients: recipients.map(({ softBounceReported: _, ...r }) => ({ ...r })),
  });
  setHandler(statusQuery, snapshot);
  setHandler(retryNowSignal, () => {
    retryNowRequested = true;
  });

  const open = () => recipients.filter((r) => OPEN_STATES.includes(r.state));
  const now = () => new Date().toISOString();
  const finish = (r: RecipientRecord, to: RecipientState) => {
    r.state = to;
    r.finishedAt = now();
  };

  // Upserts are history events: send one only when a value the UI filters on has changed.
  let published: { state: string; attempts: number; categories: string } | null = null;
  const publish = () => {
    const categories = [...bounceCategories].sort();
    const next = { state, attempts, categories: categories.join(',') };
    if (published && published.state === next.state && published.attempts === next.attempts && published.categories === next.categories) return;
    upsertSearchAttributes([
      { key: DeliveryStateKey, value: state },
      { key: DeliveryAttemptsKey, value: attempts },
      { key: BounceCategoriesKey, value: categories },
      ...(published ? [] : [{ key: RecipientDomainsKey, value: [...new Set(input.recipients.map(domainOf))].sort() }]),
    ]);
    published = next;
  };

  const applyReply = (r: RecipientRecord, reply: AttemptReply, notices: ReputationNotice[]) => {
    const { address: _, alreadyAccepted: __, ...lastReply } = reply;
    r.attempts += 1;
    r.lastReply = lastReply;
    r.lastAttemptAt = now();
    r.firstAttemptAt ??= r.lastAttemptAt;
    if (reply.kind !== 'delivered') bounceCategories.add(reply.category);
    const notice = { address: r.address, messageId: input.messageId, category: reply.category, at: r.lastAttemptAt, reply: { code: reply.code, enhanced: reply.enhanced, text: reply.text } };
    if (reply.kind === 'delivered') {
      finish(r, 'delivered');
      notices.push({ ...notice, event: 'delivered' });
    } else if (reply.kind === 'hard') {
      finish(r, 'bounced');
      notices.push({ ...notice, event: 'hardBounced' });
    } else {
      r.state = 'retrying';
      if (!r.softBounceReported) notices.push({ ...notice, event: 'softBounced' });
      r.softBounceReported = true;
    }
  };

  const skipSuppressed = async () => {
    const pending = open();
    const suppressed = await checkSuppressions(pending.map((r) => r.address));
    for (const s of suppressed) {
      const r = pending.find((p) => p.address === s.address);
      if (!r) continue;
      finish(r, 'suppressed');
      r.suppressionReason = s.reason;
    }
  };

  const attempt = async (): Promise<AttemptReply[]> => {
    attempts += 1;
    state = 'sending';
    nextAttemptAt = null;
    publish();
    const { replies } = await sendAttempt({ messageId: input.messageId, attempt: attempts, recipients: open().map((r) => r.address) });
    const notices: ReputationNotice[] = [];
    for (const reply of replies) {
      const r = recipients.find((x) => x.address === reply.address);
      if (r && OPEN_STATES.includes(r.state)) applyReply(r, reply, notices);
    }
    if (notices.length > 0) await notifyReputation(notices);
    return replies.filter((r) => r.kind === 'soft');
  };

  const deliver = async () => {
    publish();
    for (;;) {
      await skipSuppressed();
      if (open().length === 0) return;
      const softReplies = await attempt();
      if (open().length === 0) return;
      const plan = planNextAttempt({ schedule: input.schedule, attemptsMade: attempts, startMs, nowMs: Date.now(), random: Math.random, softReplies });
      if (plan.action === 'expire') {
        for (const r of open()) finish(r, 'expired');
        return;
      }
      state = 'retrying';
      nextAttemptAt = plan.atMs;
      publish();
      retryNowRequested = false;
      await condition(() => retryNowRequested, plan.delayMs);
    }
  };

  const conclude = async (final: MessageState) => {
    state = final;
    nextAttemptAt = null;
    publish();
    await recordDeliveryState({ messageId: input.messageId, state });
  };

  try {
    await deliver();
  } catch (err) {
    if (!isCancellation(err)) throw err;
    // Record the cancellation even though this scope is cancelled, then end as Cancelled so the
    // Temporal UI shows what the operator did.
    await CancellationScope.nonCancellable(async () => {
      for (const r of open()) finish(r, 'cancelled');
      await conclude('cancelled');
    });
    throw err;
  }
  await conclude(finalState(recipients));
  return snapshot();
}

function finalState(recipients: RecipientStatus[]): MessageState {
  const delivered = recipients.filter((r) => r.state === 'delivered').length;
  if (delivered === recipients.length) return 'delivered';
  return delivered > 0 ? 'partially_delivered' : 'failed';
}
