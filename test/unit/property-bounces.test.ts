// Property tests of the bounce parser (README "Late outcomes", parsing): any bytes — random,
// mail-shaped with hostile header and field values, DSNs and ARF reports with random fields —
// parse to a report of a known type whose recipients carry a known kind, category and scope,
// within the parser's own bounds. The parser never throws. Seeds: see test/helpers/properties.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { REPORT_TYPES, type ParsedReport } from '../../src/bounces/contract';
import { parseReport } from '../../src/bounces/parse';
import { MAX_DIAGNOSTIC_CHARS, MAX_RECIPIENTS } from '../../src/bounces/parse-outcome';
import { CATEGORIES, KINDS, SCOPES, hostileString, runs } from '../helpers/properties';

async function assertKnownReport(raw: Buffer | string): Promise<ParsedReport> {
  const report = await parseReport(raw);
  const where = `${JSON.stringify(raw.toString().slice(0, 200))} (${raw.length} bytes)`;
  assert.ok((REPORT_TYPES as readonly string[]).includes(report.type), `unknown type ${report.type} for ${where}`);
  assert.ok(report.recipients.length <= MAX_RECIPIENTS, `${report.recipients.length} recipients for ${where}`);
  for (const r of report.recipients) {
    assert.ok(r.kind === 'complaint' || (KINDS as readonly string[]).includes(r.kind), `unknown kind ${r.kind} for ${where}`);
    assert.ok(r.category === 'complaint' || CATEGORIES.includes(r.category), `unknown category ${r.category} for ${where}`);
    assert.ok(r.scope === null || SCOPES.includes(r.scope), `unknown scope ${r.scope} for ${where}`);
    assert.ok(r.diagnostic === null || r.diagnostic.length <= MAX_DIAGNOSTIC_CHARS, `diagnostic of ${r.diagnostic?.length} characters for ${where}`);
    assert.ok(r.address.includes('@'), `recipient ${JSON.stringify(r.address)} for ${where}`);
  }
  if (report.type === 'not_a_bounce') assert.equal(typeof report.reason, 'string');
  return report;
}

const headerName = fc.oneof(fc.constantFrom('From', 'To', 'Subject', 'Message-ID', 'Content-Type', 'Auto-Submitted', 'X-Autoreply', 'In-Reply-To', 'References', 'X-Rebound-Ref', 'Content-Transfer-Encoding'), hostileString(20));
const headerLine = fc.tuple(headerName, fc.constantFrom(': ', ':', ' : ', ''), hostileString(120)).map(([n, sep, v]) => `${n}${sep}${v}`);
const eol = fc.constantFrom('\r\n', '\n', '\r');

/** Header lines with random names and values (8-bit, control characters, folding), then a body. */
const mailShaped = fc.tuple(fc.array(headerLine, { maxLength: 12 }), eol, hostileString(500)).map(([lines, nl, body]) => `${lines.join(nl)}${nl}${nl}${body}`);

const dsnField = fc.tuple(
  fc.constantFrom('Final-Recipient', 'Original-Recipient', 'Action', 'Status', 'Diagnostic-Code', 'Remote-MTA', 'Reporting-MTA', 'Feedback-Type', 'Original-Rcpt-To', 'Arrival-Date'),
  fc.oneof(
    fc.constantFrom('rfc822; gone@example.test', 'rfc822;<a@b.c>', 'failed', 'delayed', 'delivered', '5.1.1', '4.2.2', '9.9.9', 'smtp; 550 5.1.1 user unknown', 'smtp; 452 4.2.2 mailbox full', 'abuse', 'not-spam'),
    hostileString(200),
    fc.emailAddress().map((a) => `rfc822; ${a}`),
  ),
).map(([n, v]) => `${n}: ${v}`);

/** multipart/report with a random delivery-status or feedback-report part. */
const report = fc
  .tuple(
    fc.constantFrom('message/delivery-status', 'message/feedback-report', 'message/global-delivery-status', 'text/plain', 'message/rfc822', 'text/rfc822-headers'),
    fc.array(fc.array(dsnField, { maxLength: 6 }), { minLength: 1, maxLength: 4 }),
    fc.array(headerLine, { maxLength: 4 }),
    hostileString(200),
    fc.boolean(),
  )
  .map(([type, groups, extra, human, closed]) => {
    const b = 'b-prop';
    return [
      'From: Mail Delivery System <MAILER-DAEMON@mx.example.test>',
      'To: b+token@bounces.example.test',
      'Subject: Undelivered Mail Returned to Sender',
      ...extra,
      'MIME-Version: 1.0',
      `Content-Type: multipart/report; report-type=delivery-status; boundary="${b}"`,
      '',
      `--${b}`,
      'Content-Type: text/plain; charset=utf-8',
      '',
      human,
      `--${b}`,
      `Content-Type: ${type}`,
      '',
      groups.map((g) => g.join('\r\n')).join('\r\n\r\n'),
      closed ? `--${b}--` : '',
    ].join('\r\n');
  });

test('parseReport: random bytes parse to a known report type', async () => {
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ maxLength: 2_000 }), async (bytes) => {
      await assertKnownReport(Buffer.from(bytes));
    }),
    runs(300),
  );
});

test('parseReport: mail-shaped input with hostile headers parses to a known report type', async () => {
  await fc.assert(
    fc.asyncProperty(mailShaped, fc.boolean(), async (text, asLatin1) => {
      await assertKnownReport(asLatin1 ? Buffer.from(text, 'latin1') : text);
    }),
    runs(300),
  );
});

test('parseReport: DSNs and complaints with random fields give recipients of a known kind, category and scope', async () => {
  await fc.assert(
    fc.asyncProperty(report, async (text) => {
      await assertKnownReport(text);
    }),
    runs(300),
  );
});
