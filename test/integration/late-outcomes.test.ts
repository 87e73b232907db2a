// Late outcomes end to end on real parts (README "Late outcomes"): the time-skipping Temporal
// server with the real workflows and activities, PostgreSQL, the bounce simulator as the relay
// that answers 250 and then mails a DSN or a complaint to the return path, and the real inbound
// SMTP listener in between. Nothing is stubbed: the report goes through SMTP, the parser, the
// report workflow, the reputation workflow and the outbox.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Pool } from 'pg';
import { startInboundListener, type InboundListener } from '../../src/bounces/listener';
import { storeProviderEvents, storeRawReport } from '../../src/bounces/inbox';
import { reportWorkflowId } from '../../src/bounces/contract';
import { returnPathAddress, returnPathToken, withReboundRef } from '../../src/bounces/verp';
import { loadConfig } from '../../src/config';
import { createPool } from '../../src/db/pool';
import { prepareDatabase } from '../../src/db/setup';
import { deliveryWorkflowId, statusQuery, type DeliveryStatus } from '../../src/delivery/contract';
import { buildReport, headerBlock, startSink, type BounceSink } from '../../src/sink';
import { createEndpoint, deleteEndpoint } from '../../src/webhooks/store';
import { recordHistory } from '../helpers/history';
import { failingStatements } from '../helpers/faulty-pool';
import { startTimeSkippingStack, TEST_DATABASE_URL, testAddress, testMessage, uid, type TimeSkippingStack } from '../helpers/stack';
import { eventually } from '../helpers/wait';

const BOUNCE_DOMAIN = 'bounces.test';
const SECRET = 'late-outcomes-test-secret-0123456789abcdef';

let stack: TimeSkippingStack;
let listenerPool: Pool;
/** The listener's statements to inbound_reports fail while this is above 0. */
let failStores = 0;
let listener: InboundListener;
let relay: BounceSink;
let endpointId: string;

