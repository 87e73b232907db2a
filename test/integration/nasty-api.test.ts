// The HTTP API against nasty input (README "Tests", nasty inputs): the real fastify server on a
// free port, in front of a real PostgreSQL (the keys), over fetch and raw sockets. No Temporal
// server: no request here may get as far as starting a delivery (the client's connection is
// lazy and unused). Each case gets its documented answer — a problem body naming the field, 413
// over the body limit, 400 for what is not HTTP or not JSON — and slow clients are cut off by
// the timeouts of the typed configuration, set low here. The server is alive at the end.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import type { Pool } from 'pg';
import { createApiKey } from '../../src/api/keys';
import { bodyLimitFor, buildApiServer, timeoutCheckIntervalMs } from '../../src/api/server';
import { ReboundClient } from '../../src/client/rebound-client';
import { loadConfig, type ReboundConfig } from '../../src/config';
import { createPool } from '../../src/db/pool';
import { prepareDatabase } from '../../src/db/setup';
import { logger } from '../../src/log';
import { rawClient, trickle } from '../helpers/nasty';
import { TEST_DATABASE_URL } from '../helpers/stack';

const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;
const TIMEOUTS: ReboundConfig['apiTimeouts'] = { headersMs: 1_000, requestMs: 2_000, idleMs: 2_000, keepAliveMs: 1_000 };
/** How long after a timeout the server may take to act on it: node:http looks at its timers every timeoutCheckIntervalMs. */
const SLACK_MS = timeoutCheckIntervalMs(TIMEOUTS) + 1_500;

let pool: Pool;
let connection: Connection;
let app: FastifyInstance;
let base: string;
let host: string;
let port: number;
let key: string;

before(async () => {
  await prepareDatabase(TEST_DATABASE_URL);
  pool = createPool(TEST_DATABASE_URL);
  connection = Connection.lazy({ address: '127.0.0.1:1' });
  const rebound = new ReboundClient({ client: new Client({ connection }), pool, taskQueue: 'nasty-api-test', maxMessageBytes: MAX_MESSAGE_BYTES });
  const config: ReboundConfig = { ...loadConfig({}), databaseUrl: TEST_DATABASE_URL, maxMessageBytes: MAX_MESSAGE_BYTES, apiTimeouts: TIMEOUTS };
  app = await buildApiServer({ rebound, pool, config, logger: logger.child({}, { level: 'fatal' }) });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
  host = new URL(base).hostname;
  port = Number(new URL(base).port);
  key = (await createApiKey(pool, { name: 'nasty-api-test', scope: 'send' })).key;
});

after(async () => {
  await app?.close();
  await pool?.end();
  await connection?.close();
});

const VALID = { from: 'sender@example.com', to: 'rcpt@example.org', subject: 'Hello', text: 'body' };

async function post(body: string | Buffer, headers: Record<string, string> = {}): Promise<{ status: number; type: string | null; body: any }> {
  const res = await fetch(`${base}/v1/messages`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers }, body });
  const text = await res.text();
  return { status: res.status, type: res.headers.get('content-type'), body: text ? JSON.parse(text) : null };
}

function assertProblem(a: { status: number; type: string | null; body: any }, status: number, field?: string): void {
  assert.equal(a.status, status, JSON.stringify(a.body)?.slice(0, 300));
  assert.match(a.type ?? '', /^application\/problem\+json/);
  assert.equal(a.body.status, status);
  assert.match(a.body.type, /^urn:rebound:problem:/);
  assert.equal(typeof a.body.detail, 'string');
  if (field !== undefined) assert.deepEqual(a.body.errors?.map((e: { field: string }) => e.field), [field]);
}

