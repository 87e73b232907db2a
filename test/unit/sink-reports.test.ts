// The bounce simulator's late reports without a server (README "The bounce simulator"): the DSNs
// and the ARF complaint src/sink/reports.ts writes, parsed back with postal-mime and read line by
// line; where each goes; the retry rule of src/sink/report-retry.ts; the --report-to parser.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import PostalMime from 'postal-mime';
import { nextTryDelay, resultOfReply, DEFAULT_REPORT_RETRY, type SendResult } from '../../src/sink/report-retry';
import { parseReportTo } from '../../src/sink/report-to';
import { buildReport, headerBlock, reportRecipient, rfc5322Date, MAX_RETURNED_HEADER_BYTES, type ReportInput } from '../../src/sink/reports';
import type { LateReportKind } from '../../src/sink/scenarios';

const ORIGINAL = [
  'From: Shop <news@shop.test>',
  'To: Bob <bouncelater+x@example.test>,',
  ' Other <other@example.test>',
  'Subject: =?utf-8?q?Caf=C3=A9?= news',
  'Message-ID: <m1.abc@shop.test>',
  'X-Rebound-Ref: 0123456789abcdef0123fedcba9876543210',
  'MIME-Version: 1.0',
  'Content-Type: text/plain',
].join('\r\n');
const RAW = Buffer.from(`${ORIGINAL}\r\n\r\nthe body\r\nsecond line\r\n`);

function input(kind: LateReportKind, over: Partial<ReportInput> = {}): ReportInput {
  return {
    kind,
    originalHeaders: headerBlock(RAW),
    envelope: { from: 'b+abc@bounces.test', recipient: 'bouncelater+x@example.test' },
    reportingHost: 'sink.rebound.test',
    queueId: 'A1B2C3',
    arrivedAt: new Date('2025-03-04T05:06:07.000Z'),
    date: new Date('2025-03-04T05:06:09.000Z'),
    reportQueueId: 'R9',
    ...over,
  };
}

/** The header block's fields of a part or message (unfolded), name lower-cased -> value. */
function fields(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0) out.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
  }
  return out;
}

const contentOf = (a: { content: ArrayBuffer | Uint8Array | string }): string =>
  typeof a.content === 'string' ? a.content : Buffer.from(a.content as ArrayBuffer).toString('utf8');

describe('reportRecipient', () => {
  test('a DSN goes to the envelope sender, a complaint to fbl@ its domain, nothing back to <>', () => {
    const cases: [LateReportKind, string, string | null][] = [
      ['dsn-failed', 'b+tok@bounces.test', 'b+tok@bounces.test'],
      ['dsn-delayed', ' b+tok@bounces.test ', 'b+tok@bounces.test'],
      ['complaint', 'b+tok@Bounces.test', 'fbl@Bounces.test'],
      ['complaint', 'a@b@c.test', 'fbl@c.test'],
      ['dsn-failed', '', null],
      ['complaint', '', null],
      ['complaint', 'no-domain', null],
      ['complaint', 'trailing@', null],
    ];
    for (const [kind, from, to] of cases) assert.equal(reportRecipient(kind, from), to, `${kind} ${from}`);
  });
});

describe('headerBlock', () => {
  test('the header block up to the first empty line, CRLF line endings', () => {
    const cases: [string, string, string][] = [
      ['CRLF', 'A: 1\r\nB: 2\r\n\r\nbody\r\n\r\nmore', 'A: 1\r\nB: 2\r\n'],
      ['LF only', 'A: 1\nB: 2\n\nbody\n', 'A: 1\r\nB: 2\r\n'],
      ['folded lines kept', 'A: 1\r\n  more\r\n\r\nbody', 'A: 1\r\n  more\r\n'],
      ['no body', 'A: 1\r\nB: 2\r\n', 'A: 1\r\nB: 2\r\n'],
      ['no headers', '\r\nbody', ''],
      ['LF blank line before a CRLF one', 'A: 1\n\nbody\r\n\r\n', 'A: 1\r\n'],
    ];
    for (const [name, raw, want] of cases) assert.equal(headerBlock(Buffer.from(raw)).toString(), want, name);
  });

  test('bounded at a line boundary', () => {
    const line = `X-Pad: ${'x'.repeat(990)}`;
    const raw = Buffer.from(`${Array.from({ length: 200 }, () => line).join('\r\n')}\r\n\r\nbody`);
    const head = headerBlock(raw);
    assert.ok(head.length <= MAX_RETURNED_HEADER_BYTES, `${head.length}`);
    assert.ok(head.length > MAX_RETURNED_HEADER_BYTES - 1000, `${head.length}`);
    assert.ok(head.toString().split('\r\n').slice(0, -1).every((l) => l === line));
  });
});

