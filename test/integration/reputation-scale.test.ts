// Reputation under concurrency and volume, on the real Temporal dev server (the time-skipping
// test server is not built for many concurrent signals to one workflow).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { WorkflowNotFoundError } from '@temporalio/client';
import { DEFAULT_CONTINUE_AS_NEW_AFTER_EVENTS } from '../../src/reputation/policy';
import { reputationWorkflowId, type ReputationEventType, reputationQuery, type ReputationView } from '../../src/reputation/contract';
import { startDevStack, type DevStack } from '../helpers/dev-stack';
import { recordHistory } from '../helpers/history';
import { uid } from '../helpers/stack';
import { eventually, reportOutcome } from '../helpers/wait';

let stack: DevStack;
before(async () => {
  // A flood of signals grows the first reputation run to thousands of events before it can
  // continue as new; replaying that on a busy 2-core machine can pass the SDK's 5 s limit per
  // workflow task, which aborts the process (README "Reliability", a flood to one address).
  stack = await startDevStack({}, { unlimitedWorkflowTasks: true });
});
after(async () => {
  await stack?.teardown();
});

const reputation = (address: string): Promise<ReputationView> => stack.client.workflow.getHandle(reputationWorkflowId(address)).query(reputationQuery);

const target = () => ({ taskQueue: stack.config.taskQueue, settings: stack.config.reputation });
const signal = (address: string, event: ReputationEventType, messageId: string) => reportOutcome(stack.client, target(), address, event, messageId);

describe('reputation at scale (dev server)', () => {
  test('fifty messages to a fresh address started at once create exactly one reputation workflow', async () => {
    const tag = uid();
    const to = `full+${tag}@example.test`;
    const receipts = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        stack.rebound.send({ id: `fifty-${tag}-${i}`, from: 'sender@rebound.test', to: [to], subject: 'Hi', text: 'Hi', delays: ['1s'], deadline: '5s' }),
      ),
    );
    const finals = await Promise.all(receipts.map((r) => stack.rebound.result(r.messageId)));
    assert.ok(finals.every((f) => f.recipients[0].state === 'suppressed' || f.recipients[0].state === 'expired'));
    // Every message that expired told the address: concurrent signal-with-starts to one new
    // workflow id. (Those whose last attempt came after the suppression ended suppressed.)
    const expired = finals.filter((f) => f.recipients[0].state === 'expired').length;
    assert.ok(expired >= 5, `${expired} messages expired`);
    const view = await eventually(`${expired} failed sends`, () => reputation(to), (v) => v.totals.softBounced === expired);
    assert.equal(view.suppressed, true, 'the fifth of them suppressed the address');
    const handle = stack.client.workflow.getHandle(reputationWorkflowId(to));
    const events = (await handle.fetchHistory()).events ?? [];
    assert.equal(events.filter((e) => e.workflowExecutionStartedEventAttributes).length, 1);
    // Signals are delivered at least once (an activity retry may repeat one); each counts once.
    assert.ok(events.filter((e) => e.workflowExecutionSignaledEventAttributes).length >= expired);
    const description = await handle.describe();
    assert.equal(description.raw.workflowExecutionInfo?.firstRunId, description.runId, 'one run, never restarted');
  });

  test('a delivery to an address that never bounced creates no reputation workflow; one to a bouncing address resets its count', async () => {
    const tag = uid();
    const fresh = `fresh+${tag}@example.test`;
    await stack.rebound.result((await stack.rebound.send({ from: 'sender@rebound.test', to: [fresh], subject: 'Hi', text: 'Hi' })).messageId);
    await assert.rejects(stack.client.workflow.getHandle(reputationWorkflowId(fresh)).describe(), WorkflowNotFoundError);

    // A send that expires on a full mailbox counts; the next send, delivered once the mailbox
    // has room (full for its first three RCPTs), resets the count.
    const bouncing = `full-3+${tag}@example.test`;
    const first = await stack.rebound.send({ from: 'sender@rebound.test', to: [bouncing], subject: 'Hi', text: 'Hi', delays: ['1s'], deadline: '2s' });
    assert.equal((await stack.rebound.result(first.messageId)).recipients[0].state, 'expired');
    await eventually('failed send counted', () => reputation(bouncing), (v) => v.consecutiveSoftBounces === 1);
    const second = await stack.rebound.send({ from: 'sender@rebound.test', to: [bouncing], subject: 'Hi', text: 'Hi', delays: ['1s'], deadline: '30s' });
    assert.equal((await stack.rebound.result(second.messageId)).state, 'delivered');
    const view = await eventually('delivery counted', () => reputation(bouncing), (v) => v.totals.delivered === 1);
    assert.equal(view.consecutiveSoftBounces, 0);
  });

  test('ten thousand events on one address: continue-as-new keeps the count and the expiry, history stays bounded', async () => {
    const to = `busy+${uid()}@example.test`;
    await signal(to, 'hardBounced', 'h0');
    const suppressed = await eventually('suppressed', () => reputation(to), (v) => v.suppressed);
    const started = Date.now();
    const MIDDLE = 9_995;
    for (let i = 0; i < MIDDLE; i += 50) {
      await Promise.all(Array.from({ length: Math.min(50, MIDDLE - i) }, (_, j) => signal(to, (i + j) % 3 === 0 ? 'delivered' : 'softBounced', `m${i + j}`)));
    }
    await signal(to, 'delivered', 'last-delivery');
    for (let i = 0; i < 3; i++) await signal(to, 'softBounced', `last-soft-${i}`);
    const view = await eventually('all 10,000 events', () => reputation(to), (v) => v.totals.delivered + v.totals.softBounced + v.totals.hardBounced === 10_000, 180_000);
    console.log(`10,000 outcome signals sent and processed in ${Date.now() - started} ms`);
    assert.equal(view.consecutiveSoftBounces, 3);
    assert.equal(view.suppressed, true);
    assert.equal(view.until, suppressed.until, 'the expiry survives continue-as-new');
    assert.equal(view.recent.length, 20);

    const handle = stack.client.workflow.getHandle(reputationWorkflowId(to));
    const description = await handle.describe();
    const info = description.raw.workflowExecutionInfo!;
    assert.notEqual(info.firstRunId, description.runId, 'it continued as new');
    assert.ok(Number(info.historyLength) < DEFAULT_CONTINUE_AS_NEW_AFTER_EVENTS + 500, `current run holds ${info.historyLength} events`);
    assert.ok(Number(info.historySizeBytes) < 4 * 1024 * 1024, `current run holds ${info.historySizeBytes} bytes`);
    // The first run: thousands of outcomes, a suppression and its timer, then continue-as-new.
    await recordHistory(stack.client.workflow.getHandle(reputationWorkflowId(to), info.firstRunId!), 'reputation-until-continue-as-new');
  });
});
