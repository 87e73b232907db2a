// The delivery workflow's control flow (retryNow, cancel, the deadline's last attempt, a cancel
// racing the last attempt) on the time-skipping server, with stub activities written here:
// each message gets a script of replies per attempt, and every call is recorded. No PostgreSQL,
// no SMTP: the real workflow code against scripted outcomes, in seconds. About 300 lines: four
// scenarios, each with its script and its assertions on status, calls and history.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { createActivities } from '../../activities';
import {
  DELIVERY_WORKFLOW_TYPE,
  deliveryWorkflowId,
  statusQuery,
  retryNowSignal,
  type AttemptLog,
  type AttemptReply,
  type DeliveryInput,
  type DeliveryStateRecord,
  type DeliveryStatus,
  type MessageState,
  type RetrySchedule,
  type SendAttemptInput,
  type SendAttemptResult,
} from '../../src/delivery/contract';
import { registerSearchAttributes } from '../../src/dev/temporal-server';
import { temporalTestServerPath } from '../../src/dev/tools';
import type { ReputationNotice } from '../../src/reputation/contract';
import type { deliveryWorkflow } from '../../workflows/delivery';
import { localActivityType } from '../../src/delivery/attempt-events';
import { attemptOffsets, recordHistory, runDurationMs } from '../helpers/history';
import { uid, workflowBundle } from '../helpers/stack';
import { eventually } from '../helpers/wait';

type Activities = ReturnType<typeof createActivities>;
type DeliveryActivities = Pick<Activities, 'sendAttempt' | 'recordAttemptLog' | 'notifyReputation' | 'recordDeliveryState'>;

const SEC = 1_000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;
/** Real time the clock runs while a test drives the workflow with time skipping locked. */
const SLACK_MS = 5 * SEC;

/** What one message's stub activities answer and were called with. */
interface Script {
  /** The reply of attempt `input.attempt`. */
  send(input: SendAttemptInput): Promise<SendAttemptResult>;
  sends: { input: SendAttemptInput }[];
  states: DeliveryStateRecord[];
  logs: AttemptLog[];
  notices: ReputationNotice[][];
}

const scripts = new Map<string, Script>();

function scriptOf(messageId: string): Script {
  const script = scripts.get(messageId);
  if (!script) throw ApplicationFailure.nonRetryable(`no script for message ${messageId}`, 'NoScript');
  return script;
}

/** The stubs: plain async functions typed like the real activities the workflow calls. */
const stubActivities: DeliveryActivities = {
  async sendAttempt(input) {
    const script = scriptOf(input.messageId);
    // When each attempt ran is read from the history (server time, which the test server skips):
    // a local activity's own clock is the worker's.
    script.sends.push({ input });
    return script.send(input);
  },
  async recordAttemptLog(record) {
    scriptOf(record.messageId).logs.push(record);
  },
  async notifyReputation(notices) {
    // Called only for outcomes an attempt could not report (its `unreported`): none here.
    for (const n of notices) scriptOf(n.messageId).notices.push([n]);
  },
  async recordDeliveryState(record) {
    scriptOf(record.messageId).states.push(record);
  },
};

const soft = (address: string): AttemptReply => ({
  address,
  code: 452,
  enhanced: '4.2.2',
  text: 'Mailbox full',
  kind: 'soft',
  category: 'mailbox_full',
  scope: 'recipient',
  retryAfterMs: null,
});

const delivered = (address: string): AttemptReply => ({
  address,
  code: 250,
  enhanced: '2.0.0',
  text: 'OK: queued',
  kind: 'delivered',
  category: 'delivered',
  scope: 'recipient',
  retryAfterMs: null,
});

/**
 * What the real activity returns: the replies, and the final state when the attempt ended every
 * recipient (it records that state itself then); a soft reply leaves the message open.
 */
function attemptResult(replies: AttemptReply[]): SendAttemptResult {
  const finalState: MessageState | null = replies.some((r) => r.kind === 'soft') ? null : replies.every((r) => r.kind === 'delivered') ? 'delivered' : 'failed';
  return { replies, suppressed: [], unreported: [], finalState, unrecorded: null };
}

