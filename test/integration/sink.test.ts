// The bounce simulator against a real, pooled nodemailer transport. Besides checking the sink,
// these tests pin down how nodemailer reports each outcome, which the send activity relies on.
// The late reports (bouncelater, delaylater, complain) go to a real smtp-server in the test that
// stands in for Rebound's inbound listener.
// What needs no server (the scenario table, the ledger) is tested in test/unit/sink-*.test.ts.

import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import nodemailer from 'nodemailer';
import type { NodemailerError, SendMailOptions } from 'nodemailer';
import PostalMime from 'postal-mime';
import { startSink, type BounceSink } from '../../src/sink';
import { startRecordingServer, type Answer, type RecordingServer } from '../helpers/recording-smtp';

type Transport = ReturnType<typeof makeTransport>;

function makeTransport(sink: BounceSink) {
  return nodemailer.createTransport({
    host: sink.host,
    port: sink.port,
    secure: false,
    ignoreTLS: true,
    pool: true,
    maxConnections: 1,
    connectionTimeout: 5_000,
    greetingTimeout: 5_000,
    socketTimeout: 10_000,
  });
}

const FROM = 'sender@rebound.test';

async function sendExpectingError(transport: Transport, mail: SendMailOptions): Promise<NodemailerError> {
  try {
    const info = await transport.sendMail({ from: FROM, subject: 'test', text: 'hello', ...mail });
    assert.fail(`expected the send to fail, got ${JSON.stringify(info.response)}`);
  } catch (err) {
    if (err instanceof assert.AssertionError) throw err;
    return err as NodemailerError;
  }
}

/** Transactions that named `address` (earlier tests may still be finishing theirs: a trailing RSET or close). */
const txFor = (sink: BounceSink, address: string) =>
  sink.transactions().filter((t) => t.rcpt.some((r) => r.address === address));

