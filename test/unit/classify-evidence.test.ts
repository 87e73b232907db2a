// The classifier applied to what a bounce mail says about one recipient (README "Late outcomes",
// parsing): the reply the parser reads in a diagnostic or a Status field, and the verdict. The
// safety principles of classification hold here too: an uncoded reason is never hard unless the
// mail system gave up on a recipient that plainly does not exist, and text about our own address
// never reads as the recipient's.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseReport } from '../../src/bounces/parse';
import { readDeliveryStatus, replyInStatus } from '../../src/bounces/parse-dsn';
import { classifyEvidence, RecipientEvidence, replyInDiagnostic } from '../../src/bounces/parse-outcome';
import { introducedReason } from '../../src/bounces/parse-text';
import type { DsnAction, ReportRecipient } from '../../src/bounces/contract';

type Verdict = Pick<ReportRecipient, 'code' | 'kind' | 'category' | 'scope'>;

const evidence = (action: DsnAction | null, status: string | null, diagnostic: string): RecipientEvidence => ({
  address: 'rfc822; x@b.example',
  action,
  status,
  diagnostic,
});

describe('classifyEvidence: reasons written in bounce mails', () => {
  const rows: Array<[string, RecipientEvidence, Verdict]> = [
    ['E500 SMTP Mail Service names the code in brackets', evidence('failed', null, 'Requested action not taken: mailbox unavailable. [SMTP Error Code 550]'),
      { code: '550', kind: 'hard', category: 'permanent_failure', scope: 'recipient' }],
    ['a named 4xx code stays soft', evidence('failed', null, 'Requested mail action not taken: mailbox busy. [SMTP Error Code 450]'),
      { code: '450', kind: 'soft', category: 'temporary_failure', scope: 'recipient' }],
    ['uncoded, given up, plainly no such user', evidence('failed', null, '(Originally addressed to x@b.example) User not known'),
      { code: null, kind: 'hard', category: 'unknown_user', scope: 'recipient' }],
    ['uncoded, given up, plainly no such user (Post.Office)', evidence('failed', null, 'Invalid final delivery userid: x@b.example'),
      { code: null, kind: 'hard', category: 'unknown_user', scope: 'recipient' }],
    ['uncoded, given up, French', evidence('failed', null, "L'adresse de messagerie référencée ci-dessus n'existe pas."),
      { code: null, kind: 'hard', category: 'unknown_user', scope: 'recipient' }],
    ['uncoded, given up, German', evidence('failed', null, 'Der Empfänger ist unbekannt.'),
      { code: null, kind: 'hard', category: 'unknown_user', scope: 'recipient' }],
    ['uncoded, given up, Spanish', evidence('failed', null, 'El buzón x@b.example no existe.'),
      { code: null, kind: 'hard', category: 'unknown_user', scope: 'recipient' }],
    ['uncoded, about our own address: never hard, and the sender\'s', evidence('failed', null, "L'adresse de l'expéditeur n'existe pas."),
      { code: null, kind: 'soft', category: 'temporary_failure', scope: 'sender' }],
    ['uncoded, still trying: never hard', evidence('delayed', null, 'User not known'),
      { code: null, kind: 'soft', category: 'temporary_failure', scope: 'destination' }],
    ['uncoded size text: never hard', evidence('failed', null, 'This mail message has exceeded the maximum incoming message size.'),
      { code: null, kind: 'soft', category: 'temporary_failure', scope: 'destination' }],
    ['uncoded full mail folder (qmail-style)', evidence('failed', null, "The e-mail message could not be delivered because the user's mailfolder is full."),
      { code: null, kind: 'soft', category: 'mailbox_full', scope: 'recipient' }],
    ['uncoded unreachable destination (Netscape)', evidence('failed', null, 'Your message was not delivered because the destination computer was not reachable within the allowed queue period.'),
      { code: null, kind: 'soft', category: 'network_error', scope: 'destination' }],
    ['Status 5.0.0 with a disk quota reason', evidence('failed', '5.0.0', 'Original address: x@b.example Reason: recipient reached disk quota'),
      { code: null, kind: 'soft', category: 'mailbox_full', scope: 'recipient' }],
    ['sendmail relay= is not relaying', evidence('failed', '5.3.0', 'RCPT TO generated following response: 553 5.3.0 <x@b.example>... Addressee unknown, relay=[192.0.2.10]'),
      { code: '553', kind: 'hard', category: 'unknown_user', scope: 'recipient' }],
  ];
  for (const [name, e, expected] of rows) {
    it(name, () => {
      const r = classifyEvidence(e);
      assert.deepEqual({ code: r.code, kind: r.kind, category: r.category, scope: r.scope }, expected);
      assert.equal(r.address, 'x@b.example');
    });
  }
});

