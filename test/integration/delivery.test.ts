// The delivery workflow on the time-skipping server, with real activities against the real
// SMTP simulator and PostgreSQL.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PROFILES } from '../../src/delivery/schedule';
import { WorkflowNotFoundError } from '@temporalio/client';
import { attemptOffsets, recordHistory, runDurationMs } from '../helpers/history';
import { startTimeSkippingStack, testAddress, testMessage, uid, type TimeSkippingStack } from '../helpers/stack';
import { eventually } from '../helpers/wait';

const MIN = 60_000;
const HOUR = 60 * MIN;
/** Real time an attempt takes (SMTP round trip, database) while the test server's clock runs. */
const SLACK_MS = 5_000;

let stack: TimeSkippingStack;
before(async () => {
  stack = await startTimeSkippingStack();
});
after(async () => {
  await stack?.teardown();
});

const addr = testAddress;
const message = testMessage;

async function dbState(id: string): Promise<string> {
  const res = await stack.pool.query('SELECT state FROM messages WHERE id = $1', [id]);
  return res.rows[0]?.state;
}

/** Expected bounds of each attempt's offset, given the schedule's delays with +-10% jitter. */
function assertFollowsSchedule(offsets: number[], delaysMs: number[], deadlineMs: number): void {
  for (let i = 1; i < offsets.length; i++) {
    const gap = offsets[i] - offsets[i - 1];
    const delay = delaysMs[Math.min(i - 1, delaysMs.length - 1)];
    const isLast = i === offsets.length - 1;
    if (isLast && offsets[i] >= deadlineMs - SLACK_MS) continue; // the final attempt at the deadline
    assert.ok(gap >= delay * 0.9 - 1 && gap <= delay * 1.1 + SLACK_MS, `gap before attempt ${i + 1} is ${gap} ms, schedule says ${delay} ms +-10%`);
  }
}

