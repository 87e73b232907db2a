// The bounce parser against the nasty-input corpus (test/fixtures/nasty/, README "Tests"): 8-bit
// and malformed headers, invalid UTF-8, NUL bytes, and generated giants — a 10 MB single line, a
// 10 MB header, multiparts nested 1000 deep, a DSN naming 10 000 recipients. Each parses to a
// report of a known type within the parser's bounds (README "Late outcomes", parsing), and a
// readable recipient is still read where there is one.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { REPORT_TYPES, type ParsedReport } from '../../src/bounces/contract';
import { parseReport } from '../../src/bounces/parse';
import { MAX_RECIPIENTS } from '../../src/bounces/parse-outcome';
import { nestedMultipart } from '../helpers/nasty';
import { CATEGORIES } from '../helpers/properties';

// Compiled to dist/test/unit: the fixtures stay in the source tree.
const NASTY = join(__dirname, '..', '..', '..', 'test', 'fixtures', 'nasty');
const fixture = (name: string): Buffer => readFileSync(join(NASTY, name));

const HEAD = 'From: Mail Delivery System <MAILER-DAEMON@mx.example.test>\r\nTo: b+token@bounces.example.test\r\nSubject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\n';

async function parsed(raw: Buffer | string): Promise<ParsedReport> {
  const report = await parseReport(raw);
  assert.ok((REPORT_TYPES as readonly string[]).includes(report.type), `type ${report.type}`);
  assert.ok(report.recipients.length <= MAX_RECIPIENTS);
  for (const r of report.recipients) assert.ok(r.category === 'complaint' || CATEGORIES.includes(r.category), `category ${r.category}`);
  return report;
}

describe('bounce parser, nasty inputs', () => {
  it('8-bit header values: read as a bounce, the recipient and the reply found', async () => {
    const report = await parsed(fixture('eightbit-headers.eml'));
    assert.equal(report.type, 'dsn');
    assert.deepEqual(report.recipients.map((r) => [r.address, r.category]), [['gone@example.test', 'unknown_user']]);
  });

  it('malformed headers: a known report type, no exception', async () => {
    const report = await parsed(fixture('malformed-headers.eml'));
    assert.equal(typeof report.reason === 'string' || report.recipients.length > 0, true);
  });

  it('invalid UTF-8 declared as UTF-8: the delivery-status fields are still read', async () => {
    const report = await parsed(fixture('invalid-utf8.eml'));
    assert.equal(report.type, 'dsn');
    assert.equal(report.recipients.length, 1);
    assert.equal(report.recipients[0].status, '5.1.1');
    assert.equal(report.recipients[0].kind, 'hard');
  });

  it('NUL bytes and bare CR or LF line ends: a known report type', async () => {
    await parsed(fixture('nul-and-bare-line-ends.eml'));
  });

  it('a 10 MB single line in the body: not a bounce, nothing thrown', async () => {
    const report = await parsed(`From: someone@example.test\r\nSubject: hello\r\n\r\n${'x'.repeat(10 * 1024 * 1024)}`);
    assert.equal(report.type, 'not_a_bounce');
  });

  it('a 10 MB header line: unreadable, with the reason', async () => {
    const report = await parsed(`Subject: ${'y'.repeat(10 * 1024 * 1024)}\r\n\r\nbody`);
    assert.equal(report.type, 'not_a_bounce');
    assert.match(report.reason ?? '', /unreadable MIME: .*header size/i);
  });

  it('multiparts nested 100 deep are read; 1000 deep are refused as unreadable, not a stack overflow', async () => {
    const shallow = await parsed(nestedMultipart(100));
    assert.equal(shallow.type, 'dsn');
    assert.equal(shallow.recipients[0]?.address, 'gone@example.test');
    const deep = await parsed(nestedMultipart(1000));
    assert.equal(deep.type, 'not_a_bounce');
    assert.match(deep.reason ?? '', /nesting depth/i);
  });

  it(`a DSN naming 10 000 recipients keeps at most ${MAX_RECIPIENTS}`, async () => {
    const groups = Array.from({ length: 10_000 }, (_, i) => `Final-Recipient: rfc822; r${i}@example.test\r\nAction: failed\r\nStatus: 5.1.1\r\n`).join('\r\n');
    const report = await parsed(`${HEAD}Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx\r\n\r\n${groups}\r\n--b--\r\n`);
    assert.equal(report.type, 'dsn');
    assert.ok(report.recipients.length > 0 && report.recipients.length <= MAX_RECIPIENTS, `${report.recipients.length} recipients`);
  });
});