test('rfc5322Date', () => {
  assert.equal(rfc5322Date(new Date('2025-03-04T05:06:07.890Z')), 'Tue, 4 Mar 2025 05:06:07 +0000');
  assert.equal(rfc5322Date(new Date('2024-12-31T23:59:59Z')), 'Tue, 31 Dec 2024 23:59:59 +0000');
});

describe('buildReport: well-formed MIME', () => {
  for (const kind of ['dsn-failed', 'dsn-delayed', 'complaint'] as const) {
    test(`${kind}: CRLF only, short lines, one boundary opening each part and one closing`, () => {
      const built = buildReport(input(kind))!;
      const text = built.raw.toString('utf8');
      assert.equal(text.replace(/\r\n/g, '').includes('\n'), false, 'no bare LF');
      assert.equal(text.replace(/\r\n/g, '').includes('\r'), false, 'no bare CR');
      assert.ok(text.endsWith('\r\n'));
      for (const line of text.split('\r\n')) assert.ok(line.length <= 998, line);
      const boundary = /boundary="([^"]+)"/.exec(text)![1]!;
      const lines = text.split('\r\n');
      assert.equal(lines.filter((l) => l === `--${boundary}`).length, 3);
      assert.equal(lines.filter((l) => l === `--${boundary}--`).length, 1);
      assert.equal(lines.at(-2), `--${boundary}--`);
      assert.deepEqual(built.envelope, { from: '', to: kind === 'complaint' ? 'fbl@bounces.test' : 'b+abc@bounces.test' });
      assert.equal(built.messageId, '<20250304050609.R9@sink.rebound.test>');
    });
  }

  test('nothing back to the null sender', () => {
    for (const kind of ['dsn-failed', 'dsn-delayed', 'complaint'] as const) {
      assert.equal(buildReport(input(kind, { envelope: { from: '', recipient: 'bouncelater@x.test' } })), null, kind);
    }
  });
});

