// The HTTP API end to end: the real fastify server on a free port, over `fetch`, in front of the
// dev stack (Temporal dev server, PostgreSQL, the bounce simulator, a worker). Keys are made with
// the function `rebound api-keys create` uses.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { createApiKey, revokeApiKey, type ApiKeyScope } from '../../src/api/keys';
import { buildApiServer } from '../../src/api/server';
import { ReboundClient } from '../../src/client/rebound-client';
import { createPool } from '../../src/db/pool';
import { logger } from '../../src/log';
import { deliveryWorkflowId, type DeliveryStatus } from '../../src/delivery/contract';
import { getMessage } from '../../src/delivery/messages';
import { startDevStack, type DevStack } from '../helpers/dev-stack';
import { testAddress, testMessage, uid } from '../helpers/stack';
import { eventually } from '../helpers/wait';
import { startDevApi } from '../../src/dev/api';
import { freePort } from '../../src/dev/temporal-server';

const MAX_MESSAGE_BYTES = 64 * 1024;

let stack: DevStack;
let app: FastifyInstance;
let base: string;
const keys = {} as Record<ApiKeyScope, string>;

before(async () => {
  stack = await startDevStack({ maxMessageBytes: MAX_MESSAGE_BYTES });
  const rebound = new ReboundClient({ client: stack.client, pool: stack.pool, taskQueue: stack.config.taskQueue, maxMessageBytes: MAX_MESSAGE_BYTES, domains: stack.config.domains });
  app = await buildApiServer({ rebound, pool: stack.pool, config: stack.config, logger: logger.child({}, { level: 'warn' }) });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
  for (const scope of ['read', 'send', 'admin'] as const) keys[scope] = (await createApiKey(stack.pool, { name: `api-test-${scope}`, scope })).key;
});

after(async () => {
  await app?.close();
  await stack?.teardown();
});

interface Answer<T = any> {
  status: number;
  type: string | null;
  headers: Headers;
  body: T;
}

async function call<T = any>(method: string, path: string, opts: { key?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {}): Promise<Answer<T>> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.key) headers.authorization = `Bearer ${opts.key}`;
  let body: string | undefined;
  if (opts.raw !== undefined || opts.body !== undefined) {
    headers['content-type'] ??= 'application/json';
    body = opts.raw ?? JSON.stringify(opts.body);
  }
  const res = await fetch(`${base}${path}`, { method, headers, body });
  const text = await res.text();
  return { status: res.status, type: res.headers.get('content-type'), headers: res.headers, body: text ? JSON.parse(text) : null };
}

/** No row and no workflow: nothing was stored or started for this id. */
async function assertNothingFor(id: string): Promise<void> {
  assert.equal(await getMessage(stack.pool, id), null, `no message row for ${id}`);
  await assert.rejects(stack.client.workflow.getHandle(deliveryWorkflowId(id)).describe(), WorkflowNotFoundError);
}

function assertProblem(a: Answer, status: number): void {
  assert.equal(a.status, status, JSON.stringify(a.body));
  assert.match(a.type ?? '', /^application\/problem\+json/);
  assert.equal(a.body.status, status);
  assert.match(a.body.type, /^urn:rebound:problem:/);
  assert.equal(typeof a.body.title, 'string');
  assert.equal(typeof a.body.detail, 'string');
}

