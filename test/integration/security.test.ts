// What is authenticated, bounded and kept out of logs (README "Security"), on real parts: the
// time-skipping Temporal server with the real worker (its SDK logs routed into the JSON
// logger), PostgreSQL, the bounce simulator, the HTTP API on a free port with the process's
// own logger, a real HTTP webhook receiver and the `rebound` command as a child process. Every
// log line of the process is captured (Rebound's own at debug level, the SDK's at info, as a
// worker installs it) and searched for secrets. The stack is keyed (REBOUND_ADDRESS_ID_KEY), so
// reputation workflow ids are checked here too.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { WorkflowNotFoundError, type WorkflowHandle } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { createApiKey, hashApiKey, revokeApiKey } from '../../src/api/keys';
import { buildApiServer } from '../../src/api/server';
import { logger } from '../../src/log';
import { normaliseAddress } from '../../src/message/address';
import { addressWorkflowId } from '../../src/reputation/address-id';
import { reputationWorkflowId } from '../../src/reputation/contract';
import { webhookWorkflowId } from '../../src/webhooks/contract';
import { installJsonRuntimeLogger } from '../../src/worker/worker';
import { startTimeSkippingStack, TEST_DATABASE_URL, testAddress, testMessage, uid, type TimeSkippingStack } from '../helpers/stack';
import { eventually } from '../helpers/wait';

const ROOT = path.resolve(__dirname, '../../..');
const execFileAsync = promisify(execFile);
const ADDRESS_ID_KEY = `security-test-address-id-key-${'k'.repeat(16)}`;

/** Every line the process logs from here on, as written. */
const lines: string[] = [];
(logger as unknown as Record<symbol, unknown>)[pino.symbols.streamSym] = new Writable({
  write(chunk: Buffer, _enc, done) {
    lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    done();
  },
});
logger.level = 'debug';

let stack: TimeSkippingStack;
let app: FastifyInstance;
let base: string;
let admin: string;
let receiver: http.Server;
let receiverUrl: string;
const received: { path: string; headers: http.IncomingHttpHeaders }[] = [];

