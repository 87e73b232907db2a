// Outcome webhooks end to end on real parts: the time-skipping Temporal server with the real
// workflows and activities, PostgreSQL, the bounce simulator, the HTTP API on a free port and a
// real HTTP receiver (node:http on port 0) that is down, then up, then gone. Signatures are
// checked with node's HMAC, not with the package that makes them.
import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { createApiKey } from '../../src/api/keys';
import { buildApiServer } from '../../src/api/server';
import { logger } from '../../src/log';
import { webhookWorkflowId, type WebhookEventType } from '../../src/webhooks/contract';
import { startTimeSkippingStack, testAddress, testMessage, uid, type TimeSkippingStack } from '../helpers/stack';
import { eventually } from '../helpers/wait';
import { recordHistory } from '../helpers/history';
import { resumeSite, suspendSite } from '../../src/sites/store';
import { SITE_EXPIRY_SWEEP_INTERVAL_MS } from '../../src/sites/expiry-sweeper';

let stack: TimeSkippingStack;
let app: FastifyInstance;
let base: string;
let admin: string;
let reader: string;

/** Every request the receiver got, and what it answered. */
interface Received {
  path: string;
  headers: Record<string, string>;
  body: string;
  answered: number;
}
const received: Received[] = [];
/** How each path answers: a status and extra headers, decided per request. */
const behaviour = new Map<string, (n: number) => { status: number; headers?: Record<string, string> }>();
let receiver: http.Server;
let receiverUrl: string;

before(async () => {
  stack = await startTimeSkippingStack({ webhooksAllowPrivate: true });
  app = await buildApiServer({ rebound: stack.rebound, pool: stack.pool, config: stack.config, logger: logger.child({}, { level: 'warn' }) });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
  admin = (await createApiKey(stack.pool, { name: `webhooks-admin-${uid()}`, scope: 'admin' })).key;
  reader = (await createApiKey(stack.pool, { name: `webhooks-read-${uid()}`, scope: 'read' })).key;
  // No endpoint of an earlier run of this file is left to receive this run's events.
  await stack.pool.query('DELETE FROM webhook_endpoints');
  receiver = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      const n = received.filter((r) => r.path === path).length + 1;
      const answer = (behaviour.get(path) ?? (() => ({ status: 404, headers: {} })))(n);
      received.push({ path, headers: req.headers as Record<string, string>, body: Buffer.concat(chunks).toString('utf8'), answered: answer.status });
      res.writeHead(answer.status, answer.headers ?? {}).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
});

after(async () => {
  await app?.close();
  await new Promise((resolve) => receiver?.close(resolve));
  await stack?.teardown();
});