describe('HTTP API', () => {
  test('health, readiness and the OpenAPI document need no key', async () => {
    assert.deepEqual((await call('GET', '/healthz')).body, { ok: true });
    const ready = await call('GET', '/readyz');
    assert.equal(ready.status, 200, JSON.stringify(ready.body));
    assert.deepEqual(ready.body, { ready: true, postgres: { ok: true }, temporal: { ok: true } });
    const doc = await call('GET', '/openapi.json');
    assert.equal(doc.status, 200);
    assert.equal(doc.body.openapi, '3.1.0');
    assert.equal(typeof doc.body.info.title, 'string');
    assert.deepEqual(
      Object.entries(doc.body.paths as Record<string, Record<string, unknown>>).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`)).sort(),
      [
        'DELETE /v1/suppressions/{address}',
        'DELETE /v1/webhooks/{id}',
        'GET /healthz',
        'GET /metrics',
        'GET /readyz',
        'GET /v1/addresses/{address}',
        'GET /v1/domains',
        'GET /v1/domains/{domain}',
        'GET /v1/domains/{domain}/series',
        'GET /v1/inbound/reports',
        'GET /v1/inbound/stats',
        'GET /v1/messages',
        'GET /v1/messages/{id}',
        'GET /v1/sites',
        'GET /v1/sites/{site}',
        'GET /v1/suppressions',
        'GET /v1/suppressions/export',
        'GET /v1/suppressions/{address}',
        'GET /v1/webhooks',
        'POST /codec/decode',
        'POST /codec/encode',
        'POST /codec/session',
        'POST /v1/inbound/mailgun',
        'POST /v1/inbound/postmark',
        'POST /v1/inbound/sendgrid',
        'POST /v1/inbound/ses',
        'POST /v1/messages',
        'POST /v1/messages/{id}/cancel',
        'POST /v1/messages/{id}/retry-now',
        'POST /v1/sites/{site}/resume',
        'POST /v1/sites/{site}/suspend',
        'POST /v1/suppressions/import',
        'POST /v1/webhooks',
        'POST /v1/webhooks/{id}/test',
        'PUT /v1/suppressions/{address}',
      ],
    );
    const send = doc.body.paths['/v1/messages'].post;
    assert.deepEqual(Object.keys(send.responses).sort(), ['200', '202', '400', '401', '403', '409', '413', '415', '422', '503']);
    assert.deepEqual(send.security, [{ apiKey: [] }]);
    assert.equal(doc.body.components.securitySchemes.apiKey.scheme, 'bearer');
    const docs = await fetch(`${base}/docs`);
    assert.equal(docs.status, 200);
    assert.match(await docs.text(), /swagger/i);
  });

  test('401 without, with an unknown and with a revoked key; 403 for a narrower scope', async () => {
    const body = testMessage([testAddress('ok', uid())]);
    assertProblem(await call('POST', '/v1/messages', { body }), 401);
    assertProblem(await call('POST', '/v1/messages', { body, key: 'rbk_' + 'A'.repeat(43) }), 401);
    assertProblem(await call('GET', '/v1/messages/x', { key: 'not-a-key' }), 401);
    const revoked = await createApiKey(stack.pool, { name: 'revoked', scope: 'admin' });
    assert.notEqual((await call('GET', '/v1/messages/nope', { key: revoked.key })).status, 401);
    await revokeApiKey(stack.pool, revoked.id);
    assertProblem(await call('GET', '/v1/messages/nope', { key: revoked.key }), 401);

    const id = `api-scope-${uid()}`;
    assertProblem(await call('POST', '/v1/messages', { body: { ...body, id }, key: keys.read }), 403);
    await assertNothingFor(id);
    assertProblem(await call('POST', `/v1/messages/${id}/cancel`, { key: keys.read }), 403);
    assertProblem(await call('POST', `/v1/messages/${id}/retry-now`, { key: keys.send }), 403);
    // read may read: an unknown message is a 404, not a 403
    assertProblem(await call('GET', `/v1/messages/${id}`, { key: keys.read }), 404);
  });

  test('POST a message, GET it until delivered', async () => {
    const tag = uid();
    const sent = await call('POST', '/v1/messages', { key: keys.send, body: testMessage([testAddress('ok', tag)]) });
    assert.equal(sent.status, 202, JSON.stringify(sent.body));
    assert.equal(sent.body.state, 'queued');
    assert.equal(sent.body.workflowId, deliveryWorkflowId(sent.body.messageId));
    const final = await eventually(
      'delivered',
      async () => (await call<DeliveryStatus>('GET', `/v1/messages/${sent.body.messageId}`, { key: keys.read })).body,
      (s) => s.state === 'delivered',
    );
    assert.equal(final.recipients[0].address, testAddress('ok', tag));
    assert.equal(final.recipients[0].state, 'delivered');
    assert.equal(final.recipients[0].lastReply?.category, 'delivered');
  });

  test('idempotency: 202, then 200 for the same content, 409 for different content', async () => {
    const tag = uid();
    const key = `api-idem-${tag}`;
    const body = testMessage([testAddress('once', tag)]);
    const first = await call('POST', '/v1/messages', { key: keys.send, body, headers: { 'idempotency-key': key } });
    assert.equal(first.status, 202, JSON.stringify(first.body));
    assert.equal(first.body.messageId, key);
    const again = await call('POST', '/v1/messages', { key: keys.send, body: { ...body, id: key } });
    assert.equal(again.status, 200, JSON.stringify(again.body));
    assert.deepEqual([again.body.messageId, again.body.workflowId], [key, first.body.workflowId]);
    const other = await call('POST', '/v1/messages', { key: keys.send, body: { ...body, subject: 'Something else' }, headers: { 'idempotency-key': key } });
    assertProblem(other, 409);
    assert.equal(other.body.errors[0].field, 'id');
    const final = await eventually('delivered', async () => (await call<DeliveryStatus>('GET', `/v1/messages/${key}`, { key: keys.read })).body, (s) => s.state === 'delivered');
    assert.equal(final.recipients.length, 1);
    const header = stack.sink.received().find((m) => m.messageId?.startsWith(`<${key}@`))!.messageId!;
    assert.equal(stack.sink.deliveries(header, testAddress('once', tag)), 1);
    // A header and a body id that differ say so.
    const both = await call('POST', '/v1/messages', { key: keys.send, body: { ...body, id: `${key}-b` }, headers: { 'idempotency-key': `${key}-c` } });
    assertProblem(both, 422);
    assert.equal(both.body.errors[0].field, 'Idempotency-Key');
  });

  test('422 names the field as the SDK does, and nothing is stored or started', async () => {
    const id = `api-invalid-${uid()}`;
    const bad = await call('POST', '/v1/messages', { key: keys.send, body: testMessage(['bob@'], { id }) });
    assertProblem(bad, 422);
    assert.equal(bad.body.errors.length, 1);
    assert.equal(bad.body.errors[0].field, 'to[0]');
    assert.match(bad.body.errors[0].message, /not a valid email address/);
    await assertNothingFor(id);
    // A type fastify's validator would have coerced, and a misspelt field: the SDK's names.
    assert.equal((await call('POST', '/v1/messages', { key: keys.send, body: testMessage([testAddress('ok', 'x')], { id, subject: 42 }) })).body.errors[0].field, 'subject');
    assert.equal((await call('POST', '/v1/messages', { key: keys.send, body: { ...testMessage([testAddress('ok', 'x')]), id, subjet: 'x' } })).body.errors[0].field, 'subjet');
    assert.equal((await call('POST', '/v1/messages', { key: keys.send, body: [1, 2] })).body.errors[0].field, 'message');
    await assertNothingFor(id);
  });

  test('400 on malformed JSON, 415 on another media type, 413 on a huge body', async () => {
    const id = `api-malformed-${uid()}`;
    assertProblem(await call('POST', '/v1/messages', { key: keys.send, raw: `{"id":"${id}","from":` }), 400);
    assertProblem(await call('POST', '/v1/messages', { key: keys.send, raw: '' }), 400);
    assertProblem(await call('POST', '/v1/messages', { key: keys.send, raw: 'hello', headers: { 'content-type': 'text/plain' } }), 415);
    const huge = await call('POST', '/v1/messages', { key: keys.send, body: testMessage([testAddress('ok', 'x')], { id, text: 'x'.repeat(2 * 1024 * 1024) }) });
    assertProblem(huge, 413);
    // Over REBOUND_MAX_MESSAGE_BYTES but within the margin: the SDK's own limit, naming the field.
    const large = await call('POST', '/v1/messages', { key: keys.send, body: testMessage([testAddress('ok', 'x')], { id, text: 'x'.repeat(MAX_MESSAGE_BYTES + 1) }) });
    assertProblem(large, 422);
    await assertNothingFor(id);
  });

  test('cancel a retrying message; retry-now ends its wait; both 404 when unknown, 409 once final', async () => {
    const tag = uid();
    const sleeping = await call('POST', '/v1/messages', { key: keys.send, body: testMessage([testAddress('soft-1', tag)], { delays: ['1h'], deadline: '2h' }) });
    assert.equal(sleeping.status, 202);
    const id = sleeping.body.messageId as string;
    await eventually('retrying', async () => (await call<DeliveryStatus>('GET', `/v1/messages/${id}`, { key: keys.read })).body, (s) => s.state === 'retrying');
    const retried = await call('POST', `/v1/messages/${id}/retry-now`, { key: keys.admin });
    assert.equal(retried.status, 202, JSON.stringify(retried.body));
    assert.deepEqual(retried.body, { messageId: id, workflowId: deliveryWorkflowId(id), requested: 'retry-now' });
    await eventually('delivered after retry-now', async () => (await call<DeliveryStatus>('GET', `/v1/messages/${id}`, { key: keys.read })).body, (s) => s.state === 'delivered');
    assertProblem(await call('POST', `/v1/messages/${id}/cancel`, { key: keys.send }), 409);

    const other = await call('POST', '/v1/messages', { key: keys.send, body: testMessage([testAddress('soft-1', uid())], { delays: ['1h'], deadline: '2h' }) });
    const otherId = other.body.messageId as string;
    await eventually('retrying', async () => (await call<DeliveryStatus>('GET', `/v1/messages/${otherId}`, { key: keys.read })).body, (s) => s.state === 'retrying');
    const cancelled = await call('POST', `/v1/messages/${otherId}/cancel`, { key: keys.send });
    assert.equal(cancelled.status, 202, JSON.stringify(cancelled.body));
    await eventually('cancelled', async () => (await call<DeliveryStatus>('GET', `/v1/messages/${otherId}`, { key: keys.read })).body, (s) => s.state === 'cancelled');

    assertProblem(await call('POST', '/v1/messages/api-unknown/cancel', { key: keys.admin }), 404);
    assertProblem(await call('POST', '/v1/messages/api-unknown/retry-now', { key: keys.admin }), 404);
  });

  test('PostgreSQL unreachable: 503 with Retry-After, and /readyz says which', async () => {
    const downPool = createPool('postgres://postgres@127.0.0.1:1/rebound_test', { connectionTimeoutMillis: 1000 });
    const rebound = new ReboundClient({ client: stack.client, pool: downPool, taskQueue: stack.config.taskQueue });
    const down = await buildApiServer({ rebound, pool: downPool, config: stack.config, logger: logger.child({}, { level: 'error' }) });
    try {
      const sent = await down.inject({ method: 'POST', url: '/v1/messages', headers: { authorization: `Bearer ${keys.send}`, 'content-type': 'application/json' }, payload: testMessage([testAddress('ok', uid())]) });
      assert.equal(sent.statusCode, 503, sent.body);
      assert.equal(sent.headers['retry-after'], '5');
      assert.match(String(sent.headers['content-type']), /^application\/problem\+json/);
      assert.match(JSON.parse(sent.body).detail, /PostgreSQL is unreachable/);
      const ready = await down.inject({ method: 'GET', url: '/readyz' });
      assert.equal(ready.statusCode, 503);
      assert.equal(ready.json().postgres.ok, false);
      assert.equal(ready.json().temporal.ok, true);
    } finally {
      await down.close();
      await downPool.end();
    }
  });

  test('the local stack\'s API (rebound dev, the demo): listens where configured, its development key works and is revoked at stop', async () => {
    const port = await freePort();
    const dev = await startDevApi({ ...stack.config, apiListen: { host: '127.0.0.1', port } });
    let stopped = false;
    try {
      assert.equal(dev.url, `http://127.0.0.1:${port}`);
      const ready = await fetch(`${dev.url}/readyz`);
      assert.equal(ready.status, 200);
      const unknown = await fetch(`${dev.url}/v1/messages/no-such-${uid()}`, { headers: { authorization: `Bearer ${dev.key}` } });
      assert.equal(unknown.status, 404, 'the key is accepted (an unknown message, not a 401)');
      const row = await stack.pool.query('SELECT scope, revoked_at FROM api_keys WHERE name LIKE $1 ORDER BY created_at DESC LIMIT 1', ['development (rebound dev%']);
      assert.deepEqual([row.rows[0].scope, row.rows[0].revoked_at], ['admin', null]);
      // A second stack on the same address fails clearly instead of half starting.
      await assert.rejects(startDevApi({ ...stack.config, apiListen: { host: '127.0.0.1', port } }), /cannot listen on 127\.0\.0\.1:\d+: the port is in use/);
      await dev.stop();
      stopped = true;
      const revoked = await stack.pool.query('SELECT count(*)::int AS n FROM api_keys WHERE name LIKE $1 AND revoked_at IS NULL', [`development (rebound dev, pid ${process.pid})`]);
      assert.equal(revoked.rows[0].n, 0, 'every development key of this process is revoked');
    } finally {
      if (!stopped) await dev.stop();
    }
  });

  test('suppressions: check (read), add and lift (admin, recorded with the key as actor), 422 naming the field; reputation and domain health', async () => {
    const address = `api-supp+${uid()}@example.test`;
    const path = `/v1/suppressions/${encodeURIComponent(address)}`;
    const before = await call('GET', path, { key: keys.read });
    assert.equal(before.status, 200);
    assert.equal(before.body.suppressed, false);
    assert.equal((await call('PUT', path, { key: keys.send, body: { reason: 'complaint' } })).status, 403, 'send may not suppress');
    const bad = await call('PUT', path, { key: keys.admin, body: { days: 0 } });
    assert.equal(bad.status, 422);
    assert.equal(bad.body.errors[0].field, 'days');
    const added = await call('PUT', path, { key: keys.admin, body: { reason: 'complaint', days: 30, note: 'from the API test' } });
    assert.equal(added.status, 200, JSON.stringify(added.body));
    assert.deepEqual([added.body.suppressed, added.body.reason, added.body.source], [true, 'complaint', 'manual']);
    const row = await stack.pool.query('SELECT actor FROM suppressions WHERE address = $1', [address]);
    assert.equal(row.rows[0].actor, 'api:api-test-admin');
    const seen = await call('GET', `/v1/addresses/${encodeURIComponent(address)}`, { key: keys.read });
    assert.equal(seen.status, 200);
    assert.equal(seen.body.suppression.suppressed, true);
    const lifted = await call('DELETE', `${path}?reason=${encodeURIComponent('mailbox fixed')}`, { key: keys.admin });
    assert.equal(lifted.status, 200);
    assert.equal(lifted.body.suppressed, false);
    assert.equal((await call('GET', '/v1/suppressions/not-an-address', { key: keys.read })).body.errors[0].field, 'address');

    const domains = await call('GET', '/v1/domains?window=7d', { key: keys.read });
    assert.equal(domains.status, 200);
    assert.ok(Array.isArray(domains.body));
    const badWindow = await call('GET', '/v1/domains?window=90d', { key: keys.read });
    assert.equal(badWindow.status, 422);
    const one = await call('GET', '/v1/domains/example.test', { key: keys.read });
    assert.equal(one.status, 200, JSON.stringify(one.body));
    assert.equal(one.body.domain, 'example.test');
  });

  test('a key over REBOUND_API_RATE_LIMIT is answered 429 with Retry-After; other keys and /healthz go on', async () => {
    const limited = await buildApiServer({ rebound: stack.rebound, pool: stack.pool, config: { ...stack.config, apiRateLimitPerMinute: 3 }, logger: logger.child({}, { level: 'warn' }) });
    try {
      const url = await limited.listen({ host: '127.0.0.1', port: 0 });
      const get = (path: string, key?: string) => fetch(`${url}${path}`, { headers: key ? { authorization: `Bearer ${key}` } : {} });
      const one = (await createApiKey(stack.pool, { name: `rate-${uid()}`, scope: 'read' })).key;
      const other = (await createApiKey(stack.pool, { name: `rate-${uid()}`, scope: 'read' })).key;
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await get('/v1/domains', one)).status);
      assert.deepEqual(statuses, [200, 200, 200, 429]);
      const over = await get('/v1/domains', one);
      assert.equal(over.status, 429);
      assert.equal(over.headers.get('content-type'), 'application/problem+json; charset=utf-8');
      const retryAfter = Number(over.headers.get('retry-after'));
      assert.ok(retryAfter > 0 && retryAfter <= 60, `Retry-After ${over.headers.get('retry-after')}`);
      const problem = (await over.json()) as { type: string; detail: string };
      assert.equal(problem.type, 'urn:rebound:problem:rate-limited');
      assert.match(problem.detail, /REBOUND_API_RATE_LIMIT/);
      assert.equal((await get('/v1/domains', other)).status, 200, 'another key has its own allowance');
      for (let i = 0; i < 5; i++) assert.equal((await get('/healthz')).status, 200, 'health checks take no key and are not counted');
      assert.equal((await get('/v1/domains')).status, 401, 'no key: 401, not 429');
    } finally {
      await limited.close();
    }
  });
});