/** The sink logs a transaction when it ends (DATA reply, RSET, close); RSET may trail the client callback. */
async function waitFor<T>(what: string, fn: () => T | undefined | false, timeoutMs = 3_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('bounce sink with a pooled nodemailer transport', () => {
  let sink: BounceSink;
  let transport: Transport;
  const logs: object[] = [];

  before(async () => {
    sink = await startSink({ port: 0, controlPort: 0, log: (e) => logs.push(e) });
    transport = makeTransport(sink);
  });
  after(async () => {
    transport.close();
    await sink.close();
  });
  beforeEach(() => {
    sink.reset();
    logs.length = 0;
  });

  test('accept stores one message with its Message-ID', async () => {
    const info = await transport.sendMail({ from: FROM, to: 'alice@example.test', subject: 'hi', text: 'hello' });
    assert.deepEqual(info.accepted, ['alice@example.test']);
    assert.deepEqual(info.rejected, []);
    assert.match(info.response, /^250 2\.0\.0 Ok: queued as [0-9A-F]+$/);
    const received = sink.received();
    assert.equal(received.length, 1);
    assert.equal(received[0]!.messageId, info.messageId);
    assert.deepEqual(received[0]!.recipients, ['alice@example.test']);
    assert.equal(received[0]!.from, FROM);
    assert.ok(received[0]!.size > 0);
    assert.equal(sink.deliveries(info.messageId, 'ALICE@example.test'), 1);
    assert.equal(sink.deliveries(info.messageId.replace(/[<>]/g, '')), 1);
    const [tx] = txFor(sink, 'alice@example.test');
    assert.equal(tx!.outcome, 'accepted');
    assert.deepEqual(tx!.rcpt, [{ address: 'alice@example.test', scenario: 'accept', reply: '250 2.1.5 Recipient OK' }]);
    assert.equal(tx!.data, info.response);
    const logged = logs.filter((l) => (l as { messageId?: string }).messageId === info.messageId);
    assert.equal(logged.length, 1);
    assert.equal((logged[0] as { outcome?: string }).outcome, 'accepted');
  });

  test('greylist rejects the first attempt with a hint, then accepts', async () => {
    const to = 'greylist+t1@example.test';
    const err = await sendExpectingError(transport, { to });
    assert.equal(err.code, 'EENVELOPE');
    assert.equal(err.responseCode, 450);
    assert.equal(err.response, `450 4.2.0 <${to}>: Recipient address rejected: Greylisted, try again in 60 seconds`);
    const info = await transport.sendMail({ from: FROM, to, text: 'again' });
    assert.deepEqual(info.accepted, [to]);
    assert.equal(sink.received().length, 1);
    // state is per whole address: another tag is greylisted afresh, with the hint from the local part
    const other = await sendExpectingError(transport, { to: 'greylist-5+t2@example.test' });
    assert.match(other.response ?? '', /^450 4\.2\.0 .*try again in 5 seconds$/);
  });

  test('full always answers 452 4.2.2', async () => {
    for (let i = 0; i < 3; i++) {
      const err = await sendExpectingError(transport, { to: 'full@example.test' });
      assert.equal(err.code, 'EENVELOPE');
      assert.equal(err.responseCode, 452);
      assert.equal(err.response, '452 4.2.2 <full@example.test>: mailbox full, over quota');
    }
    assert.equal(sink.received().length, 0);
  });

  test('soft-2 fails twice with 451 4.3.0, then accepts', async () => {
    const to = 'soft-2@example.test';
    for (let i = 0; i < 2; i++) {
      const err = await sendExpectingError(transport, { to });
      assert.equal(err.responseCode, 451);
      assert.equal(err.response, '451 4.3.0 Temporary local problem, please try again later');
      assert.equal(err.permanent, false);
    }
    const info = await transport.sendMail({ from: FROM, to, text: 'third time' });
    assert.deepEqual(info.accepted, [to]);
    assert.equal(sink.received().length, 1);
  });

  test('unknown answers 550 5.1.1 (all rejected: EENVELOPE with rejectedErrors)', async () => {
    const err = await sendExpectingError(transport, { to: 'unknown@example.test' });
    assert.equal(err.code, 'EENVELOPE');
    assert.equal(err.command, 'RCPT TO');
    assert.equal(err.responseCode, 550);
    assert.equal(err.permanent, true);
    assert.equal(err.response, '550 5.1.1 <unknown@example.test>: Recipient address rejected: User unknown');
    assert.deepEqual(err.rejected, ['unknown@example.test']);
    assert.equal(err.rejectedErrors?.length, 1);
    assert.equal(err.rejectedErrors![0]!.recipient, 'unknown@example.test');
    assert.equal(err.rejectedErrors![0]!.responseCode, 550);
    const tx = await waitFor('the transaction log', () => txFor(sink, 'unknown@example.test')[0]);
    assert.equal(tx.outcome, 'rejected');
    assert.equal(tx.ended, 'rset');
  });

  test('toolarge accepts the RCPT and answers 552 5.3.4 after DATA', async () => {
    const err = await sendExpectingError(transport, { to: ['toolarge@example.test', 'bob@example.test'] });
    assert.equal(err.code, 'EMESSAGE');
    assert.equal(err.command, 'DATA');
    assert.equal(err.responseCode, 552);
    assert.equal(err.response, '552 5.3.4 Message size exceeds fixed limit');
    assert.equal(err.rejectedErrors, undefined);
    assert.equal(sink.received().length, 0, 'nothing stored, not even for the accepting recipient');
    const [tx] = txFor(sink, 'toolarge@example.test');
    assert.equal(tx!.outcome, 'rejected');
    assert.deepEqual(
      tx!.rcpt.map((r) => r.reply),
      ['250 2.1.5 Recipient OK', '250 2.1.5 Recipient OK'],
    );
    assert.equal(tx!.data, '552 5.3.4 Message size exceeds fixed limit');
  });

  test('blocked answers 554 5.7.1', async () => {
    const err = await sendExpectingError(transport, { to: 'blocked@example.test' });
    assert.equal(err.code, 'EENVELOPE');
    assert.equal(err.responseCode, 554);
    assert.equal(err.response, '554 5.7.1 <blocked@example.test>: Relay access denied: message rejected due to policy');
  });

  test('ratelimit answers 421 4.7.0 and smtp-server closes the connection', async () => {
    const err = await sendExpectingError(transport, { to: 'ratelimit@example.test' });
    // the pipelined DATA never gets a reply: nodemailer reports a closed connection carrying the 421
    assert.equal(err.code, 'ECONNECTION');
    assert.equal(err.command, 'CONN');
    assert.equal(err.responseCode, 421);
    assert.equal(err.response, '421 4.7.0 Too many messages, slow down');
    const txs = await waitFor('closed transactions', () => {
      const found = txFor(sink, 'ratelimit@example.test');
      return found.length > 0 && found;
    });
    assert.ok(txs.every((t) => t.outcome === 'rejected' && t.ended === 'closed'));
    assert.equal(sink.received().length, 0);
  });

  test('drop destroys the connection at RCPT: ECONNECTION without a reply', async () => {
    const err = await sendExpectingError(transport, { to: ['carol@example.test', 'drop@example.test'] });
    assert.equal(err.code, 'ECONNECTION');
    assert.equal(err.command, 'CONN');
    assert.equal(err.responseCode, undefined);
    assert.equal(err.response, undefined);
    assert.equal(sink.received().length, 0);
    const txs = txFor(sink, 'drop@example.test');
    // the pool silently retries once on a new connection when a reused one fails before DATA
    assert.ok(txs.length >= 1 && txs.length <= 2, `transactions: ${txs.length}`);
    assert.ok(txs.every((t) => t.outcome === 'dropped'));
    // the pool recovers with a new connection
    const info = await transport.sendMail({ from: FROM, to: 'dave@example.test', text: 'after the drop' });
    assert.deepEqual(info.accepted, ['dave@example.test']);
  });

  test('mixed transaction stores only the accepted recipient', async () => {
    const info = await transport.sendMail({
      from: FROM,
      to: ['erin@example.test', 'unknown+m@example.test'],
      cc: 'full+m@example.test',
      text: 'mixed',
    });
    assert.deepEqual(info.accepted, ['erin@example.test']);
    assert.deepEqual(info.rejected, ['unknown+m@example.test', 'full+m@example.test']);
    const errs = info.rejectedErrors ?? [];
    assert.deepEqual(
      errs.map((e) => [e.recipient, e.code, e.command, e.responseCode, e.response]),
      [
        ['unknown+m@example.test', 'EENVELOPE', 'RCPT TO', 550, '550 5.1.1 <unknown+m@example.test>: Recipient address rejected: User unknown'],
        ['full+m@example.test', 'EENVELOPE', 'RCPT TO', 452, '452 4.2.2 <full+m@example.test>: mailbox full, over quota'],
      ],
    );
    const received = sink.received();
    assert.equal(received.length, 1);
    assert.deepEqual(received[0]!.recipients, ['erin@example.test']);
    const [tx] = txFor(sink, 'erin@example.test');
    assert.equal(tx!.outcome, 'partial');
    assert.deepEqual(
      tx!.rcpt.map((r) => r.scenario),
      ['accept', 'unknown', 'full'],
    );
  });

  test('all recipients rejected: EENVELOPE, the first temporary reply on the error, every reply in rejectedErrors', async () => {
    const err = await sendExpectingError(transport, { to: ['unknown+a@example.test', 'full+a@example.test'] });
    assert.equal(err.code, 'EENVELOPE');
    assert.equal(err.command, 'RCPT TO');
    assert.match(err.message, /^Can't send mail - all recipients were rejected/);
    // nodemailer prefers a temporary rejection for the top-level reply
    assert.equal(err.responseCode, 452);
    assert.deepEqual(err.rejected, ['unknown+a@example.test', 'full+a@example.test']);
    assert.deepEqual(
      err.rejectedErrors?.map((e) => [e.recipient, e.responseCode]),
      [
        ['unknown+a@example.test', 550],
        ['full+a@example.test', 452],
      ],
    );
    assert.equal(sink.received().length, 0);
  });

  test('duplicates() reports a message accepted twice for one recipient', async () => {
    const messageId = '<dup-1@rebound.test>';
    await transport.sendMail({ from: FROM, to: ['frank@example.test', 'gina@example.test'], messageId, text: 'one' });
    assert.deepEqual(sink.duplicates(), []);
    await transport.sendMail({ from: FROM, to: 'Frank@example.test', messageId, text: 'one again' });
    assert.deepEqual(sink.duplicates(), [{ messageId, recipient: 'frank@example.test', count: 2 }]);
    assert.equal(sink.deliveries(messageId, 'frank@example.test'), 2);
    assert.equal(sink.deliveries(messageId, 'gina@example.test'), 1);
    assert.equal(sink.deliveries(messageId), 2);
  });

  test('the HTTP control port serves received, duplicates and reset', async () => {
    const info = await transport.sendMail({ from: FROM, to: 'hank@example.test', text: 'over http' });
    assert.ok(sink.controlPort);
    const base = `http://${sink.host}:${sink.controlPort}`;
    const res = await fetch(`${base}/received`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as { messageId: string; recipients: string[] }[];
    assert.equal(body.length, 1);
    assert.equal(body[0]!.messageId, info.messageId);
    assert.deepEqual(body[0]!.recipients, ['hank@example.test']);
    assert.deepEqual(await (await fetch(`${base}/duplicates`)).json(), []);
    const count = await fetch(`${base}/deliveries?messageId=${encodeURIComponent(info.messageId)}&recipient=hank@example.test`);
    assert.equal(((await count.json()) as { count: number }).count, 1);
    assert.equal((await fetch(`${base}/reset`, { method: 'POST' })).status, 200);
    assert.deepEqual(await (await fetch(`${base}/received`)).json(), []);
    assert.equal((await fetch(`${base}/nope`)).status, 404);
  });
});

/** The inbound listener's answers, by code, as the receiving server gives them. */
const REPLY_TEXT: Record<number, string> = { 250: '2.0.0 Report stored', 451: '4.3.0 Temporary failure: the report could not be stored', 550: '5.7.1 Refused' };
const answering = (code: () => number): Answer => () => {
  const c = code();
  return { code: c, text: REPLY_TEXT[c] ?? '5.7.1 Refused' };
};

const contentOf = (a: { content: ArrayBuffer | Uint8Array | string }): string =>
  typeof a.content === 'string' ? a.content : Buffer.from(a.content as ArrayBuffer).toString('utf8');

describe('bounce sink late reports, mailed to a receiving SMTP server', () => {
  const RETURN_PATH = 'b+abc@bounces.test';
  let receiver: RecordingServer;
  let sink: BounceSink;
  let transport: Transport;
  const logs: { msg?: string; state?: string }[] = [];

  before(async () => {
    receiver = await startRecordingServer();
    sink = await startSink({
      port: 0,
      controlPort: 0,
      log: (e) => logs.push(e),
      reportTo: `${receiver.host}:${receiver.port}`,
      reportingHost: 'sink.rebound.test',
      reportRetry: { firstDelayMs: 300, maxDelayMs: 1_000, giveUpAfterMs: 5_000 },
    });
    transport = makeTransport(sink);
  });
  after(async () => {
    transport.close();
    await sink.close();
    await receiver.close();
  });
  beforeEach(() => {
    sink.reset();
    receiver.got.length = 0;
    receiver.answer = answering(() => 250);
    logs.length = 0;
  });

  const send = (to: string, text = 'hello') => transport.sendMail({ envelope: { from: RETURN_PATH, to }, from: 'Shop <news@shop.test>', to, subject: 'news', text, headers: { 'X-Rebound-Ref': 'abc123' } });
  const reportFor = (recipient: string, state = 'sent') => () => sink.reports().find((r) => r.recipient === recipient && r.state === state);

  test('bouncelater: 250 now, then a failed DSN from <> to the envelope sender, quoting the original headers', async () => {
    const to = 'bouncelater+x@example.test';
    const sentAt = Date.now();
    const info = await send(to);
    assert.match(info.response, /^250 2\.0\.0 Ok: queued as /);
    assert.equal(sink.reports()[0]?.state, 'waiting');
    const report = await waitFor('the DSN sent', reportFor(to), 6_000);
    assert.ok(Date.parse(report.sentAt!) - sentAt >= 1_900, 'sent after the default 2 s');

    assert.equal(receiver.got.length, 1);
    const [got] = receiver.got;
    assert.deepEqual([got!.from, got!.to], ['', [RETURN_PATH]]);
    const dsn = await PostalMime.parse(got!.raw);
    assert.equal(dsn.subject, 'Undelivered Mail Returned to Sender');
    assert.equal(dsn.messageId, report.reportMessageId);
    assert.match(dsn.headers.find((h) => h.key === 'content-type')?.value ?? '', /^multipart\/report; report-type=delivery-status;/);
    assert.deepEqual(dsn.attachments.map((a) => a.mimeType), ['message/delivery-status', 'text/rfc822-headers']);
    const status = contentOf(dsn.attachments[0]!);
    assert.match(status, new RegExp(`^Final-Recipient: rfc822; ${to.replace('+', '\\+')}$`, 'm'));
    assert.match(status, /^Action: failed$/m);
    assert.match(status, /^Status: 5\.1\.1$/m);
    assert.match(status, new RegExp(`^X-Postfix-Queue-ID: ${info.response.split(' ').at(-1)}$`, 'm'));
    const returned = contentOf(dsn.attachments[1]!);
    assert.ok(returned.includes(`Message-ID: ${info.messageId}`), returned);
    assert.match(returned, /^X-Rebound-Ref: abc123$/m);

    assert.deepEqual(report.tries.map((t) => t.reply), ['250 2.0.0 Report stored']);
    const logged = logs.filter((l) => l.msg === 'sink report');
    assert.deepEqual(logged.map((l) => l.state), ['sent']);
    // the control port shows the same record
    const overHttp = (await (await fetch(`http://${sink.host}:${sink.controlPort}/reports`)).json()) as { state: string; recipient: string }[];
    assert.deepEqual(overHttp.map((r) => [r.recipient, r.state]), [[to, 'sent']]);
  });

  test('delaylater-0: a delayed DSN (4.4.7) to the envelope sender', async () => {
    const to = 'delaylater-0@example.test';
    await send(to);
    await waitFor('the delayed DSN sent', reportFor(to));
    const dsn = await PostalMime.parse(receiver.got[0]!.raw);
    assert.equal(dsn.subject, 'Delayed Mail (still being retried)');
    const status = contentOf(dsn.attachments[0]!);
    assert.match(status, /^Action: delayed$/m);
    assert.match(status, /^Status: 4\.4\.7$/m);
    assert.match(status, /^Will-Retry-Until: /m);
    assert.deepEqual(receiver.got[0]!.to, [RETURN_PATH]);
  });

  test('complain-0: an ARF complaint from <> to fbl@ the return path domain, with X-Rebound-Ref', async () => {
    const to = 'complain-0+y@example.test';
    const info = await send(to);
    await waitFor('the complaint sent', reportFor(to));
    const [got] = receiver.got;
    assert.deepEqual([got!.from, got!.to], ['', ['fbl@bounces.test']]);
    const arf = await PostalMime.parse(got!.raw, { rfc822Attachments: true });
    assert.match(arf.headers.find((h) => h.key === 'content-type')?.value ?? '', /^multipart\/report; report-type=feedback-report;/);
    assert.deepEqual(arf.attachments.map((a) => a.mimeType), ['message/feedback-report', 'message/rfc822']);
    const feedback = contentOf(arf.attachments[0]!);
    assert.match(feedback, /^Feedback-Type: abuse$/m);
    assert.match(feedback, new RegExp(`^Original-Mail-From: <${RETURN_PATH.replace('+', '\\+')}>$`, 'm'));
    assert.match(feedback, /^Original-Rcpt-To: <complain-0\+y@example\.test>$/m);
    const original = await PostalMime.parse(contentOf(arf.attachments[1]!));
    assert.equal(original.messageId, info.messageId);
    assert.equal(original.headers.find((h) => h.key === 'x-rebound-ref')?.value, 'abc123');
  });

  test('a receiver that answers 451 the first time gets the report again, and takes it', async () => {
    const to = 'bouncelater-0+retry@example.test';
    let calls = 0;
    receiver.answer = answering(() => (++calls === 1 ? 451 : 250));
    await send(to);
    const report = await waitFor('the DSN sent on its second try', reportFor(to));
    assert.deepEqual(report.tries.map((t) => t.reply), ['451 4.3.0 Temporary failure: the report could not be stored', '250 2.0.0 Report stored']);
    assert.deepEqual(receiver.got.map((g) => g.answered), [451, 250]);
    assert.equal(receiver.got[0]!.raw.toString(), receiver.got[1]!.raw.toString(), 'the same report, byte for byte');
    const gap = Date.parse(report.tries[1]!.at) - Date.parse(report.tries[0]!.at);
    assert.ok(gap >= 250, `retried after the back-off (${gap} ms)`);
    assert.deepEqual(logs.filter((l) => l.msg === 'sink report').map((l) => l.state), ['waiting', 'sent']);
  });

  test('a 5xx refusal is final: one try, state refused', async () => {
    const to = 'complain-0+refused@example.test';
    receiver.answer = answering(() => 550);
    await send(to);
    const report = await waitFor('the refusal recorded', reportFor(to, 'refused'));
    assert.equal(report.tries.length, 1);
    assert.match(report.tries[0]!.reply ?? '', /^550 5\.7\.1 Refused$/);
    await new Promise((r) => setTimeout(r, 700));
    assert.equal(receiver.got.length, 1, 'not tried again');
  });

  test('an unreachable receiver is tried until the retry time runs out: gave_up, never a crash', async () => {
    const down = await startSink({
      port: 0,
      log: () => undefined,
      reportTo: '127.0.0.1:1',
      reportRetry: { firstDelayMs: 100, maxDelayMs: 200, giveUpAfterMs: 600 },
    });
    const t = makeTransport(down);
    try {
      await t.sendMail({ envelope: { from: RETURN_PATH, to: 'bouncelater-0@example.test' }, from: 'news@shop.test', to: 'bouncelater-0@example.test', text: 'x' });
      const report = await waitFor('the sink giving up', () => down.reports().find((r) => r.state === 'gave_up'));
      assert.ok(report.tries.length >= 3, `${report.tries.length} tries`);
      assert.ok(report.tries.every((tr) => tr.reply === null && /ECONNREFUSED/.test(tr.error ?? '')), JSON.stringify(report.tries));
      // the sink still answers
      const info = await t.sendMail({ from: FROM, to: 'alice@example.test', text: 'still up' });
      assert.deepEqual(info.accepted, ['alice@example.test']);
    } finally {
      t.close();
      await down.close();
    }
  });

  test('without reportTo the scenarios only accept, and the report is recorded as no_destination', async () => {
    const plain = await startSink({ port: 0, log: () => undefined });
    const t = makeTransport(plain);
    try {
      const info = await t.sendMail({ envelope: { from: RETURN_PATH, to: 'bouncelater-0@example.test' }, from: 'news@shop.test', to: 'bouncelater-0@example.test', text: 'x' });
      assert.deepEqual(info.accepted, ['bouncelater-0@example.test']);
      assert.deepEqual(plain.reports().map((r) => [r.kind, r.state, r.destination, r.to]), [['dsn-failed', 'no_destination', null, RETURN_PATH]]);
    } finally {
      t.close();
      await plain.close();
    }
  });
});
