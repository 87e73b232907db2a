// `rebound inbound`'s listener against real parts: PostgreSQL (the tests' own database), a real
// SMTP client (nodemailer) and raw sockets for what a client library will not say. It answers
// 250 only once the report is a row, refuses forged tokens and other domains with 550 5.7.1,
// too large with 552 5.3.4, too many connections with 421 4.7.0, too fast with 451 4.7.1, and
// 451 4.3.0 while PostgreSQL cannot take the report (the retry then stores it once).
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import nodemailer from 'nodemailer';
import type { NodemailerError } from 'nodemailer';
import type { Pool } from 'pg';
import pino from 'pino';
import { rawReportKey } from '../../src/bounces/inbox';
import { INBOUND_METRIC } from '../../src/bounces/listener-metrics';
import { startInboundListener, type InboundListener, type InboundListenerConfig } from '../../src/bounces/listener';
import { createRefusalCounter, refusalCounts, type RefusalReason } from '../../src/bounces/refusals';
import { returnPathAddress } from '../../src/bounces/verp';
import { createPool } from '../../src/db/pool';
import { prepareDatabase } from '../../src/db/setup';
import { processMetrics } from '../../src/metrics/registry';
import { failingStatements } from '../helpers/faulty-pool';
import { TEST_DATABASE_URL, uid } from '../helpers/stack';

const DOMAIN = 'bounces.test';
const SECRET = 'inbound-test-secret-of-at-least-32-characters';
const MAX_BYTES = 64 * 1024;

const baseConfig: InboundListenerConfig = {
  listen: { host: '127.0.0.1', port: 0 },
  bounceDomain: DOMAIN,
  bounceSecret: SECRET,
  maxBytes: MAX_BYTES,
  maxConnections: 20,
  ratePerMinute: 1000,
};

/** Every log line the listeners write, parsed. */
const logLines: Record<string, unknown>[] = [];
const testLogger = pino(
  { level: 'debug' },
  new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) logLines.push(JSON.parse(line));
      done();
    },
  }),
);

let pool: Pool;
const listeners: InboundListener[] = [];

async function listen(config: Partial<InboundListenerConfig> = {}, on: Pool = pool): Promise<InboundListener> {
  const listener = await startInboundListener({ pool: on, config: { ...baseConfig, ...config }, logger: testLogger, limits: { closeTimeoutMs: 1_000 } });
  listeners.push(listener);
  return listener;
}

before(async () => {
  await prepareDatabase(TEST_DATABASE_URL);
  pool = createPool(TEST_DATABASE_URL);
});
after(async () => {
  await Promise.all(listeners.map((l) => l.close()));
  await pool?.end();
});

function transportTo(listener: InboundListener) {
  return nodemailer.createTransport({ host: listener.host, port: listener.port, secure: false, ignoreTLS: true, connectionTimeout: 5_000, greetingTimeout: 5_000, socketTimeout: 10_000 });
}

