// Address reputation and suppression (README "Reputation and suppression") on the time-skipping server, with real
// delivery workflows, the real SMTP simulator and PostgreSQL.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { WorkflowNotFoundError } from '@temporalio/client';
import { reputationWorkflowId, reputationQuery, type ReputationView } from '../../src/reputation/contract';
import { recordHistory } from '../helpers/history';
import { startTimeSkippingStack, testAddress, testMessage, uid, type TimeSkippingStack } from '../helpers/stack';
import { eventually, reportOutcome } from '../helpers/wait';

const DAY_MS = 24 * 60 * 60 * 1000;

let stack: TimeSkippingStack;
before(async () => {
  stack = await startTimeSkippingStack();
});
after(async () => {
  await stack?.teardown();
});

const addr = testAddress;
const message = testMessage;

function reputation(address: string): Promise<ReputationView> {
  return stack.env.client.workflow.getHandle(reputationWorkflowId(address)).query(reputationQuery);
}

/**
 * Keeps a delivery waiting on an hourly timer while `fn` runs. When every workflow is idle the
 * test server skips straight to the next timer, also in the moment between a result() returning
 * and time being locked again: without a near timer that jump can be a reputation workflow's
 * 30-day idle close or its 180-day expiry.
 */
async function withKeeper<T>(fn: () => Promise<T>): Promise<T> {
  const { messageId } = await stack.rebound.send(message([addr('full', `keeper-${uid()}`)], { delays: ['1h'], deadline: '30d' }));
  try {
    return await fn();
  } finally {
    await stack.rebound.cancel(messageId);
  }
}

function smtpTransactions(address: string): number {
  return stack.sink.transactions().filter((t) => t.rcpt.some((r) => r.address === address)).length;
}

