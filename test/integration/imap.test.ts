// IMAP polling of a bounce mailbox (README "Late outcomes", IMAP) against a real Dovecot
// (test/helpers/dovecot.ts) and the tests' own PostgreSQL: a mail placed in the mailbox by IMAP
// APPEND ends as a row of inbound_reports with the same bytes, and leaves the mailbox only then.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ImapFlow } from 'imapflow';
import pino from 'pino';
import type { Pool } from 'pg';
import { startImapPoller, type ImapPoller, type ImapPollerOptions } from '../../src/bounces/imap';
import { rawReportKey } from '../../src/bounces/inbox';
import { createPool } from '../../src/db/pool';
import { prepareDatabase } from '../../src/db/setup';
import { dovecotMissing, startDovecot, type Dovecot } from '../helpers/dovecot';
import { failingStatements } from '../helpers/faulty-pool';
import { TEST_DATABASE_URL, uid } from '../helpers/stack';

const BOUNCE_DOMAIN = 'bounces.rebound.test';

/** A DSN as an MTA mails it back to the return path, CRLF line ends as on the wire. */
function dsn(tag: string, extraBody = ''): Buffer {
  const boundary = `b-${tag}`;
  return Buffer.from(
    [
      'Return-Path: <>',
      `Delivered-To: bounces@mail.example.test`,
      `Delivered-To: b+${tag}@${BOUNCE_DOMAIN}`,
      'From: Mail Delivery System <MAILER-DAEMON@mx.example.test>',
      `To: b+${tag}@${BOUNCE_DOMAIN}`,
      'Subject: Undelivered Mail Returned to Sender',
      `Message-ID: <dsn-${tag}@mx.example.test>`,
      'MIME-Version: 1.0',
      `Content-Type: multipart/report; report-type=delivery-status; boundary="${boundary}"`,
      '',
      `--${boundary}`,
      'Content-Type: text/plain',
      '',
      `I could not deliver your message to <gone-${tag}@example.test>.${extraBody}`,
      `--${boundary}`,
      'Content-Type: message/delivery-status',
      '',
      'Reporting-MTA: dns; mx.example.test',
      '',
      `Final-Recipient: rfc822; gone-${tag}@example.test`,
      'Action: failed',
      'Status: 5.1.1',
      'Diagnostic-Code: smtp; 550 5.1.1 user unknown',
      `--${boundary}--`,
      '',
    ].join('\r\n'),
  );
}

interface CapturedLog {
  logger: pino.Logger;
  lines: Record<string, unknown>[];
  text(): string;
}

function captureLog(): CapturedLog {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => lines.push(JSON.parse(line)) });
  return { logger, lines, text: () => JSON.stringify(lines) };
}

/** The test's own view of the mailbox, over a plain loopback login (Dovecot allows it there). */
async function mailbox<T>(d: Dovecot, use: (client: ImapFlow) => Promise<T>): Promise<T> {
  const client = new ImapFlow({ host: d.host, port: d.imapPort, secure: false, doSTARTTLS: false, auth: { user: d.user, pass: d.password }, logger: false });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.logout();
  }
}

/** A folder of the test's own, so what one test leaves behind never reaches another's poller. */
async function newFolder(d: Dovecot): Promise<string> {
  const folder = `t-${uid()}`;
  await mailbox(d, (c) => c.mailboxCreate(folder));
  return folder;
}

async function place(d: Dovecot, folder: string, ...mails: Buffer[]): Promise<void> {
  await mailbox(d, async (c) => {
    for (const mail of mails) await c.append(folder, mail);
  });
}

async function mailsIn(d: Dovecot, folder: string): Promise<number> {
  return mailbox(d, async (c) => {
    const status = await c.status(folder, { messages: true });
    if (!status || status.messages === undefined) assert.fail(`Dovecot gave no message count for ${folder}`);
    return status.messages;
  });
}

async function reportsFor(pool: Pool, mail: Buffer) {
  const res = await pool.query('SELECT source, raw, envelope_from, envelope_to FROM inbound_reports WHERE dedupe_key = $1', [rawReportKey(mail)]);
  return res.rows as { source: string; raw: Buffer; envelope_from: string | null; envelope_to: string | null }[];
}