describe('replyInDiagnostic: a code named in the text', () => {
  const rows: Array<[string, number | null]> = [
    ['mailbox unavailable. [SMTP Error Code 550]', 550],
    ['Delivery failed (SMTP error code: 552)', 552],
    ['Connection dropped [smtp code 421]', 421],
    ['Too large [SMTP Error Code 5500]', null],
    ['[Error Code 550]', null],
    ['Accepted [SMTP Error Code 250]', null],
  ];
  for (const [text, code] of rows) {
    it(JSON.stringify(text), () => assert.equal(replyInDiagnostic(text).code, code));
  }
});

describe('replyInStatus: an SMTP reply written into the Status field', () => {
  const rows: Array<[string | null, string | null]> = [
    ['553 Exceeded maximum inbound message size', '553 Exceeded maximum inbound message size'],
    ['5.1.1', null],
    ['4.2.2 (mailbox full)', null],
    ['553', null],
    ['250 Ok', null],
    [null, null],
  ];
  for (const [status, diagnostic] of rows) {
    it(JSON.stringify(status), () => assert.equal(replyInStatus(status), diagnostic));
  }

  it('gives a recipient without Diagnostic-Code the reply as its diagnostic, and the classifier its code', () => {
    const [r] = readDeliveryStatus('Reporting-MTA: dns; mx.b.example\n\nFinal-Recipient: rfc822;x@b.example\nAction: failure\nStatus: 553 Exceeded maximum inbound message size\n');
    assert.equal(r.diagnostic, '553 Exceeded maximum inbound message size');
    const c = classifyEvidence(r);
    assert.deepEqual({ status: c.status, code: c.code, category: c.category, scope: c.scope }, { status: null, code: '553', category: 'message_too_large', scope: 'message' });
  });

  it('keeps a Diagnostic-Code over the Status', () => {
    const [r] = readDeliveryStatus('Final-Recipient: rfc822;x@b.example\nStatus: 553 Exceeded maximum inbound message size\nDiagnostic-Code: smtp; 550 5.1.1 User unknown\n');
    assert.equal(r.diagnostic, 'smtp; 550 5.1.1 User unknown');
  });
});

describe('introducedReason: one reason written above the recipients', () => {
  const rows: Array<[string, string[], string | null]> = [
    ['the paragraph after the introduction, blank lines before it skipped',
      ['This Message was undeliverable due to the following reason:', '', 'The destination computer was', 'not reachable.', '', 'Most likely there is a network problem.'],
      'The destination computer was\nnot reachable.'],
    ['plural, trailing spaces', ['Delivery failed for the following reasons:  ', 'Host b.example is not responding.'], 'Host b.example is not responding.'],
    ['no introduction', ['Your message could not be delivered.', 'User not known'], null],
    ['an introduction with nothing after it', ['due to the following reason:', '', ''], null],
    ['"reason" inside a sentence introduces nothing', ['For the following reason we could not deliver it', 'x'], null],
  ];
  for (const [name, lines, expected] of rows) {
    it(name, () => assert.equal(introducedReason(lines), expected));
  }

  it('is the reason of recipients listed without one of their own', async () => {
    const raw = [
      'From: Mail Administrator <postmaster@mx.b.example>',
      'To: b+token@bounces.example.com',
      'Subject: Mail System Error - Returned Mail',
      '',
      'This Message was undeliverable due to the following reason:',
      '',
      'Your message was not delivered because the destination computer was',
      'not reachable within the allowed queue period.',
      '',
      'The following recipients did not receive your message:',
      '',
      '     <x@b.example>',
      '',
    ].join('\r\n');
    const report = await parseReport(raw);
    assert.equal(report.type, 'dsn');
    assert.deepEqual(report.recipients.map((r) => [r.address, r.category, r.scope]), [['x@b.example', 'network_error', 'destination']]);
  });
});
