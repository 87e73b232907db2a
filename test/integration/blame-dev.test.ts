// On the real Temporal dev server (real concurrency, real time on a compressed schedule): a
// relay outage suppresses nobody, and the per-domain health equals a count made independently
// from the attempt log.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { WorkflowNotFoundError } from '@temporalio/client';
import { freePort } from '../../src/dev/temporal-server';
import { startSink, type BounceSink } from '../../src/sink';
import { reputationWorkflowId } from '../../src/reputation/contract';
import { startDevStack, type DevStack } from '../helpers/dev-stack';
import { testMessage, uid } from '../helpers/stack';
import { eventually } from '../helpers/wait';

let stack: DevStack;
let relayPort: number;
let relay: BounceSink | null = null;

before(async () => {
  relayPort = await freePort();
  relay = await startSink({ port: relayPort, log: () => undefined });
  stack = await startDevStack({ smtpUrl: `smtp://127.0.0.1:${relayPort}` });
});
after(async () => {
  await relay?.close();
  await stack?.teardown();
});

const FAST = { delays: ['1s', '2s'], deadline: '40s' };

describe('blame and domain health (dev server)', () => {
  test('six sends during a relay outage suppress nobody and are delivered once the relay is back', async () => {
    const tag = uid();
    const to = `alice+${tag}@example.test`;
    await relay!.close();
    relay = null;
    const receipts = await Promise.all(Array.from({ length: 6 }, (_, i) => stack.rebound.send(testMessage([to], { id: `dev-outage-${tag}-${i}`, ...FAST }))));
    for (const r of receipts) await eventually('refused at least once', () => stack.rebound.status(r.messageId), (s) => s.recipients[0].attempts >= 1 && s.state === 'retrying');
    relay = await startSink({ port: relayPort, log: () => undefined });
    const finals = await Promise.all(receipts.map((r) => stack.rebound.result(r.messageId)));
    assert.deepEqual(finals.map((f) => f.state), Array(6).fill('delivered'));
    assert.equal(relay.duplicates().length, 0);
    assert.equal((await stack.rebound.suppressions.check(to)).suppressed, false);
    await assert.rejects(stack.client.workflow.getHandle(reputationWorkflowId(to)).describe(), WorkflowNotFoundError);
  });

  test('`domains` numbers equal a count made independently from the attempt log', async () => {
    const tag = uid();
    const domain = `health-${tag}.test`;
    const at = (local: string) => `${local}+${tag}@${domain}`;
    const locals = ['ok1', 'ok2', 'ok3', 'greylist-1', 'soft-2', 'full', 'unknown', 'blocked', 'ratelimit-ip'];
    const receipts = await Promise.all(locals.map((l, i) => stack.rebound.send(testMessage([at(l)], { id: `health-${tag}-${i}`, delays: ['1s'], deadline: '4s' }))));
    await Promise.all(receipts.map((r) => stack.rebound.result(r.messageId)));

    const counted = await stack.pool.query(
      `SELECT count(*)::int AS attempts,
              count(DISTINCT (message_id, recipient))::int AS sends,
              count(*) FILTER (WHERE kind = 'delivered')::int AS delivered,
              count(*) FILTER (WHERE kind = 'soft')::int AS soft,
              count(*) FILTER (WHERE kind = 'soft' AND scope = 'destination')::int AS soft_destination,
              count(*) FILTER (WHERE kind = 'hard')::int AS hard
         FROM attempts WHERE split_part(recipient, '@', 2) = $1`,
      [domain],
    );
    const expired = await stack.pool.query(`SELECT count(*)::int AS n FROM expirations WHERE split_part(recipient, '@', 2) = $1`, [domain]);
    const c = counted.rows[0];
    const health = await eventually('rolled up', () => stack.rebound.domains.get(domain, { window: '1h' }), (h) => h.attempts === c.attempts && h.expired === expired.rows[0].n);
    assert.deepEqual(
      [health.attempts, health.sends, health.delivered, health.softBounces.total, health.softBounces.destination, health.hardBounces, health.expired],
      [c.attempts, c.sends, c.delivered, c.soft, c.soft_destination, c.hard, expired.rows[0].n],
    );
    assert.equal(health.sends, locals.length);
    assert.equal(health.delivered, 5, 'three at once, the greylisted and the soft-2 later');
    assert.equal(health.expired, 2, 'the full mailbox and the rate-limited sender');
    assert.equal(health.hardBounces, 2);
    assert.ok(Math.abs(health.softBounceRate - c.soft / c.attempts) < 1e-9);
    assert.ok(health.topReplies.some((r) => r.category === 'rate_limited' && r.scope === 'sender'));
    const listed = await stack.rebound.domains.list({ window: '1h', limit: 10_000 });
    assert.deepEqual(listed.find((d) => d.domain === domain)?.attempts, c.attempts);
  });
});
