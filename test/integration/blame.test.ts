// Blaming the address only for what the address did (README "Reputation and suppression"), and
// each recipient on its own domain's schedule (README "Retry policy per domain"), on the
// time-skipping server with real workflows, the real SMTP simulator and PostgreSQL. The worker
// sends to a relay this file starts and stops itself, so a relay outage is a real one.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WorkflowNotFoundError } from '@temporalio/client';
import { freePort } from '../../src/dev/temporal-server';
import { loadConfigFile } from '../../src/domains/config-file';
import { startSink, type BounceSink } from '../../src/sink';
import { reputationWorkflowId, reputationQuery, type ReputationView } from '../../src/reputation/contract';
import { attemptsWithRecipients, recordHistory } from '../helpers/history';
import { startTimeSkippingStack, testAddress, testMessage, uid, type TimeSkippingStack } from '../helpers/stack';
import { eventually } from '../helpers/wait';

const MIN = 60_000;
/** Real time an attempt takes (SMTP round trip, database) while the test server's clock runs. */
const SLACK_MS = 5_000;
const FILE_TAG = uid();
const FAST = `fast-${FILE_TAG}.test`;
const SLOW = `slow-${FILE_TAG}.test`;

let stack: TimeSkippingStack;
let relayPort: number;
let relay: BounceSink | null = null;

const startRelay = async () => {
  relay = await startSink({ port: relayPort, log: () => undefined });
};
const stopRelay = async () => {
  await relay?.close();
  relay = null;
};

before(async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rebound-config-'));
  const file = path.join(dir, 'rebound.config.json');
  writeFileSync(file, JSON.stringify({ domains: { [FAST]: { delays: ['1m'], deadline: '10m' }, [SLOW]: { delays: ['4m'], deadline: '20m' } } }));
  relayPort = await freePort();
  stack = await startTimeSkippingStack({ smtpUrl: `smtp://127.0.0.1:${relayPort}`, domains: loadConfigFile({ REBOUND_CONFIG: file }).domains });
  await startRelay();
});
after(async () => {
  await stopRelay();
  await stack?.teardown();
});

const reputation = (address: string): Promise<ReputationView> => stack.env.client.workflow.getHandle(reputationWorkflowId(address)).query(reputationQuery);
const noReputationWorkflow = (address: string) => assert.rejects(stack.env.client.workflow.getHandle(reputationWorkflowId(address)).describe(), WorkflowNotFoundError);
/**
 * Final statuses, awaited one at a time: each result() unlocks the test server's time skipping
 * and locks it again when it returns, and concurrent calls leave it locked for good.
 */
async function resultsInTurn(receipts: { messageId: string }[]) {
  const finals = [];
  for (const r of receipts) finals.push(await stack.rebound.result(r.messageId));
  return finals;
}

const sixSends = (to: string, tag: string, extra: Record<string, unknown> = {}) =>
  Promise.all(Array.from({ length: 6 }, (_, i) => stack.rebound.send(testMessage([to], { id: `${tag}-${i}`, ...extra }))));