describe('buildReport: the DSNs, as Postfix writes them', () => {
  const cases = [
    {
      kind: 'dsn-failed' as const,
      subject: 'Undelivered Mail Returned to Sender',
      action: 'failed',
      status: '5.1.1',
      diagnostic: 'smtp; 550 5.1.1 <bouncelater+x@example.test>: Recipient address rejected: User unknown in virtual mailbox table',
      human: /I'm sorry to have to inform you that your message could not\nbe delivered/,
      retryUntil: undefined,
    },
    {
      kind: 'dsn-delayed' as const,
      subject: 'Delayed Mail (still being retried)',
      action: 'delayed',
      status: '4.4.7',
      diagnostic: 'smtp; 451 4.4.7 <bouncelater+x@example.test>: Message delayed: mailbox temporarily unavailable, try again later',
      human: /THIS IS A WARNING ONLY/,
      retryUntil: 'Sun, 9 Mar 2025 05:06:07 +0000 (UTC)',
    },
  ];
  for (const c of cases) {
    test(`${c.kind}: headers, the three parts, the per-message and per-recipient fields`, async () => {
      const built = buildReport(input(c.kind))!;
      const mail = await PostalMime.parse(built.raw);
      const header = (name: string) => mail.headers.find((h) => h.key === name)?.value;
      assert.equal(mail.subject, c.subject);
      assert.equal(mail.from?.address, 'MAILER-DAEMON@sink.rebound.test');
      assert.deepEqual(mail.to?.map((a) => a.address), ['b+abc@bounces.test']);
      assert.equal(header('auto-submitted'), 'auto-replied');
      assert.equal(mail.messageId, built.messageId);
      assert.equal(header('date'), 'Tue, 4 Mar 2025 05:06:09 +0000');
      assert.match(header('content-type') ?? '', /^multipart\/report; report-type=delivery-status;\s+boundary="R9\.\d+\/sink\.rebound\.test"$/);

      assert.match(mail.text ?? '', /^This is the mail system at host sink\.rebound\.test\./);
      assert.match(mail.text ?? '', c.human);
      assert.match(
        (mail.text ?? '').replace(/\n {4}/g, ' '),
        new RegExp(`<bouncelater\\+x@example\\.test>: host mx\\.example\\.test\\[192\\.0\\.2\\.10\\] said: ${c.diagnostic.slice(6).replace(/[.+[\]]/g, '\\$&')} \\(in reply to RCPT TO command\\)`),
      );
      assert.deepEqual(mail.attachments.map((a) => a.mimeType), ['message/delivery-status', 'text/rfc822-headers']);

      const [perMessage, perRecipient] = contentOf(mail.attachments[0]!).split(/\r?\n\r?\n/);
      assert.deepEqual(Object.fromEntries(fields(perMessage!)), {
        'reporting-mta': 'dns; sink.rebound.test',
        'x-postfix-queue-id': 'A1B2C3',
        'x-postfix-sender': 'rfc822; b+abc@bounces.test',
        'arrival-date': 'Tue, 4 Mar 2025 05:06:07 +0000 (UTC)',
      });
      const rcpt = fields(perRecipient!);
      assert.deepEqual(Object.fromEntries(rcpt), {
        'final-recipient': 'rfc822; bouncelater+x@example.test',
        'original-recipient': 'rfc822;bouncelater+x@example.test',
        action: c.action,
        status: c.status,
        'remote-mta': 'dns; mx.example.test',
        'diagnostic-code': c.diagnostic,
        ...(c.retryUntil ? { 'will-retry-until': c.retryUntil } : {}),
      });

      // every original header, as received (folding included)
      const returned = contentOf(mail.attachments[1]!).replace(/\r\n/g, '\n');
      assert.equal(returned.trimEnd(), ORIGINAL.replace(/\r\n/g, '\n'));
      assert.equal(fields(returned).get('message-id'), '<m1.abc@shop.test>');
      assert.equal(fields(returned).get('x-rebound-ref'), '0123456789abcdef0123fedcba9876543210');
      assert.equal(built.raw.toString().includes('the body'), false, 'the body is not returned');
    });
  }

  test('an address outside US-ASCII: the notice is declared utf-8 and the address kept', async () => {
    const built = buildReport(input('dsn-failed', { envelope: { from: 'b+abc@bounces.test', recipient: 'bouncelater+josé@example.test' } }))!;
    assert.match(built.raw.toString('utf8'), /Content-Type: text\/plain; charset=utf-8/);
    const mail = await PostalMime.parse(built.raw);
    assert.match(mail.text ?? '', /<bouncelater\+josé@example\.test>: host/);
    assert.equal(fields(contentOf(mail.attachments[0]!)).get('final-recipient'), 'rfc822; bouncelater+josé@example.test');
  });
});

describe('buildReport: the ARF complaint', () => {
  test('feedback-report fields, the original headers with To: redacted, no body', async () => {
    const built = buildReport(input('complaint', { envelope: { from: 'b+abc@bounces.test', recipient: 'complain+x@example.test' } }))!;
    const mail = await PostalMime.parse(built.raw, { rfc822Attachments: true });
    const header = (name: string) => mail.headers.find((h) => h.key === name)?.value;
    assert.match(header('content-type') ?? '', /^multipart\/report; report-type=feedback-report;\s+boundary="[^"]+"$/);
    assert.equal(mail.subject, 'Abuse report: a message from shop.test');
    assert.deepEqual(mail.to?.map((a) => a.address), ['fbl@bounces.test']);
    assert.match(mail.text ?? '', /^This is an email abuse report for an email message received on Tue, 4\s+Mar 2025 05:06:07 \+0000/);
    assert.deepEqual(mail.attachments.map((a) => a.mimeType), ['message/feedback-report', 'message/rfc822']);

    assert.deepEqual(Object.fromEntries(fields(contentOf(mail.attachments[0]!))), {
      'feedback-type': 'abuse',
      'user-agent': 'rebound-sink/1',
      version: '1',
      'original-mail-from': '<b+abc@bounces.test>',
      'original-rcpt-to': '<complain+x@example.test>',
      'arrival-date': 'Tue, 4 Mar 2025 05:06:07 +0000',
      'reporting-mta': 'dns; sink.rebound.test',
      'reported-domain': 'shop.test',
    });

    const original = await PostalMime.parse(contentOf(mail.attachments[1]!));
    assert.equal(original.messageId, '<m1.abc@shop.test>');
    assert.equal(original.headers.find((h) => h.key === 'x-rebound-ref')?.value, '0123456789abcdef0123fedcba9876543210');
    assert.equal(original.subject, 'Café news');
    assert.deepEqual(original.to?.map((a) => a.address), ['redacted@example.test']);
    assert.equal(contentOf(mail.attachments[1]!).includes('complain+x@'), false, 'the recipient is redacted from the quoted headers');
    assert.equal(contentOf(mail.attachments[1]!).includes('other@example.test'), false, "the To: field's folded line goes too");
    assert.equal((original.text ?? '').trim(), '', 'the body is left out');
    assert.equal(built.raw.toString().includes('the body'), false);
  });

  test('Reported-Domain: the From: domain, else the envelope sender domain', async () => {
    const noFrom = Buffer.from('Message-ID: <x@y>\r\nSubject: s\r\n');
    const built = buildReport(input('complaint', { originalHeaders: noFrom }))!;
    const mail = await PostalMime.parse(built.raw);
    assert.equal(fields(contentOf(mail.attachments[0]!)).get('reported-domain'), 'bounces.test');
  });
});

