// One message = one run of this workflow (README "Behaviour"). Deterministic: time and randomness come
// from the workflow sandbox, all I/O happens in activities, and the message body never enters
// the history (the workflow carries the message id only).
//
// Recipients follow their own schedules (README "Retry policy per domain"): the recipients
// that share a schedule form a group with its own attempt count, next attempt and deadline.
// The workflow sleeps until the earliest group is due, and an attempt carries the due groups.
// A message with one schedule (every message before per-domain policies) is one group, and
// runs exactly as it always did: histories recorded then replay unchanged.
import { CancellationScope, condition, isCancellation, patched, proxyActivities, proxyLocalActivities, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { createActivities } from '../activities';
import { decidingReply } from '../src/reputation/blame';
import { replyScope } from '../src/delivery/classify';
import { recipientStateAfter } from '../src/delivery/attempt';
import { planNextAttempt } from '../src/delivery/schedule';
import { finalMessageState } from '../src/delivery/states';
import { attemptSummary, waitSummary } from '../src/delivery/summaries';
import { withLateOutcome } from '../src/bounces/late';
import { BounceCategoriesKey, DeliveryAttemptsKey, DeliveryStateKey, lateOutcomeSignal, RecipientDomainsKey, retryNowSignal, statusQuery } from '../src/delivery/contract';
import type { AttemptReply, ClassifiedReply, Deferral, DeliveryInput, DeliveryStatus, ExpiredRecipient, MessageState, RecipientState, RecipientStatus, SchedulePlan, SoftCategory } from '../src/delivery/contract';
import { domainOf } from '../src/message/address';

type Activities = ReturnType<typeof createActivities>;

const { sendAttempt } = proxyActivities<Activities>({
  // Connection, greeting and socket timeouts of the transport are well below this: the bound
  // for a live but slow server.
  startToCloseTimeout: '5 minutes',
  // A worker that dies mid-attempt stops heartbeating: the attempt is retried elsewhere within
  // this, not after five minutes. Generous against a busy event loop: a live worker that looked
  // dead would have its attempt run twice.
  heartbeatTimeout: '30 seconds',
  // Infrastructure failures (database, worker crash) are retried here; SMTP replies are
  // results, handled by the schedule below.
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', nonRetryableErrorTypes: ['MessageNotFound'] },
});

// The same attempt as a local activity (README "Performance"): it runs in the worker that runs
// the workflow task, so an attempt costs no activity task round trip through the server and
// three fewer history events. A worker paused past the workflow task timeout has its task run
// again elsewhere, attempt included: the send lease (src/delivery/leases.ts) keeps the second
// run from writing the body while the first may still be alive, exactly as it does for a
// retried regular activity. Retries that wait for a lease to lapse (20 s) go onto a workflow
// timer past the threshold instead of holding the workflow task.
const { sendAttempt: sendAttemptLocally } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  localRetryThreshold: '10 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', nonRetryableErrorTypes: ['MessageNotFound'] },
});

// Outcomes the send activity could not report or record, and what ends without an attempt
// (expiries, the final state after them, a cancellation): short steps, retried until the
// database and the server answer, and regular rather than local
// activities, since a local activity runs inside a workflow task and a task held across a long
// timer skip (the time-skipping test server, a paused worker) expires.
const { notifyReputation, recordDeliveryState, recordAttemptLog, recordDeferrals } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

const OPEN_STATES: readonly RecipientState[] = ['pending', 'retrying'];
const isOpen = (r: RecipientStatus): boolean => OPEN_STATES.includes(r.state);

/** Recipients that share a schedule. */
interface Group {
  plan: SchedulePlan;
  members: RecipientStatus[];
  deadlineMs: number;
  attemptsMade: number;
  /** When the group is due; the workflow start for the first attempt. */
  dueAtMs: number;
  /** The planned next attempt while the group waits, for the status query. */
  nextAtMs: number | null;
}

/** The plans of an input; inputs written before per-domain policies carry one schedule. */
function plansOf(input: DeliveryInput): SchedulePlan[] {
  if (input.plans && input.plans.length > 0) return input.plans;
  return [{ recipients: input.recipients, schedule: input.schedule, profile: input.profile, source: input.profile === 'custom' ? 'message' : 'default', rule: null }];
}

