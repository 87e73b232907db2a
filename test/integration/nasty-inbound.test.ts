// `rebound inbound`'s SMTP listener against nasty input (README "Tests", nasty inputs): a real
// listener on a free port storing in the tests' PostgreSQL, spoken to over raw sockets. Hostile
// mails (8-bit and malformed headers, invalid UTF-8, multiparts nested 1000 deep) are stored byte
// for byte, as every report is (the parser judges them later); a 10 MB single line is refused
// with 552 5.3.4 and not kept past the size limit; a 10 MB command line is cut off; and slow
// clients — silent, or trickling a byte at a time — are closed with 421 by the idle timeout and
// the session deadline of the typed configuration, set low here. The listener is alive at the end.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Pool } from 'pg';
import pino from 'pino';
import { rawReportKey } from '../../src/bounces/inbox';
import { INBOUND_METRIC } from '../../src/bounces/listener-metrics';
import type { RefusalReason } from '../../src/bounces/refusals';
import { processMetrics } from '../../src/metrics/registry';
import { startInboundListener, type InboundListener, type InboundListenerConfig } from '../../src/bounces/listener';
import { returnPathAddress } from '../../src/bounces/verp';
import { createPool } from '../../src/db/pool';
import { prepareDatabase } from '../../src/db/setup';
import { nestedMultipart, rawClient, trickle, type RawClient } from '../helpers/nasty';
import { TEST_DATABASE_URL, uid } from '../helpers/stack';

const DOMAIN = 'bounces.test';
const SECRET = 'nasty-inbound-secret-of-at-least-32-characters';
const CONFIG: InboundListenerConfig = {
  listen: { host: '127.0.0.1', port: 0 },
  bounceDomain: DOMAIN,
  bounceSecret: SECRET,
  maxBytes: 1024 * 1024,
  maxConnections: 20,
  ratePerMinute: 10_000,
  idleTimeoutMs: 1_000,
  sessionTimeoutMs: 3_000,
};
/** How long after a timeout the listener may take to act on it (timers, the reply's flush). */
const SLACK_MS = 1_500;
// Compiled to dist/test/integration: the fixtures stay in the source tree.
const NASTY = join(__dirname, '..', '..', '..', 'test', 'fixtures', 'nasty');

let pool: Pool;
let listener: InboundListener;

before(async () => {
  await prepareDatabase(TEST_DATABASE_URL);
  pool = createPool(TEST_DATABASE_URL);
  listener = await startInboundListener({ pool, config: CONFIG, logger: pino({ level: 'silent' }), limits: { closeTimeoutMs: 500 } });
});

after(async () => {
  await listener?.close();
  await pool?.end();
});

/** Writes a command (or bytes) and waits for the reply to it: the next complete `NNN text` line. */
async function say(client: RawClient, data: string | Buffer, boundMs = 5_000): Promise<string> {
  const before = client.received().length;
  await client.write(typeof data === 'string' ? `${data}\r\n` : data);
  const text = await client.waitFor(new RegExp(`^[\\s\\S]{${before}}(?:\\d{3}-[^\\r\\n]*\\r\\n)*\\d{3}(?: [^\\r\\n]*)?\\r\\n`), boundMs);
  return text.slice(before).trimEnd();
}

async function session(): Promise<RawClient> {
  const client = await rawClient(listener.host, listener.port);
  await client.waitFor(/^220 /, 5_000);
  assert.match(await say(client, 'EHLO mx.example.test'), /^250[- ]/);
  return client;
}

/** MAIL, RCPT to a valid return path and DATA, then the dot-stuffed mail: the final reply. */
async function deliver(raw: Buffer): Promise<string> {
  const client = await session();
  try {
    assert.match(await say(client, 'MAIL FROM:<>'), /^250 /);
    assert.match(await say(client, `RCPT TO:<${returnPathAddress(`msg-${uid()}@rebound.test`, { domain: DOMAIN, secret: SECRET })}>`), /^250 /);
    assert.match(await say(client, 'DATA'), /^354 /);
    const wire = Buffer.from(raw.toString('latin1').replace(/^\./gm, '..'), 'latin1');
    const ending = wire.subarray(-2).toString() === '\r\n' ? '.\r\n' : '\r\n.\r\n';
    return await say(client, Buffer.concat([wire, Buffer.from(ending)]), 30_000);
  } finally {
    client.destroy();
  }
}

/** This process's count of a refusal reason (the metric; the table is shared with other test files). */
async function refusedMetric(reason: RefusalReason): Promise<number> {
  const metric = await processMetrics().registry.getSingleMetric(INBOUND_METRIC.refusals)?.get();
  return metric?.values.find((v) => v.labels.reason === reason)?.value ?? 0;
}

async function storedOnce(raw: Buffer): Promise<void> {
  const res = await pool.query('SELECT raw FROM inbound_reports WHERE dedupe_key = $1', [rawReportKey(raw)]);
  assert.equal(res.rows.length, 1);
  assert.ok((res.rows[0].raw as Buffer).equals(raw), 'stored byte for byte');
}