before(async () => {
  // Before the test server's runtime exists: activity and worker logs then go through pino too.
  installJsonRuntimeLogger();
  stack = await startTimeSkippingStack({ webhooksAllowPrivate: true, addressIdKey: ADDRESS_ID_KEY });
  app = await buildApiServer({ rebound: stack.rebound, pool: stack.pool, config: stack.config });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
  admin = (await createApiKey(stack.pool, { name: `security-admin-${uid()}`, scope: 'admin' })).key;
  await stack.pool.query('DELETE FROM webhook_endpoints');
  receiver = http.createServer((req, res) => {
    received.push({ path: req.url ?? '/', headers: req.headers });
    req.resume();
    const n = received.filter((r) => r.path === req.url).length;
    // /flaky fails its first try; everything else is taken.
    req.on('end', () => res.writeHead(req.url === '/flaky' && n === 1 ? 500 : 200).end());
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
});

after(async () => {
  await app?.close();
  await new Promise((resolve) => receiver?.close(resolve));
  await stack?.teardown();
});

async function call(method: string, urlPath: string, opts: { key?: string; authorization?: string; body?: unknown } = {}): Promise<{ status: number; headers: Headers; body: any }> {
  const headers: Record<string, string> = {};
  if (opts.key) headers.authorization = `Bearer ${opts.key}`;
  if (opts.authorization) headers.authorization = opts.authorization;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${base}${urlPath}`, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text && /json/.test(res.headers.get('content-type') ?? '') ? JSON.parse(text) : text };
}

/**
 * The log lines that contain any of `needles`, for the failure message. The SDK's activity
 * lines carry a base64 task token, which holds the workflow id: searched decoded too.
 */
function linesWith(needles: string[]): string[] {
  const decoded = (l: string) => {
    const token = /"taskToken":"([A-Za-z0-9+/=_-]+)"/.exec(l)?.[1];
    return token ? `${l} ${Buffer.from(token, 'base64').toString('latin1')}` : l;
  };
  return lines.filter((l) => needles.some((n) => decoded(l).includes(n)));
}

/** A history as text, payloads decoded: a secret in a payload would be base64 in the raw JSON. */
async function historyText(handle: WorkflowHandle): Promise<string> {
  const history = await handle.fetchHistory();
  return JSON.stringify(history, (_k, v: unknown) => {
    if (v instanceof Uint8Array) return Buffer.from(v).toString('utf8');
    if (typeof v === 'bigint') return v.toString();
    return v;
  });
}

describe('security', () => {
  test('API keys: only their SHA-256 is stored; a good key, an unknown, a malformed, a revoked one and none are answered, and none of them or their hashes is logged', async () => {
    const created = await createApiKey(stack.pool, { name: `security-read-${uid()}`, scope: 'read' });
    const row = (await stack.pool.query('SELECT row_to_json(k)::text AS json, key_hash FROM api_keys k WHERE id = $1', [created.id])).rows[0];
    assert.equal(row.json.includes(created.key), false, 'the row holds no plaintext key');
    assert.equal(row.json.includes(created.key.slice(4)), false);
    assert.deepEqual(row.key_hash, createHash('sha256').update(created.key).digest());
    const textColumns = (await stack.pool.query("SELECT column_name FROM information_schema.columns WHERE table_name = 'api_keys' AND data_type IN ('text', 'character varying') ORDER BY 1")).rows.map((r) => r.column_name);
    assert.deepEqual(textColumns, ['id', 'name', 'scope'], 'no text column could hold a key');

    const revoked = await createApiKey(stack.pool, { name: `security-revoked-${uid()}`, scope: 'read' });
    await revokeApiKey(stack.pool, revoked.id);
    const unknown = `rbk_${'A'.repeat(43)}`;
    const malformed = 'hunter2-not-a-key-at-all';
    const from = lines.length;
    assert.equal((await call('GET', '/v1/messages/no-such-message', { key: created.key })).status, 404);
    for (const authorization of [`Bearer ${unknown}`, `Bearer ${malformed}`, `Bearer ${revoked.key}`, `Basic ${Buffer.from(`user:${created.key}`).toString('base64')}`]) {
      const res = await call('GET', '/v1/messages/no-such-message', { authorization });
      assert.equal(res.status, 401, authorization);
      assert.equal(JSON.stringify(res.body).includes(authorization.split(' ')[1]), false, 'the 401 does not echo what was sent');
    }
    assert.equal((await call('GET', '/v1/messages/no-such-message')).status, 401);

    const logged = lines.slice(from);
    assert.ok(logged.filter((l) => /"statusCode":401/.test(l)).length >= 5, `the 401s are logged (the capture works):\n${logged.join('\n')}`);
    assert.ok(logged.some((l) => /"statusCode":404/.test(l)));
    const secrets = [created.key, revoked.key, unknown, malformed, created.key.slice(4), Buffer.from(`user:${created.key}`).toString('base64')];
    for (const k of [created.key, revoked.key, unknown]) secrets.push(hashApiKey(k).toString('hex'), hashApiKey(k).toString('base64'), hashApiKey(k).toString('base64url'));
    assert.deepEqual(linesWith(secrets), [], 'no key and no hash of one is logged');
  });

  test('webhook secrets: used to sign, never logged (a delivery, a failed try, a refused connection) and never in workflow history', async () => {
    const register = async (url: string) => {
      const res = await call('POST', '/v1/webhooks', { key: admin, body: { url, events: ['message.delivered'] } });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      return res.body as { id: string; secret: string };
    };
    const flaky = await register(`${receiverUrl}/flaky`);
    // A port nobody listens on: the try's connection is refused.
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const dead = await register(`http://127.0.0.1:${deadPort}/dead`);

    // The API writes the test event to the outbox; a worker's sweeper starts its workflow within seconds.
    const testEvent = async (id: string): Promise<WorkflowHandle> => {
      const eventId = (await call('POST', `/v1/webhooks/${id}/test`, { key: admin })).body.eventId as string;
      const handle = stack.env.client.workflow.getHandle(webhookWorkflowId(eventId, id));
      await eventually('the webhook workflow started', () => handle.describe().then(() => true, () => false), (v) => v);
      return handle;
    };
    const flakyHandle = await testEvent(flaky.id);
    const deadHandle = await testEvent(dead.id);
    // A real outcome too: a delivered message's event goes to both endpoints.
    const sent = await stack.rebound.send(testMessage([testAddress('ok', uid())]));
    await stack.rebound.result(sent.messageId);

    assert.deepEqual(await flakyHandle.result(), { outcome: 'delivered', tries: 2 });
    await eventually('the refused try is logged', async () => lines.filter((l) => l.includes(dead.id) && l.includes('webhook try failed')).length, (n) => n >= 1);
    // Deleting the endpoint ends its tries at the next one.
    assert.equal((await call('DELETE', `/v1/webhooks/${dead.id}`, { key: admin })).status, 204);
    const deadResult = (await deadHandle.result()) as { outcome: string };
    assert.notEqual(deadResult.outcome, 'delivered');
    await eventually('the delivered event reached /flaky', async () => received.filter((r) => r.path === '/flaky').length, (n) => n >= 3);
    assert.ok(received.filter((r) => r.path === '/flaky').every((r) => /^v1,/.test(String(r.headers['webhook-signature']))), 'signed');

    const failed = lines.filter((l) => l.includes(dead.id) && l.includes('webhook try failed'));
    assert.match(failed[0], /ECONNREFUSED/, 'the failure says why');
    const secrets = [flaky.secret, dead.secret, flaky.secret.slice('whsec_'.length), dead.secret.slice('whsec_'.length)];
    assert.deepEqual(linesWith(secrets), [], 'no webhook secret is logged');
    for (const handle of [flakyHandle, deadHandle]) {
      const text = await historyText(handle);
      assert.ok(text.includes('webhookDeliveryWorkflow') || text.includes('deliverWebhook'), 'the history was read');
      for (const s of secrets) assert.equal(text.includes(s), false, `no secret in the history of ${handle.workflowId}`);
    }
    await stack.pool.query('DELETE FROM webhook_endpoints');
  });

  test('keyed address ids: a hard bounce suppresses the address; the SDK, the API and `rebound address` find its reputation; no id or log holds the address', async () => {
    const address = testAddress('unknown', uid());
    const normalised = normaliseAddress(address);
    const sent = await stack.rebound.send(testMessage([address]));
    const status = await stack.rebound.result(sent.messageId);
    assert.equal(status.recipients[0].state, 'bounced');
    const check = await eventually('suppressed', () => stack.rebound.suppressions.check(address), (c) => c.suppressed);
    assert.equal(check.reason, 'hard_bounce');

    const keyedId = addressWorkflowId(normalised, ADDRESS_ID_KEY);
    assert.match(keyedId, /^address:h:[0-9a-f]{32}$/);
    assert.equal((await stack.env.client.workflow.getHandle(keyedId).describe()).status.name, 'RUNNING');
    await assert.rejects(stack.env.client.workflow.getHandle(reputationWorkflowId(normalised)).describe(), WorkflowNotFoundError, 'no workflow has the address as its id');

    const view = await stack.rebound.suppressions.reputation(address);
    assert.equal(view?.suppressed, true);
    assert.equal(view?.address, normalised);
    const api = await call('GET', `/v1/addresses/${encodeURIComponent(address)}`, { key: admin });
    assert.equal(api.status, 200, JSON.stringify(api.body));
    assert.equal(api.body.reputation?.reason, 'hard_bounce');

    // The command a operator runs, as a child process configured by the environment alone.
    const run = (env: Record<string, string>) =>
      execFileAsync(process.execPath, [path.join(ROOT, 'bin', 'rebound.js'), 'address', address, '--json'], {
        // Where no rebound.config.json is: the environment alone configures it.
        cwd: tmpdir(),
        env: { PATH: process.env.PATH ?? '', TEMPORAL_ADDRESS: stack.env.address, TEMPORAL_NAMESPACE: stack.config.temporalNamespace, DATABASE_URL: TEST_DATABASE_URL, REBOUND_LOG_LEVEL: 'warn', ...env },
        timeout: 30_000,
      }).catch((err: { stderr?: string; stdout?: string; message: string }) => assert.fail(`rebound address failed: ${err.message}${err.stdout}${err.stderr}`));
    const withKey = JSON.parse((await run({ REBOUND_ADDRESS_ID_KEY: ADDRESS_ID_KEY })).stdout);
    assert.equal(withKey.suppressed, true);
    assert.equal(withKey.threshold, stack.config.reputation.softBounceThreshold, 'the reputation workflow answered');
    // Without the key the command looks for address:<address>: the workflow is not found, the table still answers.
    const withoutKey = JSON.parse((await run({})).stdout);
    assert.equal(withoutKey.running, false);
    assert.equal(withoutKey.suppressed, true);

    assert.ok(lines.some((l) => l.includes('"url":"/v1/addresses/<redacted>"')), 'the API logged the request, its address redacted');
    assert.deepEqual(linesWith([reputationWorkflowId(normalised), normalised, encodeURIComponent(address), encodeURIComponent(normalised)]), [], 'no log line names the address, nor its workflow by it');
  });

  test('API headers: nosniff, no X-Powered-By, no-store and a data CSP on /v1, the dashboard framed by nobody; bodies and rates bounded', async () => {
    const answers = {
      v1: await call('GET', '/v1/messages/no-such-message', { key: admin }),
      unauthorized: await call('GET', '/v1/suppressions'),
      health: await call('GET', '/healthz'),
      ui: await call('GET', '/ui'),
      openapi: await call('GET', '/openapi.json'),
      notFound: await call('GET', '/no-such-route'),
    };
    for (const [name, a] of Object.entries(answers)) {
      assert.equal(a.headers.get('x-content-type-options'), 'nosniff', name);
      assert.equal(a.headers.get('x-powered-by'), null, name);
      assert.equal(a.headers.get('referrer-policy'), 'no-referrer', name);
      assert.equal(a.headers.get('x-frame-options'), 'DENY', name);
      assert.match(a.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/, name);
    }
    assert.equal(answers.v1.status, 404);
    assert.equal(answers.unauthorized.status, 401);
    for (const a of [answers.v1, answers.unauthorized]) {
      assert.equal(a.headers.get('cache-control'), 'no-store');
      assert.equal(a.headers.get('content-security-policy'), "default-src 'none'; frame-ancestors 'none'");
    }
    assert.equal(answers.ui.status, 200);
    assert.match(answers.ui.headers.get('content-security-policy') ?? '', /default-src 'none'; script-src 'self'/, 'the dashboard keeps its own policy');
    const docs = await fetch(`${base}/docs/`, { redirect: 'follow' });
    assert.equal(docs.status, 200);
    assert.equal(docs.headers.get('x-content-type-options'), 'nosniff');

    // Bounds, on an API with small ones: a body over the limit is refused before it is parsed, a key over its rate is 429.
    const small = await buildApiServer({ rebound: stack.rebound, pool: stack.pool, config: { ...stack.config, maxMessageBytes: 1024, apiRateLimitPerMinute: 3 }, logger: logger.child({}, { level: 'warn' }) });
    const smallBase = await small.listen({ host: '127.0.0.1', port: 0 });
    try {
      const sender = (await createApiKey(stack.pool, { name: `security-small-${uid()}`, scope: 'send' })).key;
      const huge = await fetch(`${smallBase}/v1/messages`, { method: 'POST', headers: { authorization: `Bearer ${sender}`, 'content-type': 'application/json' }, body: JSON.stringify(testMessage([testAddress('ok', uid())], { text: 'x'.repeat(2 * 1024 * 1024) })) });
      assert.equal(huge.status, 413);
      assert.equal(huge.headers.get('cache-control'), 'no-store');
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await fetch(`${smallBase}/v1/messages/x`, { headers: { authorization: `Bearer ${sender}` } })).status);
      assert.deepEqual(statuses.slice(0, 2), [404, 404]);
      assert.equal(statuses[3], 429);
    } finally {
      await small.close();
    }
  });
});