describe('HTTP API, nasty inputs', () => {
  test('100 000 recipients in one POST: 422 naming to', async () => {
    const to = Array.from({ length: 100_000 }, (_, i) => `r${i}@example.org`);
    assertProblem(await post(JSON.stringify({ ...VALID, to })), 422, 'to');
  });

  test('a body over the limit (a 10 MB single-line text): 413 with a problem body', async () => {
    assert.ok(10 * 1024 * 1024 > bodyLimitFor(MAX_MESSAGE_BYTES));
    assertProblem(await post(JSON.stringify({ ...VALID, text: 'x'.repeat(10 * 1024 * 1024) })), 413);
  });

  test('a chunked body over the limit is cut off at the limit, not read to its end', async () => {
    const client = await rawClient(host, port);
    await client.write(`POST /v1/messages HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`);
    const chunk = Buffer.alloc(256 * 1024, 'x');
    let sent = 0;
    // Up to 8 times the limit: the server must answer (and stop reading) before.
    while (sent < 8 * bodyLimitFor(MAX_MESSAGE_BYTES) && !/^HTTP\/1\.1 /.test(client.received()) && client.socket.writable) {
      await client.write(Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]));
      sent += chunk.length;
    }
    await client.waitFor(/^HTTP\/1\.1 413 /, 5_000);
    // The body never ends (no last chunk): an answer at all means it was not read to its end.
    // What was sent past the limit is what the kernel's socket buffers took meanwhile.
    assert.ok(sent < 8 * bodyLimitFor(MAX_MESSAGE_BYTES), `answered after ${sent} bytes`);
    assert.match(client.received(), /urn:rebound:problem:payload-too-large/);
    await client.closedWithin(5_000);
  });

  test('JSON nested 100 000 levels deep: a 4xx problem, no stack overflow', async () => {
    const deep = `{"from":"sender@example.com","subject":"x","text":"y","to":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
    const a = await post(deep);
    assert.ok(a.status === 400 || a.status === 422, `status ${a.status}`);
    assertProblem(a, a.status, a.status === 422 ? 'to[0]' : undefined);
    const objects = await post(`${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}`);
    assert.ok(objects.status === 400 || objects.status === 422, `status ${objects.status}`);
    assertProblem(objects, objects.status);
  });

  test('invalid UTF-8 in the body: a header name with it is refused naming the header, bytes outside strings are malformed JSON', async () => {
    const name = Buffer.concat([Buffer.from('{"from":"sender@example.com","to":"rcpt@example.org","subject":"x","text":"y","headers":{"X-'), Buffer.from([0xff, 0xfe, 0xc0, 0xaf]), Buffer.from('":"v"}}')]);
    const a = await post(name);
    assertProblem(a, 422);
    assert.match(a.body.errors[0].field, /^headers\[/);
    assertProblem(await post(Buffer.concat([Buffer.from('{"from":'), Buffer.from([0xff, 0xfe]), Buffer.from('}')])), 400);
  });

  test('header injection through the API: CR/LF in the subject is refused naming subject', async () => {
    assertProblem(await post(JSON.stringify({ ...VALID, subject: 'Hi\r\nBcc: victim@example.net' })), 422, 'subject');
  });

  test('malformed HTTP: a header line without a colon, 8-bit header bytes, a 10 MB header — 400 or 431, the connection closed', async () => {
    for (const request of [
      Buffer.from(`GET /healthz HTTP/1.1\r\nHost: ${host}\r\nNo colon here\r\n\r\n`),
      Buffer.concat([Buffer.from(`GET /healthz HTTP/1.1\r\nHost: ${host}\r\nX-Bad\x01Name: v\r\n`), Buffer.from([0xff, 0xfe]), Buffer.from('\r\n\r\n')]),
      Buffer.from(`GET /healthz HTTP/1.1\r\nHost: ${host}\r\nX-Big: ${'a'.repeat(10 * 1024 * 1024)}\r\n\r\n`),
    ]) {
      const client = await rawClient(host, port);
      await client.write(request);
      await client.waitFor(/^HTTP\/1\.1 (400|431) /, 5_000);
      await client.closedWithin(5_000);
    }
  });

  test(`slow-loris headers, one byte a second: closed by the headers timeout (${TIMEOUTS.headersMs} ms)`, async () => {
    const client = await rawClient(host, port);
    const trickling = trickle(client, `GET /healthz HTTP/1.1\r\nHost: ${host}\r\nX-Slow: ${'a'.repeat(60)}\r\n\r\n`, 1_000);
    const closedAfter = await client.closedWithin(TIMEOUTS.headersMs + SLACK_MS);
    assert.ok(closedAfter >= TIMEOUTS.headersMs - 50, `closed after ${closedAfter} ms, before the timeout`);
    assert.ok((await trickling) < 10, 'the trickle was cut short');
  });

  test(`slow-loris body, one byte a second: closed by the request timeout (${TIMEOUTS.requestMs} ms)`, async () => {
    const client = await rawClient(host, port);
    const body = JSON.stringify(VALID);
    await client.write(`POST /v1/messages HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
    const trickling = trickle(client, body, 500);
    await client.closedWithin(TIMEOUTS.requestMs + SLACK_MS);
    assert.ok((await trickling) < body.length, 'the trickle was cut short');
  });

  test(`a silent connection: closed (${TIMEOUTS.headersMs} ms headers / ${TIMEOUTS.idleMs} ms idle timeout)`, async () => {
    const client = await rawClient(host, port);
    await client.closedWithin(Math.max(TIMEOUTS.headersMs, TIMEOUTS.idleMs) + SLACK_MS);
  });

  test('after all of it the server still answers', async () => {
    const res = await fetch(`${base}/healthz`);
    assert.equal(res.status, 200);
    assertProblem(await post(JSON.stringify({ ...VALID, to: 'not an address' })), 422, 'to');
  });
});
