// Payload encryption end to end (README "Payload encryption"): a worker and a client with the
// codec, on the real dev server with its SQLite file. Read without the codec, the history and the
// server's database hold no recipient address and no server reply; the codec client reads the
// status; the API's codec server decodes what the worker wrote, for a key only, with CORS for the
// Temporal UI.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { FastifyInstance } from 'fastify';
import { createApiKey, revokeApiKey } from '../../src/api/keys';
import { CODEC_BODY_LIMIT, CODEC_COOKIE } from '../../src/api/routes/codec';
import { buildApiServer } from '../../src/api/server';
import { ENCRYPTED_ENCODING, KEY_ID_METADATA } from '../../src/codec/contract';
import { logger } from '../../src/log';
import { temporalCliPath } from '../../src/dev/tools';
import { startDevStack, type DevStack } from '../helpers/dev-stack';
import { testMessage, uid } from '../helpers/stack';
import { ENCRYPTED_HISTORIES_DIR, TEST_PAYLOAD_KEYS } from '../helpers/codec';

const UI = 'http://localhost:8233';
const dir = mkdtempSync(path.join(os.tmpdir(), 'rebound-codec-'));
const dbFile = path.join(dir, 'temporal.db');

let stack: DevStack;
let plain: { connection: Connection; client: Client };
let app: FastifyInstance;
let base: string;
const keys: Record<'read' | 'admin', string> = { read: '', admin: '' };
const tag = uid();
const to = [`soft-1+${tag}@example.test`, `unknown+${tag}@example.test`, `ok+${tag}@example.org`];
let messageId = '';

before(async () => {
  stack = await startDevStack({ payloadKeys: TEST_PAYLOAD_KEYS }, { dbFile });
  const connection = await Connection.connect({ address: stack.server.address });
  plain = { connection, client: new Client({ connection, namespace: stack.config.temporalNamespace }) };
  app = await buildApiServer({ rebound: stack.rebound, pool: stack.pool, config: stack.config, logger: logger.child({}, { level: 'warn' }) });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
  keys.read = (await createApiKey(stack.pool, { name: 'codec-test-read', scope: 'read' })).key;
  keys.admin = (await createApiKey(stack.pool, { name: 'codec-test-admin', scope: 'admin' })).key;
  ({ messageId } = await stack.rebound.send(testMessage(to, { subject: 'Codec subject', delays: ['1s'], deadline: '1m' })));
  await stack.rebound.result(messageId);
});

after(async () => {
  await app?.close();
  await plain?.connection.close();
  await stack?.teardown();
  rmSync(dir, { recursive: true, force: true });
});

/** Every Payload in a history: objects with a metadata map (inputs, results, failures' attributes, summaries, search attributes). */
function payloadsIn(value: unknown, out: { path: string; encoding: string }[] = [], at = ''): { path: string; encoding: string }[] {
  if (!value || typeof value !== 'object' || value instanceof Uint8Array) return out;
  const v = value as Record<string, unknown>;
  if (v.metadata && typeof v.metadata === 'object' && (v.metadata as Record<string, unknown>).encoding instanceof Uint8Array) {
    out.push({ path: at, encoding: Buffer.from((v.metadata as Record<string, Uint8Array>).encoding).toString() });
    return out;
  }
  for (const [k, child] of Object.entries(v)) payloadsIn(child, out, `${at}.${k}`);
  return out;
}

const REPLY_TEXTS = ['Recipient address rejected', 'Temporary local problem'];

test('the codec client reads the status; without the codec, the history holds no address and no reply', async () => {
  const status = await stack.rebound.status(messageId);
  assert.equal(status.state, 'partially_delivered');
  const unknown = status.recipients.find((r) => r.address.startsWith('unknown+'))!;
  assert.match(unknown.lastReply?.text ?? '', /Recipient address rejected/);

  const history = await plain.client.workflow.getHandle(status.workflowId).fetchHistory();
  const found = payloadsIn(history.events);
  // Search attributes are the server's to index, and patch markers (patched()) and a local
  // activity marker's `data` (its type, sequence number and times) are written by the SDK's core:
  // none goes through the codec (README "Payload encryption"). The local activity's result does.
  const coreWritten = (path: string) => path.includes('searchAttributes') || path.includes('patch-data') || /markerRecordedEventAttributes\.details\.data\./.test(path);
  const codecPayloads = found.filter((p) => !coreWritten(p.path));
  assert.ok(found.some((p) => /markerRecordedEventAttributes\.details\.result\./.test(p.path) && p.encoding === ENCRYPTED_ENCODING), 'a local attempt\'s result is encrypted');
  assert.ok(codecPayloads.length >= 5, `payloads in the history: ${JSON.stringify(found)}`);
  assert.deepEqual(codecPayloads.filter((p) => p.encoding !== ENCRYPTED_ENCODING), [], 'every other payload is encrypted');
  const bytes = Buffer.from(temporal.api.history.v1.History.encode(history).finish()).toString('latin1');
  for (const secret of [tag, ...REPLY_TEXTS, 'Codec subject']) assert.ok(!bytes.includes(secret), `the raw history contains ${JSON.stringify(secret)}`);

  // With REBOUND_RECORD_HISTORIES=1, kept for the replay test (which replays it with the test keys).
  if (process.env.REBOUND_RECORD_HISTORIES === '1') {
    mkdirSync(ENCRYPTED_HISTORIES_DIR, { recursive: true });
    writeFileSync(path.join(ENCRYPTED_HISTORIES_DIR, 'codec-local-partially-delivered.binpb'), temporal.api.history.v1.History.encode(history).finish());
  }

  // What stays readable, by design: the recipient domains, a search attribute the UI filters on.
  assert.ok(bytes.includes('example.test') && bytes.includes('RecipientDomains'));

  // Without the codec, a client cannot read the result.
  await assert.rejects(plain.client.workflow.getHandle(status.workflowId).result(), /binary\/encrypted|Unknown encoding/);
});