let env: TestWorkflowEnvironment;
let worker: Worker;
let running: Promise<void>;
let taskQueue: string;
const started: WorkflowHandle[] = [];

before(async () => {
  env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: temporalTestServerPath() } },
  });
  await registerSearchAttributes(env.connection, env.namespace ?? 'default');
  taskQueue = `control-${uid()}`;
  worker = await Worker.create({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue,
    workflowBundle: await workflowBundle(),
    activities: stubActivities,
  });
  running = worker.run();
});

// A run left waiting would get attempts (and time skipped to its timers) during later tests.
afterEach(async () => {
  for (const handle of started.splice(0)) {
    const { status } = await handle.describe();
    if (status.name === 'RUNNING') await handle.terminate('test over');
  }
});

after(async () => {
  worker?.shutdown();
  await running;
  await env?.teardown();
});

/** Starts a delivery of one recipient on `schedule`, answered by `send`. */
async function startDelivery(schedule: RetrySchedule, send: Script['send']) {
  const messageId = `ctl-${uid()}`;
  const to = `rcpt+${messageId}@example.test`;
  const script: Script = { send, sends: [], states: [], logs: [], notices: [] };
  scripts.set(messageId, script);
  const input: DeliveryInput = { messageId, recipients: [to], schedule, profile: 'custom' };
  const handle = await env.client.workflow.start<typeof deliveryWorkflow>(DELIVERY_WORKFLOW_TYPE, {
    taskQueue,
    workflowId: deliveryWorkflowId(messageId),
    args: [input],
  });
  started.push(handle);
  const status = () => handle.query(statusQuery);
  /** Polls the status query (time skipping locked: the clock runs in real time). */
  const until = (what: string, ok: (s: DeliveryStatus) => boolean) => eventually(what, status, ok, 10_000);
  return { messageId, to, script, handle, status, until };
}

/** Names of the history's events, for ordering assertions. */
async function eventNames(handle: WorkflowHandle): Promise<string[]> {
  const events = (await handle.fetchHistory()).events ?? [];
  return events.map((e) => {
    const local = localActivityType(e);
    if (local) return `localActivity:${local}`;
    const activity = e.activityTaskScheduledEventAttributes?.activityType?.name;
    const kind = Object.keys(e).find((k) => k.endsWith('EventAttributes') && (e as Record<string, unknown>)[k]) ?? 'unknown';
    return activity ? `${kind.replace('EventAttributes', '')}:${activity}` : kind.replace('EventAttributes', '');
  });
}