describe('IMAP polling of a bounce mailbox', { skip: dovecotMissing() ?? false }, () => {
  let pool: Pool;
  let plain: Dovecot;
  let tls: Dovecot;
  const pollers: ImapPoller[] = [];

  /** Polls every hour: after the first poll, which starts at once, only the test polls. */
  function poller(options: Omit<ImapPollerOptions, 'imap' | 'pool' | 'logger'> & { url: string; pool?: Pool; log?: CapturedLog }): ImapPoller {
    const { url, pool: given, log, ...rest } = options;
    const p = startImapPoller({ pool: given ?? pool, imap: { url, pollSeconds: 3600 }, logger: (log ?? captureLog()).logger, bounceDomain: BOUNCE_DOMAIN, ...rest });
    pollers.push(p);
    return p;
  }

  before(async () => {
    await prepareDatabase(TEST_DATABASE_URL);
    pool = createPool(TEST_DATABASE_URL);
    [plain, tls] = await Promise.all([startDovecot(), startDovecot({ tls: true })]);
  });

  after(async () => {
    await Promise.all(pollers.map((p) => p.stop()));
    await Promise.all([plain?.stop(), tls?.stop()]);
    await pool?.end();
  });

  test('imap:// on loopback without STARTTLS: a DSN placed in the mailbox is stored byte for byte, then removed', async () => {
    const folder = await newFolder(plain);
    const tag = uid();
    const mail = dsn(tag);
    await place(plain, folder, mail);
    const log = captureLog();

    const result = await poller({ url: plain.url('imap', folder), log }).pollOnce();

    assert.deepEqual(result, { fetched: 1, stored: 1, duplicates: 0, tooLarge: 0 });
    const rows = await reportsFor(pool, mail);
    assert.equal(rows.length, 1);
    assert.equal(rows[0].source, 'imap');
    assert.ok(rows[0].raw.equals(mail), 'the stored bytes are the mail as it was placed');
    assert.equal(rows[0].envelope_from, '', 'Return-Path: <> is the null sender');
    assert.equal(rows[0].envelope_to, `b+${tag}@${BOUNCE_DOMAIN}`, 'the Delivered-To on the bounce domain, not the hosted mailbox');
    assert.equal(await mailsIn(plain, folder), 0);
    assert.ok(log.lines.some((l) => l.msg === 'connected to the bounce mailbox' && l.tls === false));
    assert.ok(log.lines.some((l) => l.msg === 'polled the bounce mailbox' && l.stored === 1));
    assert.ok(!log.text().includes(plain.password), 'the password is never logged');
  });

  test('imaps:// with the server certificate trusted: stored and removed', async () => {
    const folder = await newFolder(tls);
    const mail = dsn(uid());
    await place(tls, folder, mail);
    const log = captureLog();

    const result = await poller({ url: tls.url('imaps', folder), tls: { ca: tls.ca! }, log }).pollOnce();

    assert.equal(result.stored, 1);
    assert.equal((await reportsFor(pool, mail)).length, 1);
    assert.equal(await mailsIn(tls, folder), 0);
    assert.ok(log.lines.some((l) => l.msg === 'connected to the bounce mailbox' && l.tls === true));
  });

  test('imap:// to a server offering STARTTLS: the connection is upgraded before the login', async () => {
    const folder = await newFolder(tls);
    const mail = dsn(uid());
    await place(tls, folder, mail);
    const log = captureLog();

    const result = await poller({ url: tls.url('imap', folder), tls: { ca: tls.ca! }, log }).pollOnce();

    assert.equal(result.stored, 1);
    assert.ok(log.lines.some((l) => l.msg === 'connected to the bounce mailbox' && l.tls === true));
  });

  test('imaps:// with a certificate nobody vouches for: no login, the mail stays, one error line for the outage', async () => {
    const folder = await newFolder(tls);
    await place(tls, folder, dsn(uid()));
    const log = captureLog();
    const p = poller({ url: tls.url('imaps', folder), log });

    await assert.rejects(p.pollOnce(), /could not connect and log in to 127\.0\.0\.1/);
    await assert.rejects(p.pollOnce(), /could not connect/);

    assert.equal(await mailsIn(tls, folder), 1);
    assert.equal(log.lines.filter((l) => l.level === 50).length, 1, 'failures are logged once per outage');
  });

  test('a wrong password: the poll fails naming the login, and the password is not logged', async () => {
    // A Dovecot of its own: a failed login slows later logins from the same address (auth penalty).
    const own = await startDovecot();
    try {
      const log = captureLog();
      const wrong = `wrong-${uid()}`;
      const url = own.url('imap').replace(encodeURIComponent(own.password), wrong);
      const p = poller({ url, log });

      await assert.rejects(p.pollOnce(), /could not connect and log in .*Authentication failed/);

      await p.stop();
      assert.ok(!log.text().includes(wrong));
    } finally {
      await own.stop();
    }
  });

  test('PostgreSQL failing while a mail is stored: it stays in the mailbox and is stored on the next poll, once', async () => {
    const folder = await newFolder(plain);
    const mail = dsn(uid());
    await place(plain, folder, mail);
    const log = captureLog();
    const faulty = failingStatements(pool, /inbound_reports/, 1);
    const p = poller({ url: plain.url('imap', folder), pool: faulty.pool, log });

    await assert.rejects(p.pollOnce(), /could not store mail UID \d+ as a report in PostgreSQL/);
    assert.equal(faulty.failed(), 1);
    assert.equal(await mailsIn(plain, folder), 1, 'a mail that was not stored is not removed');
    assert.equal((await reportsFor(pool, mail)).length, 0);

    const retried = await p.pollOnce();

    assert.deepEqual(retried, { fetched: 1, stored: 1, duplicates: 0, tooLarge: 0 });
    assert.equal((await reportsFor(pool, mail)).length, 1);
    assert.equal(await mailsIn(plain, folder), 0);
    assert.equal(log.lines.filter((l) => l.level === 50).length, 1);
    assert.ok(log.lines.some((l) => l.msg === 'the bounce mailbox is polled again' && l.failedPolls === 1));
  });

  test('one poller, one connection: a mail placed between two polls is taken by the second', async () => {
    const folder = await newFolder(plain);
    const log = captureLog();
    const p = poller({ url: plain.url('imap', folder), log });
    assert.equal((await p.pollOnce()).fetched, 0);
    const mail = dsn(uid());
    await place(plain, folder, mail);

    const result = await p.pollOnce();

    assert.deepEqual(result, { fetched: 1, stored: 1, duplicates: 0, tooLarge: 0 });
    assert.equal((await reportsFor(pool, mail)).length, 1);
    assert.equal(log.lines.filter((l) => l.msg === 'connected to the bounce mailbox').length, 1, 'the connection is kept between polls');
  });

  test('a mail already stored (placed twice) is counted as a duplicate and removed too', async () => {
    const folder = await newFolder(plain);
    const mail = dsn(uid());
    await place(plain, folder, mail, mail);

    const result = await poller({ url: plain.url('imap', folder) }).pollOnce();

    assert.deepEqual(result, { fetched: 2, stored: 1, duplicates: 1, tooLarge: 0 });
    assert.equal((await reportsFor(pool, mail)).length, 1);
    assert.equal(await mailsIn(plain, folder), 0);
  });

  test('bounds: a mail over maxBytes is left unread and logged once; at most maxPerPoll mails a poll', async () => {
    const folder = await newFolder(plain);
    const small = [dsn(uid()), dsn(uid()), dsn(uid())];
    const big = dsn(uid(), ` ${'x'.repeat(4000)}`);
    await place(plain, folder, small[0], big, small[1], small[2]);
    const log = captureLog();
    const p = poller({ url: plain.url('imap', folder), maxBytes: 3000, maxPerPoll: 2, log });

    const first = await p.pollOnce();
    const second = await p.pollOnce();

    assert.deepEqual(first, { fetched: 2, stored: 2, duplicates: 0, tooLarge: 1 });
    assert.deepEqual(second, { fetched: 1, stored: 1, duplicates: 0, tooLarge: 1 });
    for (const mail of small) assert.equal((await reportsFor(pool, mail)).length, 1);
    assert.equal((await reportsFor(pool, big)).length, 0);
    assert.equal(await mailsIn(plain, folder), 1, 'only the big one is left');
    assert.equal(log.lines.filter((l) => l.level === 40 && /larger than REBOUND_INBOUND_MAX_BYTES/.test(String(l.msg))).length, 1);
  });

  test('an empty mailbox: nothing fetched, nothing logged about it', async () => {
    const folder = await newFolder(plain);
    const log = captureLog();

    const result = await poller({ url: plain.url('imap', folder), log }).pollOnce();

    assert.deepEqual(result, { fetched: 0, stored: 0, duplicates: 0, tooLarge: 0 });
    assert.ok(!log.lines.some((l) => l.msg === 'polled the bounce mailbox'));
  });
});