test("the server's own database keeps no reply text and no delivery input in plain text", async () => {
  const files = [dbFile, `${dbFile}-wal`].filter((f) => existsSync(f));
  assert.ok(files.length > 0, `the dev server wrote ${dbFile}`);
  const stored = Buffer.concat(files.map((f) => readFileSync(f))).toString('latin1');
  // The status query's answer and the result are encrypted too; the message id is the workflow id, not a secret.
  assert.ok(stored.includes(messageId), 'the scan reads what the server stored');
  for (const secret of [...REPLY_TEXTS, `"recipients":["soft-1+${tag}`]) assert.ok(!stored.includes(secret), `the server's database contains ${JSON.stringify(secret)}`);
});

async function codecCall(op: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; body: any }> {
  const res = await fetch(`${base}/codec/${op}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-namespace': 'default', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null };
}

/** The workflow's input as the Temporal UI gets it from the server: proto3 JSON, base64 bytes. */
async function startInputJson(): Promise<{ payloads: { metadata: Record<string, string>; data: string }[] }> {
  const history = await plain.client.workflow.getHandle(`delivery:${messageId}`).fetchHistory();
  const input = history.events![0].workflowExecutionStartedEventAttributes!.input!.payloads!;
  return { payloads: input.map((p) => ({ metadata: Object.fromEntries(Object.entries(p.metadata!).map(([k, v]) => [k, Buffer.from(v).toString('base64')])), data: Buffer.from(p.data!).toString('base64') })) };
}

test('codec server: decode needs a key of scope read, and returns what the worker wrote', async () => {
  const encrypted = await startInputJson();
  assert.equal(Buffer.from(encrypted.payloads[0].metadata.encoding, 'base64').toString(), ENCRYPTED_ENCODING);
  assert.equal(Buffer.from(encrypted.payloads[0].metadata[KEY_ID_METADATA], 'base64').toString(), 'test-2026');

  const anonymous = await codecCall('decode', encrypted);
  assert.equal(anonymous.status, 401);
  assert.match(anonymous.body.detail, /needs an API key/);
  assert.equal((await codecCall('decode', encrypted, { authorization: 'Bearer rbk_not-a-key' })).status, 401);

  const decoded = await codecCall('decode', encrypted, { authorization: `Bearer ${keys.read}` });
  assert.equal(decoded.status, 200);
  assert.equal(Buffer.from(decoded.body.payloads[0].metadata.encoding, 'base64').toString(), 'json/plain');
  const input = JSON.parse(Buffer.from(decoded.body.payloads[0].data, 'base64').toString());
  assert.deepEqual(input.recipients, to);

  // Plain payloads pass through (histories from before the codec).
  const plainPayload = { metadata: { encoding: Buffer.from('json/plain').toString('base64') }, data: Buffer.from('"x"').toString('base64') };
  assert.deepEqual((await codecCall('decode', { payloads: [plainPayload] }, { authorization: `Bearer ${keys.read}` })).body, { payloads: [plainPayload] });

  // A payload of a key this API lacks: the key id and the payload are named.
  const foreign = structuredClone(encrypted);
  foreign.payloads[0].metadata[KEY_ID_METADATA] = Buffer.from('retired-2024').toString('base64');
  const unknownKey = await codecCall('decode', foreign, { authorization: `Bearer ${keys.read}` });
  assert.equal(unknownKey.status, 422);
  assert.deepEqual(unknownKey.body.errors.map((e: { field: string }) => e.field), ['payloads[0]']);
  assert.match(unknownKey.body.detail, /key "retired-2024", which is not in REBOUND_PAYLOAD_KEYS/);
  const badField = await codecCall('decode', { payloads: [{ metadata: { encoding: 'not base64!' } }] }, { authorization: `Bearer ${keys.read}` });
  assert.equal(badField.status, 422);
  assert.equal(badField.body.errors[0].field, 'payloads[0].metadata.encoding');

  const tooBig = await codecCall('decode', JSON.stringify({ payloads: [{ data: 'A'.repeat(CODEC_BODY_LIMIT) }] }), { authorization: `Bearer ${keys.read}` });
  assert.equal(tooBig.status, 413);
});

test('codec server: encode needs scope admin; what it encrypts decodes back', async () => {
  const plainPayload = { metadata: { encoding: Buffer.from('json/plain').toString('base64') }, data: Buffer.from(JSON.stringify({ to: `x+${tag}@example.test` })).toString('base64') };
  const refused = await codecCall('encode', { payloads: [plainPayload] }, { authorization: `Bearer ${keys.read}` });
  assert.equal(refused.status, 403);
  assert.match(refused.body.detail, /scope "admin"/);
  const encoded = await codecCall('encode', { payloads: [plainPayload] }, { authorization: `Bearer ${keys.admin}` });
  assert.equal(encoded.status, 200);
  assert.ok(!Buffer.from(encoded.body.payloads[0].data, 'base64').toString('latin1').includes(tag));
  const back = await codecCall('decode', encoded.body, { authorization: `Bearer ${keys.read}` });
  assert.deepEqual(back.body, { payloads: [plainPayload] });
});

test('codec server: CORS preflight for the configured UI only', async () => {
  const preflight = (origin: string, path = '/codec/decode') =>
    fetch(`${base}${path}`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-namespace' } });
  const ok = await preflight(UI);
  assert.equal(ok.status, 204);
  assert.equal(ok.headers.get('access-control-allow-origin'), UI);
  assert.equal(ok.headers.get('access-control-allow-credentials'), 'true');
  assert.match(ok.headers.get('access-control-allow-headers') ?? '', /X-Namespace/i);
  assert.match(ok.headers.get('access-control-allow-methods') ?? '', /POST/);
  const elsewhere = await preflight('https://evil.example');
  assert.equal(elsewhere.status, 403);
  assert.equal(elsewhere.headers.get('access-control-allow-origin'), null);
  assert.equal((await preflight(UI, '/codec/encode')).status, 204);
});

test('codec server: a browser session from the dashboard works from the Temporal UI only, and ends with the key', async () => {
  const { key, id } = await createApiKey(stack.pool, { name: 'codec-test-session', scope: 'read' });
  assert.equal((await fetch(`${base}/codec/session`, { method: 'POST' })).status, 401);
  const session = await fetch(`${base}/codec/session`, { method: 'POST', headers: { authorization: `Bearer ${key}` } });
  assert.equal(session.status, 200);
  const setCookie = session.headers.get('set-cookie') ?? '';
  assert.match(setCookie, new RegExp(`^${CODEC_COOKIE}=rbk_`));
  for (const attribute of ['HttpOnly', 'SameSite=Strict', 'Path=/codec', 'Max-Age=28800']) assert.ok(setCookie.includes(attribute), `${attribute} in ${setCookie}`);
  const cookie = setCookie.split(';')[0];

  const encrypted = await startInputJson();
  const fromUi = await codecCall('decode', encrypted, { cookie, origin: UI });
  assert.equal(fromUi.status, 200);
  assert.equal(fromUi.headers.get('access-control-allow-origin'), UI);
  assert.equal(fromUi.headers.get('access-control-allow-credentials'), 'true');
  assert.deepEqual(JSON.parse(Buffer.from(fromUi.body.payloads[0].data, 'base64').toString()).recipients, to);

  const fromElsewhere = await codecCall('decode', encrypted, { cookie, origin: 'https://evil.example' });
  assert.equal(fromElsewhere.status, 403);
  assert.equal(fromElsewhere.headers.get('access-control-allow-origin'), null);
  assert.equal((await codecCall('decode', encrypted, { cookie })).status, 403, 'no Origin: not a browser on the UI');

  await revokeApiKey(stack.pool, id);
  assert.equal((await codecCall('decode', encrypted, { cookie, origin: UI })).status, 401);
  const ended = await fetch(`${base}/codec/session`, { method: 'DELETE' });
  assert.match(ended.headers.get('set-cookie') ?? '', /Max-Age=0/);
});

test('the temporal CLI shows a run decoded through the codec server, with --codec-auth', async () => {
  const show = (auth: string[]) =>
    promisify(execFile)(temporalCliPath(), ['workflow', 'show', '--address', stack.server.address, '--workflow-id', `delivery:${messageId}`, '--output', 'json', '--codec-endpoint', `${base}/codec`, ...auth], { maxBuffer: 16 * 1024 * 1024 });
  const { stdout } = await show(['--codec-auth', `Bearer ${keys.read}`]);
  // proto3 JSON: each payload as the codec server returned it, its data still base64.
  const events = (JSON.parse(stdout) as { events: Record<string, any>[] }).events;
  const text = (p: { metadata: { encoding: string }; data: string }) => ({ encoding: Buffer.from(p.metadata.encoding, 'base64').toString(), data: Buffer.from(p.data, 'base64').toString() });
  const input = text(events[0].workflowExecutionStartedEventAttributes.input.payloads[0]);
  assert.equal(input.encoding, 'json/plain');
  assert.deepEqual(JSON.parse(input.data).recipients, to);
  const completed = events.find((e) => e.workflowExecutionCompletedEventAttributes)!;
  assert.match(text(completed.workflowExecutionCompletedEventAttributes.result.payloads[0]).data, /Recipient address rejected/);
  // Without --codec-auth the codec server answers 401 (tested above over HTTP); the CLI then retries until its deadline.
});
