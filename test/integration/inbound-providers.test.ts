// The providers' event webhooks end to end: the real API server (buildApiServer) on a free port,
// over `fetch`, storing in a real PostgreSQL. Signed requests are made as each provider makes
// them (test/helpers/provider-signing.ts): SES through SNS with a local certificate and a local
// SubscribeURL, SendGrid with a generated ECDSA key, Mailgun's HMAC, Postmark's basic auth.
// No Temporal server: these routes never use it (the client's connection is lazy and unused).
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import type { Pool } from 'pg';
import { INBOUND_RATE_LIMIT_PER_MINUTE } from '../../src/api/routes/inbound';
import { buildApiServer } from '../../src/api/server';
import { ReboundClient } from '../../src/client/rebound-client';
import { loadConfig, type ReboundConfig } from '../../src/config';
import { createPool } from '../../src/db/pool';
import { prepareDatabase } from '../../src/db/setup';
import { logger } from '../../src/log';
import { mailgunFailed, postmarkBounce, postmarkDelivery, sendgridBounce, sendgridOpen, sendgridSpamReport, sesBounce, sesDelivery } from '../helpers/provider-payloads';
import { basicAuth, makeSendgridSigner, makeSnsSigner, signMailgun, signSendgrid, signSns, snsNotification, type SnsFields } from '../helpers/provider-signing';
import { TEST_DATABASE_URL, uid } from '../helpers/stack';

const TOPIC = 'arn:aws:sns:us-east-1:123456789012:rebound-inbound-test';
const MAILGUN_KEY = `key-${uid()}${uid()}`;
const POSTMARK = { user: 'postmark', password: `pw-${uid()}` };

const sns = makeSnsSigner();
const sendgrid = makeSendgridSigner();
const quiet = logger.child({}, { level: 'warn' });

let pool: Pool;
let connection: Connection;
let temporal: Client;
let app: FastifyInstance;
let base: string;
let subscribeServer: Server;
let subscribeUrl: string;
const confirmations: string[] = [];

function configWith(providers: ReboundConfig['providers']): ReboundConfig {
  return { ...loadConfig({}), databaseUrl: TEST_DATABASE_URL, providers };
}

async function server(p: Pool, providers: ReboundConfig['providers'], log = quiet): Promise<FastifyInstance> {
  const rebound = new ReboundClient({ client: temporal, pool: p, taskQueue: 'inbound-test' });
  return buildApiServer({ rebound, pool: p, config: configWith(providers), logger: log });
}

before(async () => {
  await prepareDatabase(TEST_DATABASE_URL);
  pool = createPool(TEST_DATABASE_URL);
  connection = Connection.lazy({ address: '127.0.0.1:1' });
  temporal = new Client({ connection });
  subscribeServer = createServer((req, res) => {
    confirmations.push(req.url ?? '');
    res.writeHead(200, { 'content-type': 'text/xml' }).end('<ConfirmSubscriptionResponse/>');
  });
  await new Promise<void>((resolve) => subscribeServer.listen(0, '127.0.0.1', resolve));
  subscribeUrl = `http://127.0.0.1:${(subscribeServer.address() as AddressInfo).port}/?Action=ConfirmSubscription&TopicArn=${TOPIC}&Token=`;
  app = await server(pool, {
    ses: { topicArns: [TOPIC], certFile: sns.certFile },
    sendgridVerificationKey: sendgrid.verificationKey,
    mailgunSigningKey: MAILGUN_KEY,
    postmarkAuth: POSTMARK,
  });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
});

after(async () => {
  await app?.close();
  await new Promise((resolve) => subscribeServer?.close(resolve));
  await pool?.end();
  await connection?.close();
  sns.cleanup();
});

interface Answer {
  status: number;
  type: string | null;
  headers: Headers;
  body: any;
}