async function call(method: string, path: string, opts: { key?: string; body?: unknown } = {}): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = {};
  if (opts.key) headers.authorization = `Bearer ${opts.key}`;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${base}${path}`, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

async function register(path: string, events: readonly WebhookEventType[]): Promise<{ id: string; secret: string }> {
  const res = await call('POST', '/v1/webhooks', { key: admin, body: { url: `${receiverUrl}${path}`, events } });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body;
}

/** Standard Webhooks verification written here: HMAC-SHA256 of `id.timestamp.body` with the key after `whsec_`. */
function signatureValid(secret: string, r: Received): boolean {
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  const expected = createHmac('sha256', key).update(`${r.headers['webhook-id']}.${r.headers['webhook-timestamp']}.${r.body}`).digest();
  return r.headers['webhook-signature'].split(' ').some((s) => {
    const given = Buffer.from(s.replace(/^v1,/, ''), 'base64');
    return s.startsWith('v1,') && given.length === expected.length && timingSafeEqual(given, expected);
  });
}

const at = (path: string) => received.filter((r) => r.path === path);
const delivered = (path: string) => at(path).filter((r) => r.answered >= 200 && r.answered < 300);
const parsed = (r: Received) => JSON.parse(r.body);

const ALL_TYPES: WebhookEventType[] = ['message.delivered', 'message.deferred', 'message.bounced', 'message.expired', 'message.suppressed', 'message.cancelled', 'address.suppressed', 'address.lifted'];

describe('webhooks', () => {
  test('the routes: register (secret once), list without secrets, field errors, scope, delete', async () => {
    const created = await register('/routes', ['message.delivered']);
    assert.match(created.id, /^wh_/);
    assert.match(created.secret, /^whsec_/);
    const list = await call('GET', '/v1/webhooks', { key: admin });
    assert.equal(list.status, 200);
    const listed = list.body.find((e: any) => e.id === created.id);
    assert.deepEqual(listed.events, ['message.delivered']);
    assert.equal(listed.secret, undefined, 'no secret in the list');
    assert.equal(JSON.stringify(list.body).includes(created.secret), false);

    const invalid: [unknown, string][] = [
      [{ url: 'ftp://example.com/', events: ['message.delivered'] }, 'url'],
      [{ url: `${receiverUrl}/x`, events: ['message.opened'] }, 'events[0]'],
      [{ url: `${receiverUrl}/x`, events: [] }, 'events'],
      [{ events: ['message.delivered'] }, 'url'],
    ];
    for (const [body, field] of invalid) {
      const res = await call('POST', '/v1/webhooks', { key: admin, body });
      assert.equal(res.status, 422, JSON.stringify(res.body));
      assert.equal(res.body.errors[0].field, field);
    }
    assert.equal((await call('POST', '/v1/webhooks', { key: reader, body: { url: `${receiverUrl}/x`, events: ['message.delivered'] } })).status, 403);
    assert.equal((await call('GET', '/v1/webhooks')).status, 401);

    // Without REBOUND_WEBHOOKS_ALLOW_PRIVATE, loopback is refused, also behind a name.
    const strictConfig = { ...stack.config, webhooksAllowPrivate: false };
    const strict = await buildApiServer({ rebound: stack.rebound, pool: stack.pool, config: strictConfig, logger: logger.child({}, { level: 'warn' }) });
    for (const url of [`${receiverUrl}/x`, 'http://localhost:9/x', 'http://[::1]/x', 'http://169.254.169.254/latest']) {
      const res = await strict.inject({ method: 'POST', url: '/v1/webhooks', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, payload: { url, events: ['message.delivered'] } });
      assert.equal(res.statusCode, 422, url);
      assert.equal(res.json().errors[0].field, 'url');
      assert.match(res.json().errors[0].message, /REBOUND_WEBHOOKS_ALLOW_PRIVATE/);
    }
    await strict.close();

    const doc = (await call('GET', '/openapi.json')).body;
    assert.ok(doc.paths['/v1/webhooks'].post && doc.paths['/v1/webhooks'].get, 'documented in the OpenAPI document');
    assert.ok(doc.paths['/v1/webhooks/{id}'].delete && doc.paths['/v1/webhooks/{id}/test'].post);
    assert.ok(doc.paths['/v1/webhooks'].post.responses['201'].content['application/json'].schema.properties.secret);

    assert.equal((await call('DELETE', `/v1/webhooks/${created.id}`, { key: admin })).status, 204);
    assert.equal((await call('DELETE', `/v1/webhooks/${created.id}`, { key: admin })).status, 404);
    assert.equal((await call('POST', `/v1/webhooks/${created.id}/test`, { key: admin })).status, 404);
  });

  test('a receiver down while outcomes happen gets every event afterwards, once per webhook-id, signed, with the right data', async () => {
    let up = false;
    behaviour.set('/main', () => (up ? { status: 204 } : { status: 503 }));
    const endpoint = await register('/main', ALL_TYPES);
    const tag = uid();
    const rebound = stack.rebound;
    const ok = testAddress('ok', tag);
    const unknown = testAddress('unknown', tag);
    const full = testAddress('full', tag);
    const cancelled = testAddress('full', `${tag}c`);
    const blocked = testAddress('ok', `${tag}s`);

    // address.suppressed, then message.suppressed for a send to it, then address.lifted
    await rebound.suppressions.add(blocked, { reason: 'manual', actor: 'webhooks-test' });
    const sends = {
      delivered: await rebound.send(testMessage([ok])),
      bounced: await rebound.send(testMessage([unknown])),
      expired: await rebound.send(testMessage([full], { profile: 'urgent' })),
      suppressed: await rebound.send(testMessage([blocked])),
      cancelled: await rebound.send(testMessage([cancelled])),
    };
    await eventually('retrying', () => rebound.status(sends.cancelled.messageId), (s) => s.state === 'retrying');
    await rebound.cancel(sends.cancelled.messageId);
    for (const s of Object.values(sends)) await rebound.result(s.messageId);
    await rebound.suppressions.lift(blocked, { reason: 'test over', actor: 'webhooks-test' });

    const expected: [WebhookEventType, string, string | null][] = [
      ['message.delivered', ok, sends.delivered.messageId],
      ['message.bounced', unknown, sends.bounced.messageId],
      ['message.deferred', full, sends.expired.messageId],
      ['message.expired', full, sends.expired.messageId],
      ['message.suppressed', blocked, sends.suppressed.messageId],
      ['message.deferred', cancelled, sends.cancelled.messageId],
      ['message.cancelled', cancelled, sends.cancelled.messageId],
      ['address.suppressed', blocked, null],
      ['address.lifted', blocked, null],
      // the hard bounce suppresses its address (README "Reputation and suppression")
      ['address.suppressed', unknown, sends.bounced.messageId],
    ];
    const mine = (r: Received) => {
      const d = parsed(r).data;
      return [d.recipient, d.address].some((a) => [ok, unknown, full, cancelled, blocked].includes(a));
    };
    // Every event has been tried at least once while the receiver was down.
    await eventually('every event tried while down', async () => new Set(at('/main').filter(mine).map((r) => r.headers['webhook-id'])).size, (n) => n === expected.length, 60_000);
    assert.equal(delivered('/main').length, 0);

    up = true;
    // Hours pass on the server: the sleeping deliveries wake on their schedule.
    await eventually(
      'every event delivered after the receiver came back',
      async () => {
        await stack.env.sleep('3 hours');
        return new Set(delivered('/main').filter(mine).map((r) => r.headers['webhook-id'])).size;
      },
      (n) => n === expected.length,
      120_000,
    );

    const ok2xx = delivered('/main').filter(mine);
    const ids = ok2xx.map((r) => r.headers['webhook-id']);
    assert.equal(new Set(ids).size, ids.length, 'each webhook-id delivered once');
    for (const r of at('/main').filter(mine)) assert.ok(signatureValid(endpoint.secret, r), `signature of ${r.headers['webhook-id']} try ${r.headers['webhook-attempt']}`);
    for (const id of ids) {
      const tries = at('/main').filter((r) => r.headers['webhook-id'] === id);
      assert.ok(tries.length >= 2, `${id} was tried while down, then delivered`);
      assert.deepEqual(tries.map((r) => Number(r.headers['webhook-attempt'])), tries.map((_, i) => i + 1), 'the try number counts up');
      assert.equal(new Set(tries.map((r) => r.body)).size, 1, 'the same body, with the same timestamp, on every try');
      assert.equal(tries[0].headers['content-type'], 'application/json');
    }

    const events = ok2xx.map(parsed);
    for (const [type, address, messageId] of expected) {
      const e = events.find((x) => x.type === type && (x.data.recipient ?? x.data.address) === address);
      assert.ok(e, `${type} for ${address}`);
      assert.match(e.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      if (messageId) assert.equal(e.data.messageId, messageId);
    }
    await recordHistory(rebound.handle(sends.expired.messageId), 'delivery-deferral-told-then-expired');
    await recordHistory(stack.env.client.workflow.getHandle(webhookWorkflowId(ids[0], endpoint.id)), 'webhook-receiver-down-then-up');
    const byType = (type: string, address: string) => events.find((x) => x.type === type && (x.data.recipient ?? x.data.address) === address).data;
    assert.deepEqual(byType('message.delivered', ok).reply.code, 250);
    assert.equal(byType('message.delivered', ok).category, 'delivered');
    assert.equal(byType('message.delivered', ok).attempts, 1);
    assert.equal(byType('message.bounced', unknown).reply.code, 550);
    assert.equal(byType('message.bounced', unknown).category, 'unknown_user');
    assert.equal(byType('message.bounced', unknown).scope, 'recipient');
    const deferred = byType('message.deferred', full);
    assert.equal(deferred.category, 'mailbox_full');
    assert.equal(deferred.attempts, 1);
    // Written once the workflow planned the next attempt: the event says when it is.
    const deferredEvent = events.find((x) => x.type === 'message.deferred' && x.data.recipient === full);
    assert.match(String(deferred.nextAttemptAt), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.ok(Date.parse(deferred.nextAttemptAt) > Date.parse(deferredEvent.timestamp) - 1000, `next attempt ${deferred.nextAttemptAt} after the bounce ${deferredEvent.timestamp}`);
    const expiredData = byType('message.expired', full);
    assert.equal(expiredData.category, 'mailbox_full');
    assert.ok(expiredData.attempts > 1, `urgent: several attempts before expiring, got ${expiredData.attempts}`);
    assert.equal(byType('message.suppressed', blocked).reason, 'manual');
    assert.equal(byType('message.suppressed', blocked).attempts, 0);
    assert.equal(byType('message.cancelled', cancelled).category, 'mailbox_full');
    assert.equal(byType('address.suppressed', blocked).source, 'manual');
    assert.equal(byType('address.suppressed', blocked).actor, 'webhooks-test');
    assert.equal(byType('address.lifted', blocked).reason, 'test over');
    assert.equal(byType('address.suppressed', unknown).source, 'auto');
    assert.equal(byType('address.suppressed', unknown).category, 'unknown_user');
    // One deferred event per recipient although the urgent schedule soft-bounced many times.
    assert.equal(events.filter((x) => x.type === 'message.deferred' && x.data.recipient === full).length, 1);
    for (const r of ok2xx) assert.doesNotMatch(r.body, /Your receipt|Thank you for your order|subject/i);

    assert.equal((await call('DELETE', `/v1/webhooks/${endpoint.id}`, { key: admin })).status, 204);
  });

  test('a 410 disables the endpoint: later events are not sent to it', async () => {
    behaviour.set('/gone', () => ({ status: 410 }));
    behaviour.set('/witness', () => ({ status: 200 }));
    const gone = await register('/gone', ['message.delivered']);
    await register('/witness', ['message.delivered']);
    const tag = uid();
    const first = await stack.rebound.send(testMessage([testAddress('ok', tag)]));
    await stack.rebound.result(first.messageId);
    await eventually('the 410', async () => at('/gone').length, (n) => n === 1);
    const listed = await eventually('disabled', async () => (await call('GET', '/v1/webhooks', { key: admin })).body.find((e: any) => e.id === gone.id), (e) => e.disabledAt !== null);
    assert.match(listed.disabledReason, /410/);

    const second = await stack.rebound.send(testMessage([testAddress('ok', `${tag}2`)]));
    await stack.rebound.result(second.messageId);
    const witnessed = await eventually(
      'the witness got the second event',
      async () => delivered('/witness').find((r) => parsed(r).data.messageId === second.messageId),
      (r) => r !== undefined,
    );
    // The event went out to every active endpoint when it was dispatched: not to the disabled one.
    assert.equal(at('/gone').length, 1);
    await assert.rejects(stack.env.client.workflow.getHandle(webhookWorkflowId(witnessed!.headers['webhook-id'], gone.id)).describe(), WorkflowNotFoundError);
    assert.equal((await call('POST', `/v1/webhooks/${gone.id}/test`, { key: admin })).status, 422);
    await stack.pool.query('DELETE FROM webhook_endpoints');
  });

  test('Retry-After on a 503 sets the wait before the next try; the test event goes through the same path', async () => {
    behaviour.set('/busy', (n) => (n === 1 ? { status: 503, headers: { 'retry-after': '600' } } : { status: 200 }));
    const endpoint = await register('/busy', ['message.delivered']);
    const res = await call('POST', `/v1/webhooks/${endpoint.id}/test`, { key: admin });
    assert.equal(res.status, 202);
    const { eventId } = res.body;
    await eventually('the first try', async () => at('/busy').length, (n) => n === 1);
    const handle = stack.env.client.workflow.getHandle(webhookWorkflowId(eventId, endpoint.id));
    await eventually('the workflow waits', async () => (await handle.fetchHistory()).events?.some((e) => e.timerStartedEventAttributes) ?? false, (v) => v);
    const result = await handle.result();
    assert.deepEqual(result, { outcome: 'delivered', tries: 2 });
    const history = await handle.fetchHistory();
    const timers = history.events!.filter((e) => e.timerStartedEventAttributes).map((e) => Number(e.timerStartedEventAttributes!.startToFireTimeout!.seconds));
    assert.deepEqual(timers, [600], 'waited the 600 s asked for, not the scheduled 5 s');
    const tries = at('/busy');
    assert.equal(tries.length, 2);
    for (const r of tries) {
      assert.equal(r.headers['webhook-id'], eventId);
      assert.ok(signatureValid(endpoint.secret, r));
      assert.equal(parsed(r).type, 'webhook.test');
    }
    await stack.pool.query('DELETE FROM webhook_endpoints');
  });

  test('a CSV import writes one address.suppressed event per row; without a subscriber it writes none', async () => {
    const tag = uid();
    const quiet = `quiet+${tag}@example.test`;
    assert.equal((await stack.rebound.suppressions.importCsv(`address,reason\n${quiet},manual\n`)).imported, 1);
    const none = await stack.pool.query("SELECT 1 FROM webhook_events WHERE key LIKE 'address.suppressed ' || $1 || ' %'", [quiet]);
    assert.equal(none.rowCount, 0, 'no endpoint subscribes: no event');

    behaviour.set('/imports', () => ({ status: 200 }));
    const endpoint = await register('/imports', ['address.suppressed']);
    const a = `a+${tag}@example.test`;
    const b = `b+${tag}@example.test`;
    assert.equal((await stack.rebound.suppressions.importCsv(`address,reason\n${a},manual\n${b},manual\n`)).imported, 2);
    const got = await eventually('both imported addresses', async () => delivered('/imports').map((r) => parsed(r).data), (d) => d.length === 2);
    assert.deepEqual(got.map((d) => d.address).sort(), [a, b]);
    assert.ok(got.every((d) => d.source === 'import'));
    for (const r of at('/imports')) assert.ok(signatureValid(endpoint.secret, r));
    await stack.pool.query('DELETE FROM webhook_endpoints');
  });

  test('site.suspended and site.resumed: an operator\'s suspend and resume over the API and a suspension that expires, one signed event each', async () => {
    behaviour.set('/sites', () => ({ status: 200 }));
    const endpoint = await register('/sites', ['site.suspended', 'site.resumed']);
    const site = `mx.sites-${uid()}.test`;
    const suspended = await call('POST', `/v1/sites/${site}/suspend`, { key: admin, body: { minutes: 30, note: 'maintenance at the receiver' } });
    assert.equal(suspended.status, 200, JSON.stringify(suspended.body));
    // Extending one in force writes it anew; a shorter one changes nothing and tells nothing.
    const extended = await call('POST', `/v1/sites/${site}/suspend`, { key: admin, body: { minutes: 60, note: 'longer' } });
    assert.ok(Date.parse(extended.body.until) > Date.parse(suspended.body.until));
    const shorter = await call('POST', `/v1/sites/${site}/suspend`, { key: admin, body: { minutes: 5 } });
    assert.equal(shorter.body.until, extended.body.until, 'a shorter suspension never cuts one short');
    const resumed = await call('POST', `/v1/sites/${site}/resume`, { key: admin });
    assert.deepEqual(resumed.body, { site, scope: 'site', resumed: true });

    const forSite = () => delivered('/sites').map(parsed).filter((e) => e.data.site === site);
    const events = await eventually('suspended twice and resumed', async () => forSite(), (e) => e.length >= 3);
    assert.deepEqual(events.map((e) => e.type).sort(), ['site.resumed', 'site.suspended', 'site.suspended']);
    const s = events.filter((e) => e.type === 'site.suspended').map((e) => e.data).sort((a, b) => a.until.localeCompare(b.until));
    assert.deepEqual(s, [
      { site, scope: 'site', until: suspended.body.until, rule: 'manual', reply: 'maintenance at the receiver' },
      { site, scope: 'site', until: extended.body.until, rule: 'manual', reply: 'longer' },
    ]);
    const r = events.find((e) => e.type === 'site.resumed');
    assert.equal(r.data.resumedBy, 'manual');
    assert.equal(r.data.rule, 'manual');
    assert.ok(Date.parse(r.data.until) <= Date.now() && Date.parse(r.data.until) < Date.parse(extended.body.until), 'reopened now, before its until');
    assert.equal(r.data.reply, 'longer');

    // A rule's suspension of a domain that runs out: the worker's sweeper tells it, once.
    const domain = `sites-${uid()}.test`;
    const rule = await suspendSite(stack.pool, { scope: 'domain', site: domain, durationMs: 1_500, rule: 'test-rule', reply: '421 4.7.0 try later' });
    const expired = await eventually('expired', async () => delivered('/sites').map(parsed).filter((e) => e.data.site === domain), (e) => e.some((x) => x.type === 'site.resumed'), 20_000);
    const told = expired.find((e) => e.type === 'site.resumed');
    assert.deepEqual(told.data, { site: domain, scope: 'domain', until: rule.until.toISOString(), rule: 'test-rule', reply: '421 4.7.0 try later', resumedBy: 'expired' });
    // An expired suspension not told yet and replaced by a new one: its end is told by the statement that replaces it.
    const again = `sites-again-${uid()}.test`;
    const first = await suspendSite(stack.pool, { scope: 'domain', site: again, durationMs: 1, rule: 'test-rule', reply: null });
    await new Promise((resolve) => setTimeout(resolve, 20));
    await suspendSite(stack.pool, { scope: 'domain', site: again, durationMs: 600_000, rule: 'test-rule', reply: null });
    const replaced = await stack.pool.query("SELECT type, payload FROM webhook_events WHERE payload->'data'->>'site' = $1 ORDER BY type", [again]);
    assert.deepEqual(replaced.rows.map((x) => x.type), ['site.resumed', 'site.suspended', 'site.suspended']);
    assert.deepEqual([replaced.rows[0].payload.data.until, replaced.rows[0].payload.data.resumedBy], [first.until.toISOString(), 'expired']);
    await resumeSite(stack.pool, again, 'domain');
    for (const x of at('/sites')) assert.ok(signatureValid(endpoint.secret, x));
    // A second round of the sweeper adds nothing.
    await new Promise((resolve) => setTimeout(resolve, SITE_EXPIRY_SWEEP_INTERVAL_MS + 500));
    const rows = await stack.pool.query("SELECT type FROM webhook_events WHERE payload->'data'->>'site' = ANY($1) ORDER BY type", [[site, domain]]);
    assert.deepEqual(rows.rows.map((x) => x.type), ['site.resumed', 'site.resumed', 'site.suspended', 'site.suspended', 'site.suspended']);
    await stack.pool.query('DELETE FROM webhook_endpoints');
  });

  test('deleting an endpoint stops the tries in flight at the next one', async () => {
    behaviour.set('/failing', () => ({ status: 500 }));
    const endpoint = await register('/failing', ['message.delivered']);
    const { eventId } = (await call('POST', `/v1/webhooks/${endpoint.id}/test`, { key: admin })).body;
    await eventually('the first try', async () => at('/failing').length, (n) => n === 1);
    assert.equal((await call('DELETE', `/v1/webhooks/${endpoint.id}`, { key: admin })).status, 204);
    const result = await stack.env.client.workflow.getHandle(webhookWorkflowId(eventId, endpoint.id)).result();
    assert.deepEqual(result, { outcome: 'skipped', tries: 2 });
    assert.equal(at('/failing').length, 1);
  });
});