describe('delivery workflow control flow (time-skipping server, stub activities)', () => {
  test('retryNow during a wait: the next attempt happens at once, counts as one, and the schedule goes on from it', async () => {
    // Delays 1 h then 2 h: attempt 3 is 2 h after attempt 2, so the early attempt advanced the schedule.
    const d = await startDelivery({ delaysMs: [1 * HOUR, 2 * HOUR], deadlineMs: 24 * HOUR }, async (input) =>
      attemptResult(input.recipients.map((a) => (input.attempt < 3 ? soft(a) : delivered(a)))),
    );
    const waiting = await d.until('waiting after attempt 1', (s) => s.state === 'retrying' && s.attempts === 1);
    const planned = Date.parse(waiting.nextAttemptAt!) - Date.parse(waiting.recipients[0].lastAttemptAt!);
    assert.ok(planned >= 0.9 * HOUR && planned <= 1.1 * HOUR, `attempt 2 planned ${planned} ms after attempt 1`);
    assert.equal(waiting.recipients[0].nextAttemptAt, waiting.nextAttemptAt);

    await d.handle.signal(retryNowSignal);
    const retried = await d.until('attempt 2 made', (s) => s.state === 'retrying' && s.attempts === 2);
    const early = Date.parse(retried.recipients[0].lastAttemptAt!) - Date.parse(waiting.recipients[0].lastAttemptAt!);
    assert.ok(early < SLACK_MS, `attempt 2 made ${early} ms after attempt 1, not the planned ~1 h`);
    assert.equal(retried.recipients[0].attempts, 2);
    assert.equal(retried.recipients[0].state, 'retrying');
    const replanned = Date.parse(retried.nextAttemptAt!) - Date.parse(retried.recipients[0].lastAttemptAt!);
    assert.ok(replanned >= 1.8 * HOUR && replanned <= 2.2 * HOUR, `attempt 3 planned ${replanned} ms after attempt 2 (the second delay, 2 h)`);
    assert.deepEqual(d.script.sends.map((s) => s.input.attempt), [1, 2]);
    const soFar = await attemptOffsets(d.handle);
    assert.ok(soFar[1] - soFar[0] < SLACK_MS, 'attempt 2 ran at once');

    const final = await d.handle.result();
    assert.equal(final.state, 'delivered');
    assert.equal(final.attempts, 3);
    assert.equal(final.recipients[0].state, 'delivered');
    const offsets = await attemptOffsets(d.handle);
    assert.equal(offsets.length, 3);
    assert.ok(offsets[1] - offsets[0] < SLACK_MS, `history: attempt 2 at +${offsets[1] - offsets[0]} ms`);
    assert.ok(offsets[2] - offsets[1] >= 1.8 * HOUR && offsets[2] - offsets[1] <= 2.2 * HOUR + SLACK_MS, `history: attempt 3 ${offsets[2] - offsets[1]} ms after attempt 2`);
    assert.deepEqual(d.script.states, [], 'the delivering attempt recorded the final state itself');
    assert.deepEqual([d.script.logs, d.script.notices], [[], []]);
  });

  test('cancel during a wait: the wait ends, no further attempt, `cancelled` recorded, the run ends Cancelled', async () => {
    const d = await startDelivery({ delaysMs: [1 * HOUR], deadlineMs: 24 * HOUR }, async (input) => attemptResult(input.recipients.map(soft)));
    await d.until('waiting after attempt 1', (s) => s.state === 'retrying' && s.attempts === 1);
    await d.handle.cancel();
    await assert.rejects(d.handle.result(), (err: unknown) => err instanceof WorkflowFailedError && err.cause instanceof CancelledFailure);

    assert.equal(d.script.sends.length, 1, 'no attempt after the cancel');
    assert.deepEqual(d.script.states, [{ messageId: d.messageId, state: 'cancelled' }]);
    const description = await d.handle.describe();
    assert.equal(description.status.name, 'CANCELLED');
    assert.equal((await attemptOffsets(d.handle)).length, 1);
    assert.ok((await runDurationMs(d.handle)) < SLACK_MS, 'the run ended at the cancel, not at the planned attempt an hour later');
    const names = await eventNames(d.handle);
    assert.ok(names.includes('timerCanceled'), `the wait's timer is cancelled: ${names.join(', ')}`);
    assert.equal(names.filter((n) => n === 'activityTaskScheduled:recordDeliveryState').length, 1);
    assert.equal(names.filter((n) => n === 'localActivity:sendAttempt').length, 1, 'the attempt, local');
    assert.equal(names.filter((n) => n === 'activityTaskCompleted').length, 1, 'the recorded state');
    const ended = await d.status();
    assert.equal(ended.state, 'cancelled');
    assert.equal(ended.recipients[0].state, 'cancelled');
    assert.equal(ended.nextAttemptAt, null);
    assert.equal(ended.recipients[0].nextAttemptAt, null);
  });

  test('the deadline: a recipient that keeps soft-bouncing gets its last attempt exactly at the deadline, then expires', async () => {
    // 1 min delays (+-10%), 90 s deadline: attempts at 0, 54-66 s, and 90 s (54 + 54 > 90).
    const d = await startDelivery({ delaysMs: [1 * MIN], deadlineMs: 90 * SEC }, async (input) => attemptResult(input.recipients.map(soft)));
    await d.until('waiting after attempt 1', (s) => s.state === 'retrying' && s.attempts === 1);
    // Skip past attempt 2 (at most 66 s) but not to the deadline, and look at the plan.
    await env.sleep(70 * SEC);
    const beforeLast = await d.status();
    assert.equal(beforeLast.attempts, 2);
    assert.equal(beforeLast.state, 'retrying');
    assert.equal(Date.parse(beforeLast.deadline) - Date.parse(beforeLast.createdAt), 90 * SEC);
    assert.equal(beforeLast.nextAttemptAt, beforeLast.deadline, 'the last attempt is planned at the deadline itself');
    assert.equal(beforeLast.recipients[0].nextAttemptAt, beforeLast.deadline);

    const final = await d.handle.result();
    assert.equal(final.state, 'failed');
    assert.equal(final.attempts, 3);
    assert.equal(final.recipients[0].state, 'expired');
    assert.equal(final.recipients[0].attempts, 3);
    assert.equal(final.recipients[0].lastReply?.category, 'mailbox_full');
    const deadline = Date.parse(final.deadline);
    const last = Date.parse(final.createdAt) + (await attemptOffsets(d.handle)).at(-1)!;
    assert.ok(last >= deadline && last - deadline < SEC, `last attempt ${last - deadline} ms after the deadline`);
    assert.ok(Date.parse(final.recipients[0].lastAttemptAt!) >= deadline);
    const offsets = await attemptOffsets(d.handle);
    assert.equal(offsets.length, 3);
    assert.ok(offsets[1] >= 54 * SEC && offsets[1] <= 66 * SEC + SLACK_MS, `attempt 2 at ${offsets[1]} ms`);
    assert.ok(offsets[2] >= 90 * SEC && offsets[2] < 90 * SEC + SEC, `history: attempt 3 at ${offsets[2]} ms, deadline 90000 ms`);
    assert.ok((await runDurationMs(d.handle)) < 90 * SEC + SEC, 'nothing after the last attempt');
    // The expiry and the final state in one record.
    assert.equal(d.script.states.length, 1);
    const [record] = d.script.states;
    assert.equal(record.state, 'failed');
    assert.deepEqual(record.expired?.map((e) => [e.address, e.reply.kind, e.reply.category, e.reply.code]), [[d.to, 'soft', 'mailbox_full', 452]]);
    await recordHistory(d.handle, 'last-attempt-at-deadline');
  });

  test('a recipient held back at a throttled site comes back at the wait hint, not the schedule\'s longer delay', async () => {
    // What the send activity returns when the site's pace slot is 20 s away (README "Traffic
    // shaping"): Rebound's own deferral, no SMTP code, heldBack. The schedule's first delay is
    // 5 min; a receiver's "try again in 20 seconds" would still wait the 5 min.
    const throttled = (address: string): AttemptReply => ({
      address,
      code: null,
      enhanced: null,
      text: 'site mx.example.test throttled to 60 per minute; try again in 20 seconds',
      kind: 'soft',
      category: 'network_error',
      scope: 'destination',
      retryAfterMs: 20 * SEC,
      heldBack: true,
    });
    const receiverHint = (address: string): AttemptReply => ({ ...throttled(address), code: 451, enhanced: '4.7.1', text: 'Try again in 20 seconds', heldBack: undefined });
    const d = await startDelivery({ delaysMs: [5 * MIN], deadlineMs: 1 * HOUR }, async (input) =>
      attemptResult(input.recipients.map((a) => (input.attempt === 1 ? throttled(a) : input.attempt === 2 ? receiverHint(a) : delivered(a)))),
    );
    const final = await d.handle.result();
    assert.equal(final.state, 'delivered');
    assert.deepEqual(d.script.sends.map((s) => s.input.attempt), [1, 2, 3]);
    const offsets = await attemptOffsets(d.handle);
    const held = offsets[1] - offsets[0];
    assert.ok(held >= 20 * SEC && held < 20 * SEC + SLACK_MS, `attempt 2 scheduled ${held} ms after the held-back attempt: the hint alone`);
    const receiver = offsets[2] - offsets[1];
    assert.ok(receiver >= 4.5 * MIN, `attempt 3 scheduled ${receiver} ms after a receiver's 20 s hint: the schedule's delay still wins there`);
    const patches = ((await d.handle.fetchHistory()).events ?? [])
      .filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch')
      .map((e) => Object.values(e.markerRecordedEventAttributes!.details ?? {}).flatMap((d) => (d.payloads ?? []).map((p) => Buffer.from(p.data ?? []).toString('utf8'))).join(' '));
    // Runs since local attempts ask one patch, which stands for the held-back one too (workflows/delivery.ts).
    assert.ok(patches.some((p) => p.includes('local-attempts')), `the held-back plan is behind a patch marker: ${patches.join(', ')}`);
    await recordHistory(d.handle, 'held-back-wait-hint');
  });

  test('a cancel that arrives during the last attempt, which ends in expire: the conclusion still runs and the run completes', async () => {
    let lastStarted!: () => void;
    const lastAttemptRunning = new Promise<void>((resolve) => (lastStarted = resolve));
    let release!: () => void;
    const cancelSent = new Promise<void>((resolve) => (release = resolve));
    const d = await startDelivery({ delaysMs: [1 * MIN], deadlineMs: 90 * SEC }, async (input) => {
      if (input.attempt === 3) {
        lastStarted();
        await cancelSent;
      }
      return attemptResult(input.recipients.map(soft));
    });
    await d.until('waiting after attempt 1', (s) => s.state === 'retrying' && s.attempts === 1);
    // The only result() in flight: it lets time skip to the last attempt, which then holds it.
    const result = d.handle.result().then(
      (value) => ({ value, error: null }),
      (error: unknown) => ({ value: null, error }),
    );
    // Fails rather than hangs if the run ends without a third attempt.
    await Promise.race([lastAttemptRunning, result.then((r) => Promise.reject(new Error(`the run ended before attempt 3: ${JSON.stringify(r.value ?? String(r.error))}`)))]);
    await d.handle.cancel();
    // The workflow has taken the cancel in (a task completed after the request) before the attempt ends.
    await eventually('cancel seen by the workflow', () => eventNames(d.handle), (n) => n.lastIndexOf('workflowTaskCompleted') > n.indexOf('workflowExecutionCancelRequested') && n.includes('workflowExecutionCancelRequested'));
    release();
    const { value: final, error } = await result;

    assert.equal(error, null, `the run completes: ${error}`);
    assert.equal(final!.state, 'failed');
    assert.equal(final!.recipients[0].state, 'expired', 'the attempt in flight decided the outcome, not the cancel');
    assert.equal(final!.attempts, 3);
    assert.equal(d.script.sends.length, 3);
    assert.equal(d.script.states.length, 1, 'the final state recorded');
    assert.equal(d.script.states[0].state, 'failed');
    assert.deepEqual(d.script.states[0].expired?.map((e) => e.address), [d.to]);
    assert.equal((await d.handle.describe()).status.name, 'COMPLETED');

    const names = await eventNames(d.handle);
    const cancelAt = names.indexOf('workflowExecutionCancelRequested');
    const sends = names.flatMap((n, i) => (n === 'localActivity:sendAttempt' ? [i] : []));
    const recordAt = names.indexOf('activityTaskScheduled:recordDeliveryState');
    assert.equal(sends.length, 3);
    // A local attempt's marker is written when it ends, after the cancel it outlived.
    assert.ok(cancelAt < sends[2] && sends[2] < recordAt, `cancel requested during attempt 3, the state recorded after it: ${names.join(', ')}`);
    assert.ok(!names.includes('activityTaskCancelRequested'), 'no activity was asked to stop');
    assert.equal(names.filter((n) => n === 'activityTaskCompleted').length, 1, 'the recorded state completed (the attempts are local)');
    assert.equal(names[names.length - 1], 'workflowExecutionCompleted');
    const deadline = Date.parse(final!.deadline);
    const lastAt = Date.parse(final!.createdAt) + (await attemptOffsets(d.handle))[2]!;
    assert.ok(lastAt >= deadline, 'the last attempt was the deadline one');
    await recordHistory(d.handle, 'cancel-during-last-attempt');
  });
});