before(async () => {
  await prepareDatabase(TEST_DATABASE_URL);
  listenerPool = createPool(TEST_DATABASE_URL);
  const inbound = { ...loadConfig({}).inbound, listen: { host: '127.0.0.1', port: 0 }, bounceDomain: BOUNCE_DOMAIN, bounceSecret: SECRET };
  // The database "down" for the listener's first store when a test asks for it.
  const faulty = failingStatements(listenerPool, /inbound_reports/, Infinity);
  const gated = new Proxy(listenerPool, {
    get(target, key, receiver) {
      if (key !== 'query') return Reflect.get(target, key, receiver);
      return (...args: unknown[]) => {
        if (failStores > 0) {
          failStores -= 1;
          return (faulty.pool.query as (...a: unknown[]) => unknown)(...args);
        }
        return (target.query as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  listener = await startInboundListener({ pool: gated, config: inbound });
  relay = await startSink({ port: 0, log: () => undefined, reportTo: `127.0.0.1:${listener.port}`, reportingHost: 'relay.test', reportRetry: { firstDelayMs: 200, maxDelayMs: 1000, giveUpAfterMs: 60_000 } });
  stack = await startTimeSkippingStack({ smtpUrl: relay.url, inbound });
  endpointId = (await createEndpoint(stack.pool, 'https://hooks.example.com/rebound', ['message.bounced', 'message.complained', 'message.delivered'])).id;
});

after(async () => {
  await deleteEndpoint(stack.pool, endpointId);
  await stack?.teardown();
  await relay?.close();
  await listener?.close();
  await listenerPool?.end();
});

async function deliveredMessage(to: string[], extra: Record<string, unknown> = {}): Promise<string> {
  const { messageId } = await stack.rebound.send(testMessage(to, extra));
  return messageId;
}

async function lateOutcomes(messageId: string) {
  return (await stack.pool.query('SELECT recipient, kind, source, category, scope, told_at FROM late_outcomes WHERE message_id = $1 ORDER BY kind', [messageId])).rows;
}

async function reportsFor(messageId: string) {
  return (await stack.pool.query('SELECT id, source, outcome, report_type, detail FROM inbound_reports WHERE message_id = $1 ORDER BY id', [messageId])).rows;
}

async function outboxEvents(messageId: string) {
  return (await stack.pool.query(`SELECT type, payload FROM webhook_events WHERE payload->'data'->>'messageId' = $1 ORDER BY type`, [messageId])).rows;
}

describe('late outcomes', () => {
  test('a relay that answers 250 and then mails a DSN: the recipient ends bounced (late), its address suppressed, message.bounced fires with late: true', async () => {
    const address = testAddress('bouncelater-0', uid());
    const messageId = await deliveredMessage([address]);
    const delivered = await stack.rebound.result(messageId);
    assert.equal(delivered.state, 'delivered');
    // The relay saw the return path, not the message's From.
    const sent = relay.received().find((r) => r.recipients.includes(address))!;
    assert.equal(sent.from, returnPathAddress(messageId, { domain: BOUNCE_DOMAIN, secret: SECRET }));

    const status = await eventually('the late bounce merged into the status', () => stack.rebound.status(messageId), (s) => s.recipients[0].late === true);
    assert.equal(status.state, 'failed');
    const r = status.recipients[0];
    assert.equal(r.state, 'bounced');
    assert.equal(r.lastReply?.category, 'unknown_user');
    assert.equal(r.lastReply?.scope, 'recipient');
    assert.deepEqual(r.lateOutcomes?.map((o) => [o.kind, o.source]), [['bounced', 'smtp']]);
    const check = await eventually('the address suppressed', () => stack.rebound.suppressions.check(address), (c) => c.suppressed);
    assert.equal(check.reason, 'hard_bounce');
    assert.deepEqual((await reportsFor(messageId)).map((x) => [x.source, x.outcome, x.report_type]), [['smtp', 'matched', 'dsn']]);
    // The recorded state follows, for what reads PostgreSQL in bulk.
    assert.equal((await stack.pool.query('SELECT state FROM messages WHERE id = $1', [messageId])).rows[0].state, 'failed');
    await eventually('the outcome told', () => lateOutcomes(messageId), (rows) => rows.length === 1 && rows[0].told_at !== null);
    const events = await outboxEvents(messageId);
    const bounced = events.find((e) => e.type === 'message.bounced');
    assert.ok(bounced, JSON.stringify(events));
    assert.equal(bounced.payload.data.late, true);
    assert.equal(bounced.payload.data.source, 'smtp');
    assert.equal(bounced.payload.data.category, 'unknown_user');
    assert.ok(events.some((e) => e.type === 'message.delivered'));
    await recordHistory(stack.env.client.workflow.getHandle(deliveryWorkflowId(messageId)), 'bounce-after-close');
    await recordHistory(stack.env.client.workflow.getHandle(reportWorkflowId(String((await reportsFor(messageId))[0].id))), 'report-processed');
  });

  test('the same report received twice counts once', async () => {
    const address = testAddress('bouncelater-0', uid());
    const messageId = await deliveredMessage([address]);
    await stack.rebound.result(messageId);
    const [report] = await eventually('the DSN received', () => reportsFor(messageId), (rows) => rows.length === 1 && rows[0].outcome === 'matched');
    const raw: Buffer = (await stack.pool.query('SELECT raw, envelope_to FROM inbound_reports WHERE id = $1', [report.id])).rows[0].raw;
    // The same bytes again (an MTA retrying after a lost 250): the same row.
    assert.deepEqual(await storeRawReport(stack.pool, { source: 'smtp', raw, envelopeFrom: null, envelopeTo: null }), { id: String(report.id), duplicate: true });
    // A second copy with its own Message-ID (another hop mailed it too): processed, adds nothing.
    const copy = Buffer.from(raw.toString('latin1').replace(/^Message-ID: <([^>]+)>/im, 'Message-ID: <copy-$1>'), 'latin1');
    const second = await storeRawReport(stack.pool, { source: 'imap', raw: copy, envelopeFrom: null, envelopeTo: null });
    assert.equal(second.duplicate, false);
    await eventually('the copy processed', () => reportsFor(messageId), (rows) => rows.length === 2 && rows.every((x) => x.outcome === 'matched'));
    assert.equal((await lateOutcomes(messageId)).length, 1);
    const view = await stack.rebound.suppressions.reputation(address);
    assert.equal(view?.totals.hardBounced, 1);
  });

  test('a delayed DSN is recorded and shown, and changes nothing else', async () => {
    const address = testAddress('delaylater-0', uid());
    const messageId = await deliveredMessage([address]);
    await stack.rebound.result(messageId);
    const status = await eventually('the delay notice shown', () => stack.rebound.status(messageId), (s) => (s.recipients[0].lateOutcomes ?? []).length === 1);
    assert.equal(status.state, 'delivered');
    assert.equal(status.recipients[0].state, 'delivered');
    assert.equal(status.recipients[0].late, undefined);
    assert.equal(status.recipients[0].lateOutcomes![0].kind, 'delayed');
    assert.equal(status.recipients[0].lateOutcomes![0].reply?.kind, 'soft');
    assert.equal((await stack.rebound.suppressions.check(address)).suppressed, false);
    assert.deepEqual((await outboxEvents(messageId)).map((e) => e.type), ['message.delivered']);
  });

  test('a complaint suppresses the address at once with reason complaint and fires message.complained', async () => {
    const address = testAddress('complain-0', uid());
    const messageId = await deliveredMessage([address]);
    await stack.rebound.result(messageId);
    const check = await eventually('the complaint suppressed the address', () => stack.rebound.suppressions.check(address), (c) => c.suppressed);
    assert.equal(check.reason, 'complaint');
    assert.equal(check.source, 'auto');
    assert.equal(check.until, null);
    const row = (await stack.pool.query('SELECT message_id, actor FROM suppressions WHERE address = $1', [address])).rows[0];
    assert.deepEqual(row, { message_id: messageId, actor: 'rebound:complaint' });
    const status = await stack.rebound.status(messageId);
    assert.equal(status.state, 'delivered');
    assert.deepEqual(status.recipients[0].lateOutcomes?.map((o) => [o.kind, o.feedbackType]), [['complained', 'abuse']]);
    const complained = await eventually('message.complained in the outbox', () => outboxEvents(messageId), (rows) => rows.some((e) => e.type === 'message.complained'));
    const event = complained.find((e) => e.type === 'message.complained')!;
    assert.equal(event.payload.data.late, true);
    assert.equal(event.payload.data.feedbackType, 'abuse');
    // Found by the X-Rebound-Ref it quotes: the feedback address carries no token.
    assert.match((await reportsFor(messageId))[0].detail, /rebound_ref/);
  });

  test('an open delivery hears the late bounce by signal, and its own status shows it', async () => {
    const tag = uid();
    const early = testAddress('bouncelater-0', tag);
    const waiting = testAddress('full', tag);
    const messageId = await deliveredMessage([early, waiting], { delays: ['1h'], deadline: '72h' });
    const handle = stack.env.client.workflow.getHandle(deliveryWorkflowId(messageId));
    const own = await eventually(
      'the workflow\'s own status shows the late bounce',
      () => handle.query(statusQuery),
      (s: DeliveryStatus) => s.recipients.find((r) => r.address === early)?.late === true,
    );
    assert.equal(own.state, 'retrying');
    assert.equal(own.recipients.find((r) => r.address === waiting)?.state, 'retrying');
    await recordHistory(handle, 'bounce-while-open');
    await handle.cancel();
  });

  test('a provider\'s bounce event finds the message by the queue id of the relay\'s 250', async () => {
    const address = testAddress('ok', uid());
    const messageId = await deliveredMessage([address]);
    await stack.rebound.result(messageId);
    const { relay_queue_id: queueId, reply_text: reply } = (await stack.pool.query('SELECT relay_queue_id, reply_text FROM accepted_recipients WHERE message_id = $1', [messageId])).rows[0];
    assert.ok(queueId && reply.includes(`queued as ${queueId}`), `${queueId} from ${reply}`);
    const event = { provider: 'sendgrid' as const, eventId: `sg-${uid()}`, type: 'bounce' as const, recipient: address, at: new Date().toISOString(), queueId, messageIdHeader: null, reboundRef: null, status: '5.1.1', code: '550', diagnostic: '550 5.1.1 The email account that you tried to reach does not exist', permanent: true, feedbackType: null };
    assert.deepEqual(await storeProviderEvents(stack.pool, [event, event]), { stored: 1, duplicates: 1 });
    const status = await eventually('the provider\'s bounce merged', () => stack.rebound.status(messageId), (s) => s.recipients[0].late === true);
    assert.deepEqual(status.recipients[0].lateOutcomes?.map((o) => [o.kind, o.source, o.reply?.category]), [['bounced', 'sendgrid', 'unknown_user']]);
    assert.equal((await eventually('suppressed', () => stack.rebound.suppressions.check(address), (c) => c.suppressed)).reason, 'hard_bounce');
    assert.match((await reportsFor(messageId))[0].detail, /queue_id/);
  });

  test('a forged report changes nothing; one about no known message is an orphan, listed', async () => {
    const address = testAddress('ok', uid());
    const messageId = await deliveredMessage([address]);
    await stack.rebound.result(messageId);
    const from = returnPathAddress(messageId, { domain: BOUNCE_DOMAIN, secret: SECRET });
    const stored: Buffer = (await stack.pool.query('SELECT raw FROM messages WHERE id = $1', [messageId])).rows[0].raw;
    const sentHeaders = headerBlock(withReboundRef(stored, returnPathToken(messageId, SECRET)));
    const dsn = (kind: 'dsn-failed' | 'complaint', headers: Buffer) =>
      buildReport({ kind, originalHeaders: headers, envelope: { from, recipient: address }, reportingHost: 'forger.test', queueId: 'Q1', arrivedAt: new Date(), date: new Date(), reportQueueId: uid() })!;
    // A complaint quoting a changed X-Rebound-Ref (the MAC no longer fits).
    const tampered = Buffer.from(sentHeaders.toString('latin1').replace(/^(X-Rebound-Ref: [0-9a-f]{35})([0-9a-f])/m, (_, a, b) => a + (b === '0' ? '1' : '0')), 'latin1');
    const forged = dsn('complaint', tampered);
    const f = await storeRawReport(stack.pool, { source: 'smtp', raw: forged.raw, envelopeFrom: null, envelopeTo: forged.envelope.to });
    // A bounce for a message nobody sent.
    const stranger = Buffer.from(`Message-ID: <never-sent-${uid()}@elsewhere.test>\r\nFrom: someone@elsewhere.test\r\nTo: ${address}\r\nSubject: hi\r\n`, 'latin1');
    const orphan = dsn('dsn-failed', stranger);
    const o = await storeRawReport(stack.pool, { source: 'smtp', raw: orphan.raw, envelopeFrom: null, envelopeTo: `fbl@${BOUNCE_DOMAIN}` });
    const outcomeOf = async (id: string) => (await stack.pool.query('SELECT outcome FROM inbound_reports WHERE id = $1', [id])).rows[0]?.outcome;
    await eventually('both processed', async () => [await outcomeOf(f.id), await outcomeOf(o.id)], (v) => v[0] === 'forged' && v[1] === 'orphan');
    assert.equal((await stack.rebound.suppressions.check(address)).suppressed, false);
    assert.deepEqual(await lateOutcomes(messageId), []);
    const orphans = await stack.rebound.reports.list({ outcome: 'orphan' });
    assert.ok(orphans.some((r) => r.id === o.id), JSON.stringify(orphans));
    const counts = await stack.rebound.reports.counts();
    assert.ok((counts.reports.forged ?? 0) >= 1 && (counts.reports.orphan ?? 0) >= 1, JSON.stringify(counts));
  });

  test('the database down when the DSN arrives: the listener answers 451, the relay retries, the report is processed once', async () => {
    const address = testAddress('bouncelater-0', uid());
    failStores = 1;
    const messageId = await deliveredMessage([address]);
    await stack.rebound.result(messageId);
    const report = await eventually('the relay retried and the listener took it', async () => relay.reports().find((r) => r.recipient === address), (r) => r?.state === 'sent', 30_000);
    assert.match(report!.tries[0].reply ?? report!.tries[0].error ?? '', /^451 4\.3\.0/);
    assert.match(report!.tries.at(-1)!.reply ?? '', /^250 /);
    await eventually('the late bounce recorded', () => lateOutcomes(messageId), (rows) => rows.length === 1 && rows[0].kind === 'bounced');
    assert.equal((await reportsFor(messageId)).length, 1);
  });
});