describe('inbound SMTP listener, nasty inputs', () => {
  for (const name of ['eightbit-headers.eml', 'malformed-headers.eml', 'invalid-utf8.eml']) {
    test(`${name}: stored byte for byte, 250`, async () => {
      // A tag of its own: the same bytes from another run would be a duplicate (still 250, one row).
      const raw = Buffer.concat([Buffer.from(`X-Test-Run: ${uid()}\r\n`), readFileSync(join(NASTY, name))]);
      assert.match(await deliver(raw), /^250 2\.0\.0 stored as report /);
      await storedOnce(raw);
    });
  }

  test('NUL bytes and bare CR or LF line ends: stored, 250, the NUL bytes kept (line ends are the wire\'s: SMTP has no bare CR or LF)', async () => {
    const tag = uid();
    const raw = Buffer.concat([Buffer.from(`X-Test-Run: ${tag}\r\n`), readFileSync(join(NASTY, 'nul-and-bare-line-ends.eml'))]);
    assert.match(await deliver(raw), /^250 2\.0\.0 stored as report /);
    const res = await pool.query("SELECT raw FROM inbound_reports WHERE position(convert_to($1, 'UTF8') in raw) > 0", [`X-Test-Run: ${tag}`]);
    assert.equal(res.rows.length, 1);
    assert.ok((res.rows[0].raw as Buffer).includes(Buffer.from('Undelivered\0Mail')), 'the NUL byte is kept');
  });

  test('multiparts nested 1000 deep: stored, 250 (the parser refuses the depth later)', async () => {
    const raw = Buffer.from(`X-Test-Run: ${uid()}\r\n${nestedMultipart(1000)}`);
    assert.ok(raw.length < CONFIG.maxBytes);
    assert.match(await deliver(raw), /^250 /);
    await storedOnce(raw);
  });

  test('a 10 MB single line in DATA: 552 5.3.4 naming the limit, nothing stored', async () => {
    const raw = Buffer.from(`X-Test-Run: ${uid()}\r\nSubject: big\r\n\r\n${'x'.repeat(10 * 1024 * 1024)}`);
    const reply = await deliver(raw);
    assert.match(reply, new RegExp(`^552 5\\.3\\.4 .*at most ${CONFIG.maxBytes} bytes`));
    const res = await pool.query('SELECT 1 FROM inbound_reports WHERE dedupe_key = $1', [rawReportKey(raw)]);
    assert.equal(res.rows.length, 0);
  });

  test('a 10 MB command line: refused with a 4xx/5xx reply and the connection closed', async () => {
    const client = await session();
    await client.write(`MAIL FROM:<${'a'.repeat(10 * 1024 * 1024)}`);
    await client.waitFor(/\r\n[45]\d\d [^\r\n]*(?:too long|error)[^\r\n]*\r\n/i, 10_000);
    await client.closedWithin(10_000);
  });

  test(`a silent client: 421 and closed by the idle timeout (${CONFIG.idleTimeoutMs} ms)`, async () => {
    const client = await session();
    const closedAfter = await client.closedWithin(CONFIG.idleTimeoutMs! + SLACK_MS);
    assert.match(client.received(), /\r\n421 [^\r\n]*\r\n$/);
    assert.ok(closedAfter >= CONFIG.idleTimeoutMs! - 50, `closed after ${closedAfter} ms`);
  });

  test(`slow-loris commands, a byte every 300 ms: 421 4.4.2 at the session deadline (${CONFIG.sessionTimeoutMs} ms), counted`, async () => {
    const countedBefore = await refusedMetric('session_too_long');
    const client = await session();
    const sent = trickle(client, `NOOP ${'x'.repeat(100)}\r\n`, 300);
    await client.closedWithin(CONFIG.sessionTimeoutMs! + SLACK_MS);
    assert.match(client.received(), /\r\n421 4\.4\.2 session too long/);
    assert.ok((await sent) < 100, 'the trickle was cut short');
    assert.equal(await refusedMetric('session_too_long'), countedBefore + 1);
  });

  test('slow-loris DATA, a byte every 300 ms: 421 4.4.2 at the session deadline, nothing stored', async () => {
    const client = await session();
    assert.match(await say(client, 'MAIL FROM:<>'), /^250 /);
    assert.match(await say(client, `RCPT TO:<${returnPathAddress(`msg-${uid()}@rebound.test`, { domain: DOMAIN, secret: SECRET })}>`), /^250 /);
    assert.match(await say(client, 'DATA'), /^354 /);
    const tag = uid();
    const sent = trickle(client, `Subject: slow ${tag}\r\n\r\n${'y'.repeat(100)}\r\n.\r\n`, 300);
    await client.closedWithin(CONFIG.sessionTimeoutMs! + SLACK_MS);
    assert.match(client.received(), /\r\n421 4\.4\.2 session too long/);
    assert.ok((await sent) < 100, 'the trickle was cut short');
    const res = await pool.query("SELECT 1 FROM inbound_reports WHERE position(convert_to($1, 'UTF8') in raw) > 0", [`slow ${tag}`]);
    assert.equal(res.rows.length, 0);
  });

  test('after all of it the listener still takes a report', async () => {
    const raw = Buffer.from(`X-Test-Run: ${uid()}\r\n${nestedMultipart(3)}`);
    assert.match(await deliver(raw), /^250 /);
    await storedOnce(raw);
  });
});