/** A delivery status notification as an MTA mails it back: multipart/report, CRLF, a dot-started line. */
function dsn(tag: string, padTo = 0): Buffer {
  const boundary = `b-${tag}`;
  const lines = [
    'From: Mail Delivery System <MAILER-DAEMON@mx.example.test>',
    `To: ${returnPathAddress(`msg-${tag}@rebound.test`, { domain: DOMAIN, secret: SECRET })}`,
    'Subject: Undelivered Mail Returned to Sender',
    `Message-ID: <dsn-${tag}@mx.example.test>`,
    'Auto-Submitted: auto-replied',
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=delivery-status; boundary="${boundary}"`,
    '',
    `--${boundary}`,
    'Content-Type: text/plain; charset=us-ascii',
    '',
    'Your message could not be delivered to one recipient.',
    '.a line that starts with a dot, stuffed on the wire',
    '',
    `--${boundary}`,
    'Content-Type: message/delivery-status',
    '',
    'Reporting-MTA: dns; mx.example.test',
    '',
    'Final-Recipient: rfc822; gone@example.test',
    'Action: failed',
    'Status: 5.1.1',
    'Diagnostic-Code: smtp; 550 5.1.1 <gone@example.test>: Recipient address rejected: User unknown',
    '',
    `--${boundary}--`,
  ];
  let text = `${lines.join('\r\n')}\r\n`;
  if (padTo > text.length) text += `${'x'.repeat(76)}\r\n`.repeat(Math.ceil((padTo - text.length) / 78));
  return Buffer.from(text);
}

const returnPath = (tag: string) => returnPathAddress(`msg-${tag}@rebound.test`, { domain: DOMAIN, secret: SECRET });

async function sendExpectingError(listener: InboundListener, envelope: { from: string; to: string[] }, raw: Buffer): Promise<NodemailerError> {
  try {
    const info = await transportTo(listener).sendMail({ envelope, raw });
    assert.fail(`expected the send to fail, got ${JSON.stringify(info.response)}`);
  } catch (err) {
    if (err instanceof assert.AssertionError) throw err;
    return err as NodemailerError;
  }
}

/** The reply an error carries: nodemailer puts a refused RCPT's in rejectedErrors. */
const replyOf = (err: NodemailerError): string => String(err.rejectedErrors?.[0]?.response ?? err.response ?? err.message);

async function rowsOf(raw: Buffer): Promise<{ id: string; source: string; envelope_from: string | null; envelope_to: string | null; raw: Buffer }[]> {
  const res = await pool.query('SELECT id::text, source, envelope_from, envelope_to, raw FROM inbound_reports WHERE dedupe_key = $1', [rawReportKey(raw)]);
  return res.rows;
}

/** This process's count of a refusal reason (the metric: other test files may refuse at the same time in the shared table). */
async function refusedMetric(reason: RefusalReason): Promise<number> {
  const metric = await processMetrics().registry.getSingleMetric(INBOUND_METRIC.refusals)?.get();
  return metric?.values.find((v) => v.labels.reason === reason)?.value ?? 0;
}

async function refusedToday(reason: RefusalReason): Promise<number> {
  const rows = await refusalCounts(pool, 1);
  return rows.filter((r) => r.reason === reason).reduce((n, r) => n + r.count, 0);
}

/** Waits until the listener's refusal counts reach PostgreSQL: they are written after the answer, never before. */
async function eventuallyRefused(reason: RefusalReason, atLeast: number): Promise<number> {
  const until = Date.now() + 5_000;
  let seen = await refusedToday(reason);
  while (seen < atLeast && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 25));
    seen = await refusedToday(reason);
  }
  return seen;
}

/** One SMTP conversation on a raw socket: each call sends a line and returns the whole reply. */
class RawSmtp {
  private buffer = '';
  private waiting: (() => void) | null = null;
  private constructor(private readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.buffer += d.toString('latin1');
      this.waiting?.();
    });
    socket.on('close', () => this.waiting?.());
  }

  static async open(listener: InboundListener): Promise<{ smtp: RawSmtp; greeting: string }> {
    const socket = connect(listener.port, listener.host);
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const smtp = new RawSmtp(socket);
    return { smtp, greeting: await smtp.reply() };
  }

  /** The next complete reply (its last line is `NNN text`), or what came before the connection closed. */
  async reply(): Promise<string> {
    const until = Date.now() + 5_000;
    for (;;) {
      const m = /^(?:\d{3}-[^\r\n]*\r\n)*\d{3}(?: [^\r\n]*)?\r\n/.exec(this.buffer);
      if (m) {
        this.buffer = this.buffer.slice(m[0].length);
        return m[0].trimEnd();
      }
      if (this.socket.destroyed || this.socket.readableEnded || Date.now() > until) return this.buffer;
      await new Promise<void>((resolve) => {
        this.waiting = resolve;
        setTimeout(resolve, 100);
      });
      this.waiting = null;
    }
  }

  async send(line: string | Buffer): Promise<string> {
    this.socket.write(typeof line === 'string' ? `${line}\r\n` : line);
    return this.reply();
  }

  close(): void {
    this.socket.destroy();
  }
}

describe('inbound SMTP listener', () => {
  test('a DSN to a valid return-path address is stored byte for byte before its 250; the same DSN again is still one row', async () => {
    const listener = await listen();
    const tag = uid();
    const raw = dsn(tag);
    const to = returnPath(tag);
    const info = await transportTo(listener).sendMail({ envelope: { from: '', to: [to] }, raw });
    const rows = await rowsOf(raw);
    assert.equal(rows.length, 1);
    assert.match(info.response, new RegExp(`^250 2\\.0\\.0 stored as report ${rows[0].id}$`));
    assert.equal(rows[0].source, 'smtp');
    assert.equal(rows[0].envelope_from, null, 'the null sender <> is stored as no sender');
    assert.equal(rows[0].envelope_to, to);
    assert.ok(rows[0].raw.equals(raw), 'the stored bytes are the ones sent (dot-stuffing undone, nothing added)');

    const again = await transportTo(listener).sendMail({ envelope: { from: '', to: [to] }, raw });
    assert.equal(again.response, info.response, 'a repeat is answered 250 with the same report');
    assert.equal((await rowsOf(raw)).length, 1);

    const stored = logLines.filter((l) => l.msg === 'inbound report stored' && l.report === rows[0].id);
    assert.deepEqual(
      stored.map((l) => [l.source, l.size, l.duplicate]),
      [['smtp', raw.length, false], ['smtp', raw.length, true]],
    );
    const token = to.slice(2, to.indexOf('@'));
    assert.ok(!logLines.some((l) => JSON.stringify(l).includes(token) || JSON.stringify(l).includes('gone@example.test')), 'no log line holds an address or content');
  });

  test('a complaint to another mailbox of the domain (fbl@) is taken; the return-path recipient is the one filed', async () => {
    const listener = await listen();
    const tag = uid();
    const raw = dsn(tag);
    await transportTo(listener).sendMail({ envelope: { from: 'fbl@isp.example.test', to: [`fbl@${DOMAIN.toUpperCase()}`, returnPath(tag)] }, raw });
    const rows = await rowsOf(raw);
    assert.equal(rows.length, 1);
    assert.equal(rows[0].envelope_from, 'fbl@isp.example.test');
    assert.equal(rows[0].envelope_to, returnPath(tag));
  });

  test('a forged return-path token is refused with 550 5.7.1 and counted as forged_token', async () => {
    const listener = await listen();
    const tag = uid();
    const metricBefore = await refusedMetric('forged_token');
    const before = await refusedToday('forged_token');
    const forged = returnPathAddress(`msg-${tag}@rebound.test`, { domain: DOMAIN, secret: 'some-other-secret-of-at-least-32-characters' });
    const err = await sendExpectingError(listener, { from: '', to: [forged] }, dsn(tag));
    assert.match(replyOf(err), /^550 5\.7\.1 /);
    assert.equal((await rowsOf(dsn(tag))).length, 0);
    assert.equal(await refusedMetric('forged_token'), metricBefore + 1);
    assert.ok((await eventuallyRefused('forged_token', before + 1)) >= before + 1, 'counted in inbound_refusals');
  });

  test('another domain is relay denied (550 5.7.1) and counted as relay_denied', async () => {
    const listener = await listen();
    const metricBefore = await refusedMetric('relay_denied');
    const before = await refusedToday('relay_denied');
    const tag = uid();
    const err = await sendExpectingError(listener, { from: 'someone@example.test', to: ['victim@example.org'] }, dsn(tag));
    assert.match(replyOf(err), /^550 5\.7\.1 relay denied/);
    assert.equal((await rowsOf(dsn(tag))).length, 0, 'nothing stored');
    assert.equal(await refusedMetric('relay_denied'), metricBefore + 1);
    assert.ok((await eventuallyRefused('relay_denied', before + 1)) >= before + 1);
  });

  test('with REBOUND_BOUNCE_DOMAIN off every recipient is refused; a domain without a secret does not start', async () => {
    const listener = await listen({ bounceDomain: null, bounceSecret: null });
    const err = await sendExpectingError(listener, { from: '', to: [`postmaster@${DOMAIN}`] }, dsn(uid()));
    assert.match(replyOf(err), /^550 5\.7\.1 /);
    assert.ok(logLines.some((l) => String(l.msg).includes('REBOUND_BOUNCE_DOMAIN is off')));
    await assert.rejects(listen({ bounceSecret: null }), /REBOUND_BOUNCE_SECRET/);
  });

  test('a message over the size limit is read whole, then refused with 552 5.3.4 and counted as too_large', async () => {
    const listener = await listen();
    const metricBefore = await refusedMetric('too_large');
    const raw = dsn(uid(), MAX_BYTES + 10_000);
    const err = await sendExpectingError(listener, { from: '', to: [returnPath(uid())] }, raw);
    assert.match(replyOf(err), /^552 5\.3\.4 /);
    assert.equal((await rowsOf(raw)).length, 0);
    assert.equal(await refusedMetric('too_large'), metricBefore + 1);
  });

  test('PostgreSQL failing the store: 451 4.3.0, nothing stored; the retry is stored once', async () => {
    const faulty = failingStatements(pool, /inbound_reports/, 1);
    const listener = await listen({}, faulty.pool);
    const tag = uid();
    const raw = dsn(tag);
    const err = await sendExpectingError(listener, { from: '', to: [returnPath(tag)] }, raw);
    assert.equal(faulty.failed(), 1);
    assert.match(replyOf(err), /^451 4\.3\.0 .*try again later/);
    assert.equal((await rowsOf(raw)).length, 0);
    const info = await transportTo(listener).sendMail({ envelope: { from: '', to: [returnPath(tag)] }, raw });
    const rows = await rowsOf(raw);
    assert.equal(rows.length, 1);
    assert.equal(info.response, `250 2.0.0 stored as report ${rows[0].id}`);
    assert.ok(logLines.some((l) => String(l.msg).startsWith('PostgreSQL is unreachable')));
  });

  test('more messages a minute than the rate from one client: 451 4.7.1, counted as rate_limited', async () => {
    const limit = 2;
    const listener = await listen({ ratePerMinute: limit });
    const metricBefore = await refusedMetric('rate_limited');
    const raws = Array.from({ length: limit + 1 }, () => dsn(uid()));
    for (const raw of raws.slice(0, limit)) await transportTo(listener).sendMail({ envelope: { from: '', to: [`postmaster@${DOMAIN}`] }, raw });
    const err = await sendExpectingError(listener, { from: '', to: [`postmaster@${DOMAIN}`] }, raws[limit]);
    assert.match(replyOf(err), /^451 4\.7\.1 /);
    assert.deepEqual(await Promise.all(raws.map(async (r) => (await rowsOf(r)).length)), [1, 1, 0]);
    assert.equal(await refusedMetric('rate_limited'), metricBefore + 1);
  });

  test('raw SMTP: the banner names Rebound, SIZE is advertised and AUTH and STARTTLS are not; MAIL FROM:<> with a DSN is stored', async () => {
    const listener = await listen();
    const { smtp, greeting } = await RawSmtp.open(listener);
    try {
      assert.match(greeting, /^220 .*Rebound/);
      const ehlo = await smtp.send('EHLO mx.example.test');
      assert.match(ehlo, new RegExp(`^250[- ]SIZE ${MAX_BYTES}\\r?$`, 'm'));
      assert.doesNotMatch(ehlo, /AUTH|STARTTLS/);
      assert.match(await smtp.send('MAIL FROM:<>'), /^250 /);
      const tag = uid();
      assert.match(await smtp.send(`RCPT TO:<${returnPath(tag)}>`), /^250 /);
      assert.match(await smtp.send('DATA'), /^354 /);
      const raw = dsn(tag);
      const wire = Buffer.from(raw.toString('latin1').replace(/^\./gm, '..'), 'latin1');
      const answer = await smtp.send(Buffer.concat([wire, Buffer.from('.\r\n')]));
      const rows = await rowsOf(raw);
      assert.equal(rows.length, 1);
      assert.equal(answer, `250 2.0.0 stored as report ${rows[0].id}`);
      assert.equal(rows[0].envelope_from, null);
      assert.ok(rows[0].raw.equals(raw));
    } finally {
      smtp.close();
    }
  });

  test('raw SMTP: not an open relay: every way of naming another domain is refused with 5xx, DATA finds no recipient and nothing is stored', async () => {
    const listener = await listen();
    const { smtp } = await RawSmtp.open(listener);
    try {
      await smtp.send('EHLO relay-tester.example.net');
      assert.match(await smtp.send('MAIL FROM:<spammer@example.net>'), /^250 /);
      const foreign = [
        'victim@example.org',
        `victim@${DOMAIN}.example.org`, // ends like the bounce domain's name, is not it
        `victim@sub.${DOMAIN}`,
        'victim@[127.0.0.1]',
        `@${DOMAIN}:victim@example.org`, // a source route through the bounce domain
        `${returnPath(uid()).replace(`@${DOMAIN}`, '@example.org')}`, // a valid token on another domain
      ];
      for (const to of foreign) assert.match(await smtp.send(`RCPT TO:<${to}>`), /^5\d\d /, to);
      const tag = uid();
      const raw = Buffer.from(`From: spammer@example.net\r\nTo: victim@example.org\r\nSubject: relay ${tag}\r\nMessage-ID: <relay-${tag}@example.net>\r\n\r\nhello\r\n`);
      assert.match(await smtp.send('DATA'), /^5\d\d /, 'no recipient was taken, so no DATA');
      assert.deepEqual(await rowsOf(raw), []);
      const stored = await pool.query("SELECT count(*)::int AS n FROM inbound_reports WHERE raw IS NOT NULL AND position($1::bytea in raw) > 0", [Buffer.from(`relay-${tag}`)]);
      assert.equal(stored.rows[0].n, 0, 'nothing stored');
    } finally {
      smtp.close();
    }
  });

  test('raw SMTP: a declared SIZE over the limit is refused at MAIL FROM with 552 5.3.4 and counted; recipients are bounded', async () => {
    const listener = await listen();
    const { smtp } = await RawSmtp.open(listener);
    try {
      await smtp.send('EHLO mx.example.test');
      const metricBefore = await refusedMetric('too_large');
      assert.match(await smtp.send(`MAIL FROM:<> SIZE=${MAX_BYTES + 1}`), /^552 5\.3\.4 /);
      assert.equal(await refusedMetric('too_large'), metricBefore + 1);
      assert.match(await smtp.send(`MAIL FROM:<> SIZE=${MAX_BYTES}`), /^250 /);
      const replies: string[] = [];
      for (let i = 0; i <= 100; i++) replies.push(await smtp.send(`RCPT TO:<r${i}@${DOMAIN}>`));
      assert.equal(replies.filter((r) => r.startsWith('250 ')).length, 100);
      assert.match(replies[100], /^452 /);
    } finally {
      smtp.close();
    }
  });

  test('raw SMTP: a connection over maxConnections gets 421 4.7.0, counted as too_many_connections', async () => {
    const listener = await listen({ maxConnections: 2 });
    const metricBefore = await refusedMetric('too_many_connections');
    const open = [await RawSmtp.open(listener), await RawSmtp.open(listener)];
    try {
      for (const { greeting } of open) assert.match(greeting, /^220 /);
      const third = await RawSmtp.open(listener);
      third.smtp.close();
      assert.match(third.greeting, /^421 4\.7\.0 /);
      assert.equal(await refusedMetric('too_many_connections'), metricBefore + 1);
    } finally {
      for (const { smtp } of open) smtp.close();
    }
    // a connection that closed frees its place
    await new Promise((r) => setTimeout(r, 100));
    const again = await RawSmtp.open(listener);
    again.smtp.close();
    assert.match(again.greeting, /^220 /);
  });

  test('refusal counts wait in memory while PostgreSQL fails them, and are written once it takes them', async () => {
    const faulty = failingStatements(pool, /inbound_refusals/, 1);
    const counter = createRefusalCounter(faulty.pool, testLogger, { retryMs: 50 });
    const before = await refusedToday('rate_limited');
    for (let i = 0; i < 3; i++) counter.count('rate_limited');
    await counter.flushed();
    assert.equal(faulty.failed(), 1, 'the first write failed');
    assert.ok((await eventuallyRefused('rate_limited', before + 3)) >= before + 3, 'all three were written by the retry');
    await counter.close();
    assert.ok(logLines.some((l) => String(l.msg).startsWith('could not count inbound refusals')));
  });

  test('refusalCounts names a bad day count', async () => {
    for (const days of [0, -1, 1.5]) await assert.rejects(refusalCounts(pool, days), /sinceDays must be a whole number of days/);
  });
});