describe('delivery workflow (time-skipping server)', () => {
  test('standard profile: a recipient that always soft-bounces follows the whole schedule and expires at 72 h', async () => {
    const tag = uid();
    const to = addr('full', tag);
    const rebound = stack.rebound;
    const { messageId } = await rebound.send(message([to], { id: `standard-${tag}` }));
    const final = await rebound.result(messageId);
    assert.equal(final.state, 'failed');
    assert.equal(final.recipients[0].state, 'expired');
    assert.equal(final.recipients[0].lastReply?.category, 'mailbox_full');

    const handle = rebound.handle(messageId);
    const offsets = await attemptOffsets(handle);
    const { delaysMs, deadlineMs } = PROFILES.standard;
    assertFollowsSchedule(offsets, delaysMs, deadlineMs);
    assert.equal(offsets[0] < SLACK_MS, true, 'first attempt at once');
    // 5m, 15m, 1h, 4h, then 4h repeating: with +-10% jitter that is 20 to 23 attempts.
    assert.ok(offsets.length >= 20 && offsets.length <= 23, `${offsets.length} attempts`);
    const last = offsets[offsets.length - 1];
    assert.ok(Math.abs(last - deadlineMs) < SLACK_MS, `last attempt at ${last} ms, deadline ${deadlineMs} ms`);
    assert.equal(final.attempts, offsets.length);
    assert.equal(final.recipients[0].attempts, offsets.length);
    assert.ok((await runDurationMs(handle)) < deadlineMs + SLACK_MS, 'nothing happens after the deadline');
    assert.equal(stack.sink.received().filter((m) => m.recipients.includes(to)).length, 0);
    assert.equal(await dbState(messageId), 'failed');
    const log = await stack.pool.query('SELECT count(*)::int AS n FROM attempts WHERE message_id = $1', [messageId]);
    assert.equal(log.rows[0].n, offsets.length, 'every attempt is in the attempt log');
    await recordHistory(handle, 'standard-always-soft');
  });

  test('urgent profile ends at 15 minutes', async () => {
    const tag = uid();
    const rebound = stack.rebound;
    const { messageId } = await rebound.send(message([addr('full', tag)], { profile: 'urgent' }));
    const final = await rebound.result(messageId);
    assert.equal(final.recipients[0].state, 'expired');
    const offsets = await attemptOffsets(rebound.handle(messageId));
    assertFollowsSchedule(offsets, PROFILES.urgent.delaysMs, 15 * MIN);
    assert.ok(Math.abs(offsets[offsets.length - 1] - 15 * MIN) < SLACK_MS, `last attempt at ${offsets[offsets.length - 1]} ms`);
    assert.ok(Date.parse(final.deadline) - Date.parse(final.createdAt) === 15 * MIN);
  });

  test('greylisting: delivered on the second attempt, after the hinted wait rather than the 5 minute delay', async () => {
    const tag = uid();
    const to = addr('greylist-120', tag);
    const rebound = stack.rebound;
    const { messageId } = await rebound.send(message([to]));
    const final = await rebound.result(messageId);
    assert.equal(final.state, 'delivered');
    assert.equal(final.recipients[0].attempts, 2);
    const [first, second] = await attemptOffsets(rebound.handle(messageId));
    const gap = second - first;
    assert.ok(gap >= 120_000 && gap <= 120_000 + 60_000 + SLACK_MS, `second attempt ${gap} ms after the first; hint was 120 s`);
    assert.equal(stack.sink.received().filter((m) => m.recipients.includes(to)).length, 1);
    await recordHistory(rebound.handle(messageId), 'greylisted-then-delivered');
  });

  test('a hard bounce makes exactly one attempt', async () => {
    const tag = uid();
    const to = addr('unknown', tag);
    const rebound = stack.rebound;
    const { messageId } = await rebound.send(message([to]));
    const final = await rebound.result(messageId);
    assert.equal(final.state, 'failed');
    assert.equal(final.attempts, 1);
    assert.equal(final.recipients[0].state, 'bounced');
    assert.equal(final.recipients[0].lastReply?.category, 'unknown_user');
    assert.equal(final.recipients[0].lastReply?.code, 550);
    assert.equal(final.recipients[0].lastReply?.enhanced, '5.1.1');
    const tries = stack.sink.transactions().filter((t) => t.rcpt.some((r) => r.address === to));
    assert.equal(tries.length, 1, 'the simulator saw one transaction');
  });

  test('three recipients with three outcomes end partially_delivered', async () => {
    const tag = uid();
    const [ok, gone, full] = [addr('alice', tag), addr('unknown', tag), addr('full', tag)];
    const rebound = stack.rebound;
    const { messageId } = await rebound.send(message([ok, gone], { cc: [full], profile: 'urgent' }));
    const final = await rebound.result(messageId);
    assert.equal(final.state, 'partially_delivered');
    const byAddress = Object.fromEntries(final.recipients.map((r) => [r.address, r]));
    assert.equal(byAddress[ok].state, 'delivered');
    assert.equal(byAddress[ok].attempts, 1);
    assert.equal(byAddress[gone].state, 'bounced');
    assert.equal(byAddress[gone].attempts, 1);
    assert.equal(byAddress[full].state, 'expired');
    assert.ok(byAddress[full].attempts > 1);
    // Later attempts went to the pending recipient only.
    assert.equal(stack.sink.deliveries(await messageIdHeader(messageId), ok), 1);
    await recordHistory(rebound.handle(messageId), 'three-outcomes');
  });

  test('retryNow ends the current wait at once', async () => {
    const tag = uid();
    const rebound = stack.rebound;
    const { messageId } = await rebound.send(message([addr('soft-1', tag)]));
    await eventually('retrying', () => rebound.status(messageId), (s) => s.state === 'retrying', 10_000);
    const waiting = await rebound.status(messageId);
    assert.ok(waiting.nextAttemptAt, 'a next attempt is scheduled');
    await rebound.retryNow(messageId);
    const final = await rebound.result(messageId);
    assert.equal(final.state, 'delivered');
    const [first, second] = await attemptOffsets(rebound.handle(messageId));
    assert.ok(second - first < 60_000, `second attempt ${second - first} ms after the first, not the scheduled ~5 min`);
    await recordHistory(rebound.handle(messageId), 'retry-now');
  });

  test('cancel ends a retrying delivery: open recipients cancelled, state recorded', async () => {
    const tag = uid();
    const rebound = stack.rebound;
    const { messageId } = await rebound.send(message([addr('full', tag)]));
    await eventually('retrying', () => rebound.status(messageId), (s) => s.state === 'retrying', 10_000);
    await rebound.cancel(messageId);
    const final = await rebound.result(messageId);
    assert.equal(final.state, 'cancelled');
    assert.equal(final.recipients[0].state, 'cancelled');
    assert.equal(await dbState(messageId), 'cancelled');
    const description = await rebound.handle(messageId).describe();
    assert.equal(description.status.name, 'CANCELLED');
    await recordHistory(rebound.handle(messageId), 'cancelled');
  });

  test('the same id twice starts one workflow and delivers once', async () => {
    const tag = uid();
    const to = addr('carol', tag);
    const rebound = stack.rebound;
    const first = await rebound.send(message([to], { id: `dup-${tag}` }));
    const second = await rebound.send(message([to], { id: `dup-${tag}` }));
    assert.equal(first.created, true);
    assert.equal(second.created, false);
    await rebound.result(first.messageId);
    const third = await rebound.send(message([to], { id: `dup-${tag}` }));
    assert.equal(third.created, false, 'a finished delivery is not started again');
    assert.equal(stack.sink.deliveries(await messageIdHeader(first.messageId), to), 1);
    await assert.rejects(rebound.send(message([to], { id: `dup-${tag}`, subject: 'something else' })), (err: Error & { field?: string }) => err.field === 'id');
  });

  test('invalid input starts nothing and names the field', async () => {
    const tag = uid();
    const rebound = stack.rebound;
    await assert.rejects(rebound.send(message(['not-an-address'], { id: `bad-${tag}` })), (err: Error & { field?: string }) => err.field === 'to[0]');
    const stored = await stack.pool.query('SELECT 1 FROM messages WHERE id = $1', [`bad-${tag}`]);
    assert.equal(stored.rowCount, 0);
    await assert.rejects(rebound.handle(`bad-${tag}`).describe(), WorkflowNotFoundError);
  });
});

async function messageIdHeader(id: string): Promise<string> {
  const res = await stack.pool.query('SELECT message_id_header FROM messages WHERE id = $1', [id]);
  return res.rows[0].message_id_header;
}