export async function deliveryWorkflow(input: DeliveryInput): Promise<DeliveryStatus> {
  const info = workflowInfo();
  const startMs = info.startTime.getTime();
  const iso = (ms: number) => new Date(ms).toISOString();
  const plans = plansOf(input);
  const recipients: RecipientStatus[] = input.recipients.map((address) => {
    const plan = plans.find((p) => p.recipients.includes(address)) ?? plans[0];
    return {
      address,
      state: 'pending',
      attempts: 0,
      schedule: { profile: plan.profile, source: plan.source, rule: plan.rule, delaysMs: [...plan.schedule.delaysMs], deadline: iso(startMs + plan.schedule.deadlineMs) },
      nextAttemptAt: null,
      lastReply: null,
      firstAttemptAt: null,
      lastAttemptAt: null,
      finishedAt: null,
    };
  });
  const groups: Group[] = plans.map((plan) => ({
    plan,
    members: recipients.filter((r) => (plans.find((p) => p.recipients.includes(r.address)) ?? plans[0]) === plan),
    deadlineMs: startMs + plan.schedule.deadlineMs,
    attemptsMade: 0,
    dueAtMs: startMs,
    nextAtMs: null,
  }));
  const deadlineMs = Math.max(...groups.map((g) => g.deadlineMs));
  let state: MessageState = 'queued';
  let attempts = 0;
  let nextAttemptAt: number | null = null;
  let retryNowRequested = false;
  /** The soft replies' categories behind the coming wait, to name its timer. */
  let waitReasons: SoftCategory[] = [];
  // One patch marks runs started since local attempts, and stands for the patches before it:
  // each patch a run asks costs it two history events (its marker and an upsert of
  // TemporalChangeVersion), so a new run asks one (README "Performance"). Older runs replay
  // the markers they recorded.
  const sinceLocalAttempts = patched('local-attempts');
  // Runs since then write each first soft bounce's webhook event once its next attempt is
  // planned, so the event can say when (README "Webhooks"); older runs replay as they were
  // recorded, their send activity writing it without the time.
  const deferralsAfterPlan = sinceLocalAttempts || patched('deferred-events-after-plan');
  // They send as a local activity unless their client asked for activity tasks (REBOUND_ATTEMPTS).
  const send = sinceLocalAttempts && input.attemptAs !== 'activity' ? sendAttemptLocally : sendAttempt;
  /** Recipients whose first soft bounce came in the last attempt, when a webhook wants to hear of it. */
  let firstSoftBounces: RecipientStatus[] = [];
  const bounceCategories = new Set<string>();
  /** Per open recipient, the soft reply its expiry would be judged by (src/reputation/blame.ts). */
  const deciding = new Map<string, ClassifiedReply>();

  const groupOf = (r: RecipientStatus): Group => groups.find((g) => g.members.includes(r))!;
  const snapshot = (): DeliveryStatus => ({
    messageId: input.messageId,
    workflowId: info.workflowId,
    state,
    profile: input.profile,
    createdAt: iso(startMs),
    deadline: iso(deadlineMs),
    attempts,
    nextAttemptAt: nextAttemptAt === null ? null : iso(nextAttemptAt),
    recipients: recipients.map((r) => {
      const next = isOpen(r) ? groupOf(r).nextAtMs : null;
      return { ...r, nextAttemptAt: next === null ? null : iso(next) };
    }),
  });
  setHandler(statusQuery, snapshot);
  setHandler(retryNowSignal, () => {
    retryNowRequested = true;
  });
  // Runs started with this code hear reports that come after a recipient's 250 (README "Late
  // outcomes") and show them in `status`; older runs replay as recorded, and their late
  // outcomes are merged in from PostgreSQL by whoever reads the status.
  if (sinceLocalAttempts || patched('late-outcomes')) {
    setHandler(lateOutcomeSignal, (outcome) => {
      const r = recipients.find((x) => x.address === outcome.recipient);
      // The same object stays in its group: only its fields change.
      if (r) Object.assign(r, withLateOutcome(r, outcome));
    });
  }

  const open = () => recipients.filter(isOpen);
  const openOf = (g: Group) => g.members.filter(isOpen);
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

  const applyReply = (r: RecipientStatus, reply: AttemptReply, deferralsWanted: boolean) => {
    const { address: _, alreadyAccepted: __, ...rest } = reply;
    if (deferralsWanted && reply.kind === 'soft' && r.state === 'pending') firstSoftBounces.push(r);
    // Results recorded before scopes existed carry none: derive it (pure, deterministic).
    const lastReply: ClassifiedReply = { ...rest, scope: replyScope(rest) };
    r.attempts += 1;
    r.lastReply = lastReply;
    r.lastAttemptAt = now();
    r.firstAttemptAt ??= r.lastAttemptAt;
    if (reply.kind !== 'delivered') bounceCategories.add(reply.category);
    const next = recipientStateAfter(reply);
    if (next !== 'retrying') finish(r, next);
    else {
      r.state = 'retrying';
      deciding.set(r.address, decidingReply(deciding.get(r.address) ?? null, lastReply));
    }
    // A late bounce heard before this reply's 250 was recorded here (the report overtook it).
    if (next === 'delivered') for (const o of r.lateOutcomes ?? []) Object.assign(r, withLateOutcome(r, o));
  };

  /** One attempt of the due groups: the activity skips suppressed recipients and sends to the rest. */
  const attempt = async (due: Group[]): Promise<{ softReplies: AttemptReply[]; finalState: MessageState | null }> => {
    attempts += 1;
    state = 'sending';
    nextAttemptAt = null;
    const pending = due.flatMap(openOf);
    for (const g of due) {
      g.attemptsMade += 1;
      g.nextAtMs = null;
    }
    // The summary names the activity in the Temporal UI's timeline; it is user metadata, which
    // replay does not compare, so runs recorded without it replay unchanged.
    const result = await send.executeWithOptions({ summary: attemptSummary(attempts, pending.length) }, [
      {
        messageId: input.messageId,
        attempt: attempts,
        recipients: pending.map((r) => r.address),
        progress: {
          recipientsTotal: recipients.length,
          deliveredBefore: recipients.filter((r) => r.state === 'delivered').length,
          openElsewhere: open().length - pending.length,
        },
        ...(deferralsAfterPlan ? { deferralsAfterPlan: true } : {}),
      },
    ]);
    for (const s of result.suppressed) {
      const r = pending.find((p) => p.address === s.address);
      if (!r) continue;
      finish(r, 'suppressed');
      r.suppressionReason = s.reason;
    }
    for (const reply of result.replies) {
      const r = pending.find((x) => x.address === reply.address);
      if (r && isOpen(r)) applyReply(r, reply, result.deferralsWanted === true);
    }
    // The attempt log the activity could not write: its replies are in this history, so the
    // transaction is never repeated; the log is written before anything reads it again.
    if (result.unrecorded) await recordAttemptLog.executeWithOptions({ summary: `record attempt ${attempts} (PostgreSQL was away)` }, [result.unrecorded]);
    if (result.unreported.length > 0) await notifyReputation.executeWithOptions({ summary: 'tell the addresses\' reputation' }, [result.unreported]);
    return { softReplies: result.replies.filter((r) => r.kind === 'soft'), finalState: result.finalState };
  };

  /** Plans each due group's next attempt; returns the recipients whose deadline has passed. */
  const planGroups = (due: Group[], softReplies: AttemptReply[]): ExpiredRecipient[] => {
    const expired: ExpiredRecipient[] = [];
    for (const g of due) {
      const members = openOf(g);
      if (members.length === 0) continue;
      const mine = softReplies.filter((s) => members.some((m) => m.address === s.address));
      // Asked only when a held-back reply is there, so runs that never meet a held site record
      // no marker and earlier histories replay unchanged (README "Traffic shaping").
      const honourHeldBackHints = mine.some((r) => r.heldBack === true) && (sinceLocalAttempts || patched('held-back-wait-hint'));
      const plan = planNextAttempt({ schedule: g.plan.schedule, attemptsMade: g.attemptsMade, startMs, nowMs: Date.now(), random: Math.random, softReplies: mine, honourHeldBackHints });
      if (plan.action === 'expire') {
        for (const r of members) {
          finish(r, 'expired');
          expired.push({ address: r.address, reply: deciding.get(r.address) ?? r.lastReply! });
        }
      } else {
        g.dueAtMs = plan.atMs;
        g.nextAtMs = plan.atMs;
      }
    }
    return expired;
  };

  /** The first soft bounces of the last attempt that still wait, with their planned next attempt. */
  const tellDeferrals = async () => {
    const deferrals: Deferral[] = firstSoftBounces
      .filter((r) => r.state === 'retrying' && groupOf(r).nextAtMs !== null)
      .map((r) => ({ address: r.address, nextAttemptAt: iso(groupOf(r).nextAtMs!), reply: r.lastReply! }));
    firstSoftBounces = [];
    if (deferrals.length > 0) await recordDeferrals.executeWithOptions({ summary: `tell webhooks: ${deferrals.length} deferred` }, [{ messageId: input.messageId, deferrals }]);
  };

  /** Runs attempts until no recipient is open; returns the final state if already recorded. */
  const deliver = async (): Promise<{ recorded: MessageState | null; expired: ExpiredRecipient[] }> => {
    for (;;) {
      const due = groups.filter((g) => openOf(g).length > 0 && g.dueAtMs <= Date.now());
      if (due.length > 0) {
        // An attempt in flight always completes and is recorded: a cancellation ends the wait
        // that follows, never an SMTP transaction halfway (its outcome would be lost).
        const { softReplies, finalState } = await CancellationScope.nonCancellable(() => attempt(due));
        if (open().length === 0) return { recorded: finalState, expired: [] };
        const expired = planGroups(due, softReplies);
        if (open().length === 0) return { recorded: null, expired };
        // Other groups go on: these expiries are recorded, and their addresses told, now.
        if (expired.length > 0) await CancellationScope.nonCancellable(() => recordDeliveryState.executeWithOptions({ summary: `record ${expired.length} expired` }, [{ messageId: input.messageId, state: null, expired }]));
        await CancellationScope.nonCancellable(() => tellDeferrals());
        waitReasons = softReplies.map((r) => r.category as SoftCategory);
        state = 'retrying';
        publish();
      }
      const waiting = groups.filter((g) => openOf(g).length > 0);
      nextAttemptAt = Math.min(...waiting.map((g) => g.dueAtMs));
      retryNowRequested = false;
      const waitMs = nextAttemptAt - Date.now();
      if (waitMs > 0) await condition(() => retryNowRequested, waitMs, { summary: waitSummary(waitMs, waitReasons) });
      if (retryNowRequested) for (const g of waiting) g.dueAtMs = Date.now();
    }
  };

  const conclude = async (final: MessageState, alreadyRecorded: boolean, expired: ExpiredRecipient[]) => {
    state = final;
    nextAttemptAt = null;
    publish();
    if (!alreadyRecorded) await recordDeliveryState.executeWithOptions({ summary: `record final state: ${state}` }, [{ messageId: input.messageId, state, ...(expired.length > 0 ? { expired } : {}) }]);
  };

  let outcome: { recorded: MessageState | null; expired: ExpiredRecipient[] };
  try {
    outcome = await deliver();
  } catch (err) {
    if (!isCancellation(err)) throw err;
    // Record the cancellation even though this scope is cancelled, then end as Cancelled so the
    // Temporal UI shows what the operator did.
    await CancellationScope.nonCancellable(async () => {
      for (const r of open()) finish(r, 'cancelled');
      await conclude('cancelled', false, []);
    });
    throw err;
  }
  const final = finalMessageState(recipients.filter((r) => r.state === 'delivered').length, recipients.length);
  // A cancel that arrived during the last attempt must not stop its outcome being recorded.
  await CancellationScope.nonCancellable(() => conclude(final, outcome.recorded === final, outcome.expired));
  return snapshot();
}
