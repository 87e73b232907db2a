// The bounce parser (README "Late outcomes", parsing): every corpus file against its judged
// expectation (test/corpus/bounces/expected.json), the measured accuracy, and edge cases.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseReport } from '../../src/bounces/parse';
import { Expectations, matchesExactly, measureAccuracy } from '../../src/bounces/parse-accuracy';

// Compiled to dist/test/unit: the corpus stays in the source tree.
const CORPUS = join(__dirname, '..', '..', '..', 'test', 'corpus', 'bounces');
const expectations = JSON.parse(readFileSync(join(CORPUS, 'expected.json'), 'utf8')) as Expectations;
const REF = '0123456789abcdef0123456789abcdef0123';

describe('bounce corpus', () => {
  for (const [file, expected] of Object.entries(expectations)) {
    if (expected.knownMiss) {
      // A mail the parser is known to misread (README "Late outcomes", accuracy): the miss must
      // be on the safe side, nothing in it read as a hard bounce that would suppress on a guess.
      it(`${file}, a known miss (${expected.knownMiss}), suppresses nobody`, async () => {
        const actual = await parseReport(readFileSync(join(CORPUS, file)));
        assert.deepEqual(actual.recipients.filter((r) => r.kind === 'hard').map((r) => r.address), []);
      });
      continue;
    }
    it(file, async () => {
      const actual = await parseReport(readFileSync(join(CORPUS, file)));
      const got = { type: actual.type, recipients: actual.recipients.map((r) => ({ address: r.address, status: r.status, category: r.category })) };
      assert.ok(matchesExactly(expected, actual), `${file}: expected ${JSON.stringify({ type: expected.type, recipients: expected.recipients })}, got ${JSON.stringify(got)}`);
    });
  }

  it('has over 100 files and measured accuracy no lower than README "Late outcomes" says', async () => {
    const a = await measureAccuracy(CORPUS);
    assert.ok(a.files >= 100, `${a.files} files`);
    assert.ok(a.recipientFound.fraction >= 0.95, JSON.stringify(a.recipientFound));
    assert.ok(a.statusFound.fraction >= 0.95, JSON.stringify(a.statusFound));
    assert.ok(a.categoryRight.fraction >= 0.85, JSON.stringify(a.categoryRight));
  });
});

const mail = (headers: string, body: string): string => `${headers.trim()}\r\n\r\n${body}`;
const dsn = (groups: string, returned = ''): string =>
  mail(
    'From: MAILER-DAEMON@mx.example.org\nTo: b+x@bounces.example.com\nSubject: Undelivered Mail\nAuto-Submitted: auto-replied\nContent-Type: multipart/report; report-type=delivery-status; boundary="B"',
    `--B\nContent-Type: text/plain\n\nSorry.\n\n--B\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.org\n\n${groups}\n${returned}--B--\n`,
  );