async function post(path: string, body: string, headers: Record<string, string> = {}, at = base): Promise<Answer> {
  const res = await fetch(`${at}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  const text = await res.text();
  return { status: res.status, type: res.headers.get('content-type'), headers: res.headers, body: text ? JSON.parse(text) : null };
}

function assertProblem(a: Answer, status: number, detail?: RegExp): void {
  assert.equal(a.status, status, JSON.stringify(a.body));
  assert.match(a.type ?? '', /^application\/problem\+json/);
  assert.equal(a.body.status, status);
  if (detail) assert.match(a.body.detail, detail);
}

async function storedEvents(source: string, eventId: string): Promise<Record<string, unknown>[]> {
  const res = await pool.query(`SELECT event FROM inbound_reports WHERE source = $1 AND event->>'eventId' = $2 ORDER BY event->>'recipient'`, [source, eventId]);
  return res.rows.map((r) => r.event);
}

/** An SNS message as SNS posts it: JSON with Content-Type text/plain. */
const postSns = (message: SnsFields, at = base) => post('/v1/inbound/ses', JSON.stringify(message), { 'content-type': 'text/plain; charset=UTF-8', 'x-amz-sns-message-type': message.Type }, at);

describe('SES through SNS', () => {
  test('a signed bounce is stored, once however often SNS redelivers it', async () => {
    const tag = uid();
    const message = signSns(sns, snsNotification(TOPIC, sesBounce('Permanent', [{ emailAddress: `bob+${tag}@example.org`, status: '5.1.1', diagnosticCode: 'smtp; 550 5.1.1 user unknown' }], `ses-${tag}`)));
    const first = await postSns(message);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.deepEqual(first.body, { stored: 1, duplicates: 0, ignored: 0 });
    const again = await postSns(message);
    assert.deepEqual(again.body, { stored: 0, duplicates: 1, ignored: 0 });
    const rows = await storedEvents('ses', message.MessageId);
    assert.equal(rows.length, 1);
    assert.deepEqual(
      { provider: rows[0].provider, type: rows[0].type, recipient: rows[0].recipient, queueId: rows[0].queueId, status: rows[0].status, code: rows[0].code, permanent: rows[0].permanent, reboundRef: rows[0].reboundRef },
      { provider: 'ses', type: 'bounce', recipient: `bob+${tag}@example.org`, queueId: `ses-${tag}`, status: '5.1.1', code: '550', permanent: true, reboundRef: 'r1.order-1234' },
    );
  });

  test('tampered, unsigned, another topic or a weaker signature: 401, nothing stored', async () => {
    const message = signSns(sns, snsNotification(TOPIC, sesBounce('Permanent', [{ emailAddress: `eve+${uid()}@example.org` }])));
    const { Signature: _s, SignatureVersion: _v, SigningCertURL: _u, ...unsigned } = message;
    const cases: [string, SnsFields, RegExp][] = [
      ['Message changed', { ...message, Message: message.Message.replace('eve+', 'mallory+') }, /does not verify/],
      ['unsigned', unsigned, /not signed/],
      ['another topic', signSns(sns, { ...unsigned, TopicArn: `${TOPIC}-other` }), /not in REBOUND_SES_TOPIC_ARNS/],
      ['SignatureVersion 1', { ...message, SignatureVersion: '1' }, /SignatureVersion 1/],
    ];
    for (const [name, body, detail] of cases) assertProblem(await postSns(body), 401, detail);
    assert.equal((await storedEvents('ses', message.MessageId)).length, 0);
  });

  test('a SubscriptionConfirmation is confirmed at its SubscribeURL', async () => {
    const token = uid();
    const message = signSns(sns, { Type: 'SubscriptionConfirmation', MessageId: `sub-${token}`, Token: token, TopicArn: TOPIC, Message: `You have chosen to subscribe to the topic ${TOPIC}.`, SubscribeURL: `${subscribeUrl}${token}`, Timestamp: new Date().toISOString() });
    const answer = await postSns(message);
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.deepEqual(answer.body, { stored: 0, duplicates: 0, ignored: 0, subscriptionConfirmed: true });
    assert.ok(confirmations.some((url) => url.endsWith(`Token=${token}`)), `SubscribeURL was called: ${JSON.stringify(confirmations)}`);
  });

  test('a delivery notification is ignored, counted', async () => {
    const answer = await postSns(signSns(sns, snsNotification(TOPIC, sesDelivery('bob@example.org'))));
    assert.deepEqual(answer.body, { stored: 0, duplicates: 0, ignored: 1 });
    // Counted per remote address (no API key), at the inbound routes' own limit.
    assert.equal(answer.headers.get('x-ratelimit-limit'), String(INBOUND_RATE_LIMIT_PER_MINUTE));
  });

  test('not JSON: 400; not an SNS message: 400 naming the field; too large: 413', async () => {
    assertProblem(await post('/v1/inbound/ses', '{"Type":', { 'content-type': 'text/plain' }), 400);
    const shape = await post('/v1/inbound/ses', JSON.stringify(sesDelivery('bob@example.org')));
    assertProblem(shape, 400);
    assert.equal(shape.body.errors[0].field, 'Type');
    assertProblem(await post('/v1/inbound/ses', JSON.stringify({ Message: 'x'.repeat(1024 * 1024 + 1) })), 413);
    assertProblem(await post('/v1/inbound/ses', 'a=b', { 'content-type': 'application/x-www-form-urlencoded' }), 415);
  });
});

describe('SendGrid', () => {
  test('a signed batch: bounces and complaints stored, opens ignored; the same batch again is all duplicates', async () => {
    const tag = uid();
    const body = JSON.stringify([sendgridBounce(`bob+${tag}@example.org`, 'bounce', `sg-b-${tag}`), sendgridOpen(`bob+${tag}@example.org`, `sg-o-${tag}`), sendgridSpamReport(`carol+${tag}@example.org`, `sg-s-${tag}`)]);
    const first = await post('/v1/inbound/sendgrid', body, signSendgrid(sendgrid, body));
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.deepEqual(first.body, { stored: 2, duplicates: 0, ignored: 1 });
    assert.deepEqual((await post('/v1/inbound/sendgrid', body, signSendgrid(sendgrid, body))).body, { stored: 0, duplicates: 2, ignored: 1 });
    const [bounce] = await storedEvents('sendgrid', `sg-b-${tag}`);
    assert.deepEqual([bounce.type, bounce.queueId, bounce.messageIdHeader, bounce.permanent], ['bounce', 'Xy12AbCdEfGhIjKl', '<order-1234@example.com>', true]);
    const [complaint] = await storedEvents('sendgrid', `sg-s-${tag}`);
    assert.equal(complaint.type, 'complaint');
  });

  test('tampered or unsigned: 401, nothing stored; signed but not JSON: 400', async () => {
    const tag = uid();
    const body = JSON.stringify([sendgridBounce(`eve+${tag}@example.org`, 'bounce', `sg-t-${tag}`)]);
    const headers = signSendgrid(sendgrid, body);
    assertProblem(await post('/v1/inbound/sendgrid', body.replace('eve+', 'mallory+'), headers), 401, /does not verify/);
    assertProblem(await post('/v1/inbound/sendgrid', body), 401, /Signed Event Webhook/);
    assertProblem(await post('/v1/inbound/sendgrid', body, signSendgrid(makeSendgridSigner(), body)), 401);
    assert.equal((await storedEvents('sendgrid', `sg-t-${tag}`)).length, 0);
    const notJson = '[{"event":';
    assertProblem(await post('/v1/inbound/sendgrid', notJson, signSendgrid(sendgrid, notJson)), 400);
  });
});

describe('Mailgun', () => {
  test('a signed failure is stored; Mailgun redelivering it is a duplicate; its signature on another event is refused', async () => {
    const tag = uid();
    const signature = signMailgun(MAILGUN_KEY);
    const request = { signature, 'event-data': mailgunFailed(`bob+${tag}@example.org`, 'permanent', `mg-${tag}`) };
    const first = await post('/v1/inbound/mailgun', JSON.stringify(request));
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.deepEqual(first.body, { stored: 1, duplicates: 0, ignored: 0 });
    assert.deepEqual((await post('/v1/inbound/mailgun', JSON.stringify(request))).body, { stored: 0, duplicates: 1, ignored: 0 });
    const replayed = { signature, 'event-data': mailgunFailed(`victim+${tag}@example.org`, 'permanent', `mg-other-${tag}`) };
    assertProblem(await post('/v1/inbound/mailgun', JSON.stringify(replayed)), 401, /already used/);
    assert.equal((await storedEvents('mailgun', `mg-other-${tag}`)).length, 0);
    const [event] = await storedEvents('mailgun', `mg-${tag}`);
    assert.deepEqual([event.type, event.status, event.messageIdHeader], ['bounce', '5.1.1', '<order-1234@example.com>']);
  });

  test('a wrong signature or key: 401', async () => {
    const tag = uid();
    const eventData = mailgunFailed(`eve+${tag}@example.org`, 'permanent', `mg-bad-${tag}`);
    assertProblem(await post('/v1/inbound/mailgun', JSON.stringify({ signature: signMailgun('key-wrong'), 'event-data': eventData })), 401, /does not verify/);
    assertProblem(await post('/v1/inbound/mailgun', JSON.stringify({ signature: { ...signMailgun(MAILGUN_KEY), signature: '0'.repeat(64) }, 'event-data': eventData })), 401);
    const missing = await post('/v1/inbound/mailgun', JSON.stringify({ 'event-data': eventData }));
    assertProblem(missing, 400);
    assert.equal(missing.body.errors[0].field, 'signature');
    assert.equal((await storedEvents('mailgun', `mg-bad-${tag}`)).length, 0);
  });
});

describe('Postmark', () => {
  test('with the webhook URL\'s credentials: stored once; deliveries ignored', async () => {
    const id = Number(`9${Date.now() % 1e9}`);
    const body = JSON.stringify(postmarkBounce(`bob+${uid()}@example.org`, 'HardBounce', 1, id));
    const auth = { authorization: basicAuth(POSTMARK.user, POSTMARK.password) };
    const first = await post('/v1/inbound/postmark', body, auth);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.deepEqual(first.body, { stored: 1, duplicates: 0, ignored: 0 });
    assert.deepEqual((await post('/v1/inbound/postmark', body, auth)).body, { stored: 0, duplicates: 1, ignored: 0 });
    assert.deepEqual((await post('/v1/inbound/postmark', JSON.stringify(postmarkDelivery('bob@example.org')), auth)).body, { stored: 0, duplicates: 0, ignored: 1 });
    const [event] = await storedEvents('postmark', String(id));
    assert.deepEqual([event.type, event.permanent, event.queueId], ['bounce', true, '883953f4-6105-42a2-a16a-77a8eac79483']);
  });

  test('no or wrong credentials: 401 before the body is read', async () => {
    const id = Number(`8${Date.now() % 1e9}`);
    const body = JSON.stringify(postmarkBounce(`eve+${uid()}@example.org`, 'HardBounce', 1, id));
    assertProblem(await post('/v1/inbound/postmark', body), 401, /basic-auth/);
    assertProblem(await post('/v1/inbound/postmark', body, { authorization: basicAuth(POSTMARK.user, 'guess') }), 401);
    assertProblem(await post('/v1/inbound/postmark', 'not even json', { authorization: basicAuth('x', 'y') }), 401);
    assert.equal((await storedEvents('postmark', String(id))).length, 0);
  });
});

describe('the routes', () => {
  test('listed in the OpenAPI document under "inbound", without an API key', async () => {
    const doc = (await (await fetch(`${base}/openapi.json`)).json()) as { paths: Record<string, Record<string, { tags: string[]; security: unknown[]; responses: Record<string, unknown> }>> };
    for (const provider of ['ses', 'sendgrid', 'mailgun', 'postmark']) {
      const op = doc.paths[`/v1/inbound/${provider}`]?.post;
      assert.ok(op, provider);
      assert.deepEqual(op.tags, ['inbound']);
      assert.deepEqual(op.security, []);
      assert.deepEqual(Object.keys(op.responses).sort(), ['200', '400', '401', '404', '413', '415', '429', '503']);
    }
  });

  test('a provider not configured: 404 naming its setting; SES without a local certificate refuses a certificate URL off SNS', async () => {
    const bare = await server(pool, { ses: { topicArns: [TOPIC], certFile: null }, sendgridVerificationKey: null, mailgunSigningKey: null, postmarkAuth: null });
    const at = await bare.listen({ host: '127.0.0.1', port: 0 });
    try {
      assertProblem(await post('/v1/inbound/sendgrid', '[]', {}, at), 404, /REBOUND_SENDGRID_VERIFICATION_KEY/);
      assertProblem(await post('/v1/inbound/mailgun', '{}', {}, at), 404, /REBOUND_MAILGUN_SIGNING_KEY/);
      assertProblem(await post('/v1/inbound/postmark', '{}', {}, at), 404, /REBOUND_POSTMARK_WEBHOOK_AUTH/);
      const offSns = signSns(sns, snsNotification(TOPIC, sesDelivery('bob@example.org')), `${subscribeUrl}cert.pem`);
      assertProblem(await postSns(offSns, at), 401, /SigningCertURL/);
      const token = uid();
      const confirm = signSns(sns, { Type: 'SubscriptionConfirmation', MessageId: `sub-${token}`, Token: token, TopicArn: TOPIC, Message: 'subscribe', SubscribeURL: `${subscribeUrl}${token}`, Timestamp: new Date().toISOString() }, `${subscribeUrl}cert.pem`);
      assertProblem(await postSns(confirm, at), 401);
      assert.ok(!confirmations.some((url) => url.endsWith(`Token=${token}`) || url.includes('cert.pem')), 'nothing fetched off SNS');
    } finally {
      await bare.close();
    }
  });

  test('a key that cannot be used stops the API at start, naming the setting', async () => {
    await assert.rejects(server(pool, { ses: null, sendgridVerificationKey: 'not-a-key', mailgunSigningKey: null, postmarkAuth: null }), /REBOUND_SENDGRID_VERIFICATION_KEY/);
  });

  test('PostgreSQL unreachable: 503 with Retry-After, so the provider retries', async () => {
    const downPool = createPool('postgres://postgres@127.0.0.1:1/rebound_test', { connectionTimeoutMillis: 1000 });
    const down = await server(downPool, { ses: null, sendgridVerificationKey: null, mailgunSigningKey: null, postmarkAuth: POSTMARK }, logger.child({}, { level: 'error' }));
    try {
      const res = await down.inject({ method: 'POST', url: '/v1/inbound/postmark', headers: { 'content-type': 'application/json', authorization: basicAuth(POSTMARK.user, POSTMARK.password) }, payload: JSON.stringify(postmarkBounce('bob@example.org', 'HardBounce', 1, 1)) });
      assert.equal(res.statusCode, 503, res.body);
      assert.equal(res.headers['retry-after'], '5');
      assert.match(JSON.parse(res.body).detail, /PostgreSQL is unreachable/);
    } finally {
      await down.close();
      await downPool.end();
    }
  });
});