describe('blame and per-domain schedules (time-skipping server)', () => {
  test('six sends during a relay outage suppress nobody and are delivered once the relay is back', async () => {
    const tag = uid();
    const to = testAddress('alice', tag);
    await stopRelay();
    const receipts = await sixSends(to, `outage-${tag}`);
    for (const r of receipts) {
      const status = await eventually('first attempt refused', () => stack.rebound.status(r.messageId), (s) => s.state === 'retrying');
      assert.equal(status.recipients[0].lastReply?.category, 'network_error');
      assert.equal(status.recipients[0].lastReply?.scope, 'destination');
    }
    await startRelay();
    const finals = await resultsInTurn(receipts);
    assert.deepEqual(finals.map((f) => f.state), Array(6).fill('delivered'));
    assert.ok(finals.every((f) => f.recipients[0].attempts === 2));
    assert.equal(relay!.duplicates().length, 0);
    assert.equal(relay!.received().filter((m) => m.recipients.includes(to)).length, 6, 'each message once');
    assert.equal((await stack.rebound.suppressions.check(to)).suppressed, false);
    await noReputationWorkflow(to);
    await recordHistory(stack.rebound.handle(receipts[0].messageId), 'relay-outage-then-delivered');
  });

  test('six sends rate-limited with 421 4.7.28 until their deadline suppress nobody', async () => {
    const tag = uid();
    const to = testAddress('ratelimit-ip', tag);
    const receipts = await sixSends(to, `rate-${tag}`, { profile: 'urgent' });
    const finals = await resultsInTurn(receipts);
    for (const f of finals) {
      assert.equal(f.recipients[0].state, 'expired');
      assert.deepEqual([f.recipients[0].lastReply?.category, f.recipients[0].lastReply?.scope, f.recipients[0].lastReply?.enhanced], ['rate_limited', 'sender', '4.7.28']);
    }
    assert.equal((await stack.rebound.suppressions.check(to)).suppressed, false);
    await noReputationWorkflow(to);
  });

  test('six concurrent sends to a mailbox full for its first twelve RCPTs are all delivered, the address clean', async () => {
    const tag = uid();
    const to = testAddress('full-12', tag);
    const receipts = await sixSends(to, `cleared-${tag}`);
    const finals = await resultsInTurn(receipts);
    assert.deepEqual(finals.map((f) => f.state), Array(6).fill('delivered'));
    assert.deepEqual(finals.map((f) => f.recipients[0].attempts), Array(6).fill(3), 'two full-mailbox replies each, then accepted');
    assert.equal((await stack.rebound.suppressions.check(to)).suppressed, false);
    await noReputationWorkflow(to);
  });

  test('a message to two domains follows two schedules: each recipient its own delays and deadline', async () => {
    const tag = uid();
    const fast = `full+${tag}@${FAST}`;
    const slow = `full+${tag}@${SLOW}`;
    const { messageId } = await stack.rebound.send(testMessage([fast, slow]));
    const final = await stack.rebound.result(messageId);
    const byAddress = Object.fromEntries(final.recipients.map((r) => [r.address, r]));
    assert.deepEqual([byAddress[fast].schedule.source, byAddress[fast].schedule.rule, byAddress[fast].schedule.delaysMs], ['domain', FAST, [MIN]]);
    assert.deepEqual([byAddress[slow].schedule.source, byAddress[slow].schedule.rule, byAddress[slow].schedule.delaysMs], ['domain', SLOW, [4 * MIN]]);
    assert.equal(Date.parse(byAddress[fast].schedule.deadline) - Date.parse(final.createdAt), 10 * MIN);
    assert.equal(Date.parse(final.deadline) - Date.parse(final.createdAt), 20 * MIN);
    assert.deepEqual([byAddress[fast].state, byAddress[slow].state], ['expired', 'expired']);

    const attempts = await attemptsWithRecipients(stack.rebound.handle(messageId));
    assert.deepEqual(attempts[0].recipients.sort(), [fast, slow].sort(), 'the first attempt carries both');
    for (const [address, delayMs, deadlineMs] of [[fast, MIN, 10 * MIN], [slow, 4 * MIN, 20 * MIN]] as const) {
      const offsets = attempts.filter((a) => a.recipients.includes(address)).map((a) => a.offsetMs);
      assert.equal(offsets.length, byAddress[address].attempts);
      for (let i = 1; i < offsets.length - 1; i++) {
        const gap = offsets[i] - offsets[i - 1];
        assert.ok(gap >= delayMs * 0.9 - 1 && gap <= delayMs * 1.1 + SLACK_MS, `${address}: gap ${gap} ms before attempt ${i + 1}, its schedule says ${delayMs} ms +-10%`);
      }
      assert.ok(Math.abs(offsets[offsets.length - 1] - deadlineMs) < SLACK_MS, `${address}: last attempt at ${offsets[offsets.length - 1]} ms, its deadline ${deadlineMs} ms`);
    }
    assert.ok(byAddress[fast].attempts >= 9 && byAddress[fast].attempts <= 12, `${byAddress[fast].attempts} attempts to the 1-minute domain`);
    assert.ok(byAddress[slow].attempts >= 5 && byAddress[slow].attempts <= 7, `${byAddress[slow].attempts} attempts to the 4-minute domain`);
    // The first recipient's expiry, while the other still retried, was told to its address.
    const view = await eventually('fast expiry counted', () => reputation(fast), (v) => v.consecutiveSoftBounces === 1);
    assert.equal(view.suppressed, false);
    await eventually('slow expiry counted', () => reputation(slow), (v) => v.consecutiveSoftBounces === 1);
    await recordHistory(stack.rebound.handle(messageId), 'two-domain-schedules');
  });
});