describe('the retry rule', () => {
  test('resultOfReply by the first digit', () => {
    const cases: [string, SendResult['kind']][] = [
      ['250 2.0.0 Ok: queued', 'accepted'],
      ['451 4.3.0 Temporary failure: the report could not be stored', 'deferred'],
      ['421 4.7.0 Too many connections', 'deferred'],
      ['550 5.7.1 Relay access denied', 'refused'],
      ['554 5.6.0 Bad report', 'refused'],
    ];
    for (const [reply, kind] of cases) assert.deepEqual(resultOfReply(reply), { kind, reply }, reply);
  });

  test('doubling delays for deferrals and silence, none after the time is up or a final answer', () => {
    const policy = { firstDelayMs: 1_000, maxDelayMs: 8_000, giveUpAfterMs: 30_000 };
    const deferred: SendResult = { kind: 'deferred', reply: '451 4.3.0 later' };
    const unreachable: SendResult = { kind: 'unreachable', error: 'ECONNREFUSED' };
    const cases: [SendResult, number, number, number | null][] = [
      [deferred, 1, 0, 1_000],
      [deferred, 2, 1_000, 2_000],
      [deferred, 3, 3_000, 4_000],
      [deferred, 4, 7_000, 8_000],
      [deferred, 5, 15_000, 8_000],
      [unreachable, 1, 0, 1_000],
      [unreachable, 6, 22_000, 8_000],
      [deferred, 7, 23_000, null],
      [{ kind: 'accepted', reply: '250 ok' }, 1, 0, null],
      [{ kind: 'refused', reply: '550 no' }, 1, 0, null],
    ];
    for (const [result, tries, elapsed, want] of cases) {
      assert.equal(nextTryDelay(result, tries, elapsed, policy), want, `${result.kind}, try ${tries}, ${elapsed} ms`);
    }
  });

  test('the default: the first retry within seconds, nothing after two minutes', () => {
    const deferred: SendResult = { kind: 'deferred', reply: '451 4.3.0 later' };
    assert.equal(nextTryDelay(deferred, 1, 0), DEFAULT_REPORT_RETRY.firstDelayMs);
    let elapsed = 0;
    let tries = 1;
    for (let d = nextTryDelay(deferred, tries, elapsed); d !== null; d = nextTryDelay(deferred, ++tries, elapsed)) elapsed += d;
    assert.ok(elapsed <= 120_000 && elapsed > 100_000, `${elapsed}`);
  });
});

test('parseReportTo', () => {
  const good: [string, { host: string; port: number }][] = [
    ['127.0.0.1:2527', { host: '127.0.0.1', port: 2527 }],
    [' localhost:25 ', { host: 'localhost', port: 25 }],
    ['[::1]:2527', { host: '::1', port: 2527 }],
  ];
  for (const [value, want] of good) assert.deepEqual(parseReportTo(value), want, value);
  for (const bad of ['', '127.0.0.1', ':2527', '127.0.0.1:0', 'host:65536', '::1:2527', 'a b:25', 'smtp://h:25']) {
    assert.throws(() => parseReportTo(bad), /^Error: reportTo: expected host:port/, bad);
  }
});