describe('parseReport edge cases', () => {
  const notBounces: Array<[string, string | Buffer]> = [
    ['empty input', ''],
    ['binary junk', Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256))],
    ['headers without a body', 'Subject: hi'],
    ['malformed MIME (unterminated boundary)', mail('From: a@example.net\nContent-Type: multipart/mixed; boundary="zz"', '--zz\nContent-Type: text/plain\n\nhello')],
    ['a human mail', mail('From: Alex <alex@example.net>\nSubject: lunch?', 'Shall we?')],
  ];
  for (const [name, raw] of notBounces) {
    it(`${name} is not_a_bounce with a reason`, async () => {
      const r = await parseReport(raw);
      assert.equal(r.type, 'not_a_bounce');
      assert.ok(r.reason && r.reason.length > 0);
      assert.deepEqual(r.recipients, []);
    });
  }

  const oneRecipient: Array<[string, string, Partial<Record<'address' | 'action' | 'status' | 'code' | 'kind' | 'category' | 'scope', string | null>>]> = [
    ['failed, Original-Recipient preferred and lower-cased', 'Final-Recipient: rfc822; alias@example.org\nOriginal-Recipient: rfc822;Alice@Example.ORG\nAction: failed\nStatus: 5.1.1\nDiagnostic-Code: smtp; 550 5.1.1\n  <alice@example.org>: user unknown\n', { address: 'alice@example.org', action: 'failed', status: '5.1.1', code: '550', kind: 'hard', category: 'unknown_user', scope: 'recipient' }],
    ['delayed is soft even with a 5.x.x status', 'Final-Recipient: rfc822; bob@example.org\nAction: delayed\nStatus: 5.1.1\nDiagnostic-Code: smtp; 550 5.1.1 user unknown\n', { action: 'delayed', kind: 'soft' }],
    ['delayed with 4.4.7', 'Final-Recipient: rfc822; bob@example.org\nAction: delayed\nStatus: 4.4.7\n', { action: 'delayed', status: '4.4.7', kind: 'soft' }],
    ['relayed is delivered', 'Final-Recipient: rfc822; c@example.org\nAction: relayed\nStatus: 2.0.0\n', { action: 'relayed', kind: 'delivered', category: 'delivered' }],
    ['delivered', 'Final-Recipient: rfc822; c@example.org\nAction: delivered\nStatus: 2.0.0\n', { action: 'delivered', kind: 'delivered', category: 'delivered' }],
    ['missing Action: the status class decides', 'Final-Recipient: rfc822; d@example.org\nStatus: 5.2.2\n', { action: 'failed', category: 'mailbox_full', kind: 'soft' }],
    ['failed without any code and vague text stays soft', 'Final-Recipient: rfc822; e@example.org\nAction: failed\nDiagnostic-Code: x-local; something went wrong\n', { status: null, code: null, kind: 'soft' }],
    ['failed without any code but "no such user" is hard', 'Final-Recipient: rfc822; e@example.org\nAction: failed\nDiagnostic-Code: x-local; no such user\n', { status: null, code: null, kind: 'hard', category: 'unknown_user' }],
    ['failed, text about the sender is never the recipient', 'Final-Recipient: rfc822; f@example.org\nAction: failed\nStatus: 5.7.1\nDiagnostic-Code: smtp; 554 5.7.1 Client host blocked using zen.spamhaus.org\n', { category: 'policy_block', scope: 'sender' }],
  ];
  for (const [name, group, want] of oneRecipient) {
    it(`DSN: ${name}`, async () => {
      const r = await parseReport(dsn(group));
      assert.equal(r.type, 'dsn');
      assert.equal(r.recipients.length, 1);
      for (const [k, v] of Object.entries(want)) assert.equal(r.recipients[0][k as keyof typeof want], v, k);
    });
  }

  it('DSN with several recipients keeps them in order', async () => {
    const groups = ['a', 'b', 'c'].map((l) => `Final-Recipient: rfc822; ${l}@example.org\nAction: failed\nStatus: 5.1.1\n`).join('\n');
    const r = await parseReport(dsn(groups));
    assert.deepEqual(r.recipients.map((x) => x.address), ['a@example.org', 'b@example.org', 'c@example.org']);
  });

  it('caps the recipients of one report', async () => {
    const groups = Array.from({ length: 1500 }, (_, i) => `Final-Recipient: rfc822; u${i}@example.org\nAction: failed\nStatus: 5.1.1\n`).join('\n');
    const r = await parseReport(dsn(groups));
    assert.equal(r.recipients.length, 1000);
  });

  it('bounds the diagnostic', async () => {
    const r = await parseReport(dsn(`Final-Recipient: rfc822; a@example.org\nAction: failed\nStatus: 5.0.0\nDiagnostic-Code: smtp; 550 ${'x'.repeat(5000)}\n`));
    assert.ok((r.recipients[0].diagnostic ?? '').length <= 1000);
  });

  for (const type of ['text/rfc822-headers', 'message/rfc822']) {
    it(`reads Message-ID and X-Rebound-Ref from a ${type} part`, async () => {
      const returned = `--B\nContent-Type: ${type}\n\nFrom: app@example.com\nMessage-ID: <m-1@example.com>\nX-Rebound-Ref: ${REF.toUpperCase()}\nSubject: =?UTF-8?B?w5xiZXI=?=\n\nbody\n`;
      const r = await parseReport(dsn('Final-Recipient: rfc822; a@example.org\nAction: failed\nStatus: 5.1.1\n', returned));
      assert.equal(r.originalMessageId, '<m-1@example.com>');
      assert.equal(r.reboundRef, REF);
    });
  }

  it('an X-Rebound-Ref that is not a token is ignored', async () => {
    const returned = '--B\nContent-Type: text/rfc822-headers\n\nMessage-ID: <m-2@example.com>\nX-Rebound-Ref: hello\n\n';
    const r = await parseReport(dsn('Final-Recipient: rfc822; a@example.org\nAction: failed\nStatus: 5.1.1\n', returned));
    assert.equal(r.reboundRef, null);
  });

  it('ARF with Original-Rcpt-To', async () => {
    const r = await parseReport(readFileSync(join(CORPUS, 'rebound', 'arf-with-rcpt-to.eml')));
    assert.deepEqual([r.type, r.feedbackType, r.reboundRef, r.originalMessageId], ['complaint', 'abuse', REF, '<digest-42@example.com>']);
    assert.deepEqual(r.recipients, [{ address: 'complainer@mailbox.example.net', action: null, status: null, code: null, diagnostic: null, kind: 'complaint', category: 'complaint', scope: 'recipient' }]);
  });

  it('ARF without Original-Rcpt-To takes the returned To', async () => {
    const r = await parseReport(readFileSync(join(CORPUS, 'rebound', 'arf-headers-only-no-rcpt-to.eml')));
    assert.deepEqual(r.recipients.map((x) => x.address), ['someone@fbl.example.org']);
    assert.equal(r.originalMessageId, '<offers-7@example.com>');
  });

  const autoReplies: Array<[string, string]> = [
    ['Auto-Submitted: auto-replied', 'From: sam@example.net\nSubject: Re: hi\nAuto-Submitted: auto-replied\nIn-Reply-To: <m-9@example.com>'],
    ['an out-of-office subject', 'From: kim@example.net\nSubject: Out of Office: hi'],
    ['an encoded-word subject', 'From: joerg@example.de\nSubject: =?ISO-8859-1?Q?Abwesenheitsnotiz:_Ihre_Rechnung?='],
    ['Precedence: auto_reply', 'From: a@example.net\nSubject: x\nPrecedence: auto_reply'],
  ];
  for (const [name, headers] of autoReplies) {
    it(`auto-reply by ${name}`, async () => {
      const r = await parseReport(mail(headers, 'I am away.'));
      assert.equal(r.type, 'auto_reply');
      assert.deepEqual(r.recipients, []);
    });
  }

  it('an Auto-Submitted DSN is a DSN, not an auto-reply', async () => {
    const r = await parseReport(dsn('Final-Recipient: rfc822; a@example.org\nAction: failed\nStatus: 5.1.1\n'));
    assert.equal(r.type, 'dsn');
  });

  it('Auto-Submitted: no is not an auto-reply', async () => {
    const r = await parseReport(mail('From: a@example.net\nSubject: hello\nAuto-Submitted: no', 'hi'));
    assert.equal(r.type, 'not_a_bounce');
  });

  it('8-bit headers and body in a plain-text bounce', async () => {
    const raw = Buffer.concat([
      Buffer.from('From: MAILER-DAEMON@mx.example.org\nSubject: Unzustellbar: R'),
      Buffer.from([0xfc]),
      Buffer.from('ckmeldung\n\n<M\xc3\xbcller@Example.ORG>: host mx said: 550 5.1.1 Benutzer unbekannt\n', 'latin1'),
    ]);
    const r = await parseReport(raw);
    assert.equal(r.type, 'dsn');
    assert.equal(r.recipients[0].address, 'müller@example.org');
    assert.equal(r.recipients[0].status, '5.1.1');
  });

  it('a large mail is parsed in bounded time', async () => {
    const big = dsn('Final-Recipient: rfc822; a@example.org\nAction: failed\nStatus: 5.1.1\n', `--B\nContent-Type: message/rfc822\n\nMessage-ID: <big@example.com>\n\n${'y'.repeat(76).concat('\n').repeat(80_000)}`);
    const start = Date.now();
    const r = await parseReport(big);
    assert.equal(r.recipients[0].address, 'a@example.org');
    assert.ok(Date.now() - start < 5_000);
  });
});