describe('reputation and suppression (time-skipping server)', () => {
  test('five sends that expire on a full mailbox suppress the address at the fifth; a send still retrying counts nothing', async () => {
    const tag = uid();
    const to = addr('full', tag);
    await withKeeper(async () => {
      const rebound = stack.rebound;
      for (let i = 1; i <= 4; i++) {
        const final = await rebound.result((await rebound.send(message([to], { id: `rep5-${tag}-${i}`, profile: 'urgent' }))).messageId);
        assert.equal(final.recipients[0].state, 'expired');
        await eventually(`send ${i} counted`, () => reputation(to), (v) => v.consecutiveSoftBounces === i);
      }
      // Started by the expiry that followed a suppression check at once, the workflow reads nothing.
      const history = await stack.env.client.workflow.getHandle(reputationWorkflowId(to)).fetchHistory();
      const scheduled = (history.events ?? []).map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name).filter(Boolean);
      assert.ok(!scheduled.includes('loadSuppression'), `no loadSuppression activity, got ${scheduled.join(', ')}`);
      assert.equal((await rebound.suppressions.check(to)).suppressed, false, 'not suppressed after four failed sends');

      // A fifth send soft-bounces: while it retries, nothing counts.
      const { messageId: fifth } = await rebound.send(message([to], { id: `rep5-${tag}-5`, profile: 'urgent' }));
      await eventually('fifth retrying', () => rebound.status(fifth), (s) => s.state === 'retrying');
      assert.equal((await reputation(to)).consecutiveSoftBounces, 4);
      await rebound.result(fifth);
      const view = await eventually('suppressed', () => reputation(to), (v) => v.suppressed);
      assert.equal(view.reason, 'soft_bounce_threshold');
      assert.ok(view.recent.filter((e) => e.type === 'softBounced').every((e) => e.counted === true && e.scope === 'recipient'));
      await recordHistory(stack.env.client.workflow.getHandle(reputationWorkflowId(to)), 'reputation-expired-sends-threshold');
      // The workflow decides first and writes the row with an activity right after.
      const check = await eventually('the suppression row written', () => rebound.suppressions.check(to), (c) => c.suppressed);
      assert.deepEqual([check.suppressed, check.reason, check.source, check.category], [true, 'soft_bounce_threshold', 'auto', 'mailbox_full']);
      assert.ok(Math.abs(Date.parse(check.until!) - Date.parse(check.since!) - 180 * DAY_MS) < 1000, 'expires after 180 days');

      // A new message to the suppressed address ends suppressed without an SMTP attempt.
      const attemptsSoFar = smtpTransactions(to);
      const sixth = await rebound.result((await rebound.send(message([to]))).messageId);
      assert.equal(sixth.recipients[0].state, 'suppressed');
      assert.equal(sixth.recipients[0].suppressionReason, 'soft_bounce_threshold');
      assert.equal(smtpTransactions(to), attemptsSoFar, 'no attempt after the suppression');
      await recordHistory(rebound.handle(sixth.messageId), 'suppressed-before-attempt');
    });
  });

  test('four soft-bouncing sends, a delivery, four more: not suppressed', async () => {
    const tag = uid();
    const to = addr('mixed', tag);
    const target = { taskQueue: stack.config.taskQueue, settings: stack.config.reputation };
    for (let i = 0; i < 4; i++) await reportOutcome(stack.env.client, target, to, 'softBounced', `a${i}`);
    await reportOutcome(stack.env.client, target, to, 'delivered', 'd');
    for (let i = 0; i < 4; i++) await reportOutcome(stack.env.client, target, to, 'softBounced', `b${i}`);
    const view = await eventually('nine events', () => reputation(to), (v) => v.totals.softBounced + v.totals.delivered === 9);
    assert.equal(view.consecutiveSoftBounces, 4);
    assert.equal(view.suppressed, false);
    assert.equal((await stack.rebound.suppressions.check(to)).suppressed, false);
  });

  test('unknown_user suppresses at once; policy_block and message_too_large never do; a suppressed address gets no attempt; the suppression lifts itself after 180 days', async () => {
    const tag = uid();
    const [gone, blocked, large] = [addr('unknown', tag), addr('blocked', tag), addr('toolarge', tag)];
    const rebound = stack.rebound;
    await withKeeper(async () => {
      for (const to of [gone, blocked, large]) await rebound.result((await rebound.send(message([to]))).messageId);
      await eventually('unknown_user suppressed', () => rebound.suppressions.check(gone), (c) => c.suppressed);
      const check = await rebound.suppressions.check(gone);
      assert.deepEqual([check.reason, check.category, check.source], ['hard_bounce', 'unknown_user', 'auto']);
      // The sender's problems never touch the address: no reputation workflow is even started.
      for (const to of [blocked, large]) {
        assert.equal((await rebound.suppressions.check(to)).suppressed, false);
        await assert.rejects(stack.env.client.workflow.getHandle(reputationWorkflowId(to)).describe(), WorkflowNotFoundError);
      }

      // A new message to the suppressed address makes no SMTP attempt.
      const before = smtpTransactions(gone);
      const final = await rebound.result((await rebound.send(message([gone]))).messageId);
      assert.equal(final.state, 'failed');
      assert.equal(final.recipients[0].state, 'suppressed');
      assert.equal(final.recipients[0].attempts, 0);
      assert.equal(smtpTransactions(gone), before);
    });

    // 180 days later (skipped time) the reputation workflow lifts it and the table says so.
    await stack.env.sleep(181 * DAY_MS);
    await eventually('lifted', () => rebound.suppressions.check(gone), (c) => !c.suppressed);
    const row = await stack.pool.query('SELECT lifted_at, lift_reason FROM suppressions WHERE address = $1', [gone]);
    assert.ok(row.rows[0].lifted_at, 'lifted_at set');
    assert.equal(row.rows[0].lift_reason, 'expired');
    assert.equal((await reputation(gone)).suppressed, false);
    await recordHistory(stack.env.client.workflow.getHandle(reputationWorkflowId(gone)), 'reputation-hard-bounce-expired');
  });
});
