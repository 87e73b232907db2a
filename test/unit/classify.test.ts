// Classification (spec section 2) against real-world replies. Expected values come from the
// spec's table and rules, not from the implementation.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import {
  classifyLine,
  classifyReply,
  parseReplyLine,
  parseWaitHint,
  suppressesAddress,
} from '../../src/policy/classify';
import type { BounceCategory, RawReply, ReplyKind } from '../../src/types';

type Row = [source: string, line: string, kind: ReplyKind, category: BounceCategory, retryAfterMs?: number | null];

const S = 1_000;
const MIN = 60 * S;
const H = 60 * MIN;

const ROWS: Row[] = [
  // --- delivered
  ['gmail', '250 2.0.0 OK  1700000000 d9443c01a7336-2a0c3bd0f1dsi123456.123 - gsmtp', 'delivered', 'delivered'],
  ['microsoft', '250 2.6.0 <abc@example.com> [InternalId=123, Hostname=AM0PR01MB1234.eurprd01.prod.exchangelabs.com] Queued mail for delivery', 'delivered', 'delivered'],
  ['postfix', '250 2.0.0 Ok: queued as 4Bxyz12AbcDz', 'delivered', 'delivered'],

  // --- Gmail
  ['gmail', '550-5.1.1 The email account that you tried to reach does not exist. Please try double-checking the recipient\'s email address for typos or unnecessary spaces.', 'hard', 'unknown_user'],
  ['gmail', '550-5.2.1 The email account that you tried to reach is disabled. Learn more at https://support.google.com/mail/?p=DisabledUser', 'hard', 'mailbox_disabled'],
  ['gmail', '452-4.2.2 The email account that you tried to reach is over quota. Please direct the recipient to https://support.google.com/mail/?p=OverQuotaTemp', 'soft', 'mailbox_full'],
  ['gmail', '552-5.2.2 The email account that you tried to reach is over quota and inactive. Please direct the recipient to https://support.google.com/mail/?p=OverQuotaPerm', 'soft', 'mailbox_full'],
  ['gmail', '450-4.2.1 The user you are trying to contact is receiving mail too quickly. Please resend your message at a later time.', 'soft', 'rate_limited'],
  ['gmail', '450-4.2.1 The user you are trying to contact is receiving mail at a rate that prevents additional messages from being delivered.', 'soft', 'rate_limited'],
  ['gmail', '421-4.7.28 [203.0.113.5] Our system has detected an unusual rate of unsolicited mail originating from your IP address.', 'soft', 'rate_limited'],
  ['gmail', '421-4.7.0 Try again later, closing connection. (EHLO) d9443c01a7336-2a0c3bd0f1dsi1 - gsmtp', 'soft', 'rate_limited'],
  ['gmail', '451-4.3.0 Mail server temporarily rejected message. d9443c01a7336 - gsmtp', 'soft', 'server_unavailable'],
  ['gmail', '550-5.7.26 This mail is unauthenticated, which poses a security risk to the sender and Gmail users, and has been blocked. The sender must authenticate with at least one of SPF or DKIM.', 'hard', 'policy_block'],
  ['gmail', '550-5.7.26 Unauthenticated email from example.com is not accepted due to domain\'s DMARC policy.', 'hard', 'policy_block'],
  ['gmail', '552-5.3.4 Your message exceeded Google\'s message size limits. Please visit https://support.google.com/mail/?p=MaxSizeError', 'hard', 'message_too_large'],
  ['gmail', '553-5.1.3 The recipient address <bad@@example.com> is not a valid RFC-5321 address.', 'hard', 'invalid_address'],
  ['gmail', '550 5.4.5 Daily user sending quota exceeded. d9443c01a7336 - gsmtp', 'hard', 'policy_block'],
  ['gmail multi-line',
    '550-5.1.1 The email account that you tried to reach does not exist. Please try\n550-5.1.1 double-checking the recipient\'s email address for typos or\n550 5.1.1  https://support.google.com/mail/?p=NoSuchUser 41si - gsmtp',
    'hard', 'unknown_user'],

  // --- Microsoft 365 / Outlook.com
  ['microsoft', '550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup', 'hard', 'unknown_user'],
  ['microsoft', '550 5.4.1 Recipient address rejected: Access denied. For more information see https://aka.ms/EXOSmtpErrors [AS(201806281)]', 'hard', 'unknown_user'],
  ['microsoft', '452 4.3.1 Insufficient system resources (UsedDiskSpace[C:\\Program Files\\Microsoft\\Exchange Server\\V15\\TransportRoles\\data\\Queue])', 'soft', 'server_unavailable'],
  ['microsoft', '550 5.7.708 Service unavailable. Access denied, traffic not accepted from this IP. For more information please go to http://go.microsoft.com/fwlink/?LinkId=526653', 'hard', 'policy_block'],
  ['microsoft', '550 5.7.1 Service unavailable; Client host [203.0.113.5] blocked using Spamhaus.', 'hard', 'policy_block'],
  ['microsoft', '554 5.2.2 mailbox full; STOREDRV.Deliver.Exception:QuotaExceededException.MapiExceptionShutoffQuotaExceeded', 'soft', 'mailbox_full'],
  ['microsoft', '451 4.7.650 The mail server [203.0.113.5] has been temporarily rate limited due to IP reputation.', 'soft', 'rate_limited'],
  ['microsoft: 5xx basic, 4.x.x enhanced', '550 4.4.7 QUEUE.Expired; message expired', 'soft', 'server_unavailable'],
  ['outlook.com', '550 SC-001 (BAY004-MC5F20) Unfortunately, messages from 203.0.113.5 weren\'t sent. Please contact your Internet service provider since part of their network is on our block list.', 'hard', 'policy_block'],
  ['outlook.com', '421 RP-001 (BAY004-MC1F41) Unfortunately, some messages from 203.0.113.5 weren\'t sent. Please try again. We have limits for how many messages can be sent per hour and per day.', 'soft', 'rate_limited'],

  // --- Yahoo
  ['yahoo', '421 4.7.0 [TSS04] Messages from 203.0.113.5 temporarily deferred due to unexpected volume or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes', 'soft', 'rate_limited'],
  ['yahoo', '554 5.7.9 Message not accepted for policy reasons.  See https://postmaster.yahooinc.com/error-codes', 'hard', 'policy_block'],
  ['yahoo', '553 5.7.2 [TSS09] All messages from 203.0.113.5 will be permanently deferred; Retrying will NOT succeed. See https://postmaster.yahooinc.com/error-codes', 'hard', 'policy_block'],
  ['yahoo', '554 delivery error: dd This user doesn\'t have a yahoo.com account (nobody@yahoo.com) [0] - mta1234.mail.ne1.yahoo.com', 'hard', 'unknown_user'],
  ['yahoo', '554 delivery error: dd Sorry your message to someone@yahoo.com cannot be delivered. This mailbox is disabled (554.30). - mta1234.mail.ne1.yahoo.com', 'hard', 'mailbox_disabled'],

  // --- Postfix
  ['postfix/postgrey', '450 4.2.0 <a@b.example>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/b.example.html', 'soft', 'greylisted', null],
  ['postfix/postgrey', '450 4.2.0 <a@b.example>: Recipient address rejected: Greylisted for 300 seconds (see http://postgrey.schweikert.ch/help/b.example.html)', 'soft', 'greylisted', 300 * S],
  ['postfix', '550 5.1.1 <x@b.example>: Recipient address rejected: User unknown in virtual mailbox table', 'hard', 'unknown_user'],
  ['postfix', '550 5.1.1 <x@b.example>: Recipient address rejected: User unknown in local recipient table', 'hard', 'unknown_user'],
  ['postfix', '452 4.3.1 Insufficient system storage', 'soft', 'server_unavailable'],
  ['postfix', '552 5.3.4 Message size exceeds fixed limit', 'hard', 'message_too_large'],
  ['postfix', '554 5.7.1 <x@b.example>: Relay access denied', 'hard', 'policy_block'],
  ['postfix', '554 5.7.1 Service unavailable; Client host [203.0.113.5] blocked using zen.spamhaus.org', 'hard', 'policy_block'],
  ['postfix: sender domain, not recipient', '550 5.1.8 <bounce@sender.example>: Sender address rejected: Domain not found', 'hard', 'policy_block'],
  ['postfix: sender domain, soft', '450 4.1.8 <bounce@sender.example>: Sender address rejected: Domain not found', 'soft', 'temporary_failure'],
  ['postfix', '550 5.1.2 <x@nosuch.example>: Recipient address rejected: Domain not found', 'hard', 'unknown_domain'],
  ['postfix', '450 4.1.2 <x@nosuch.example>: Recipient address rejected: Domain not found', 'soft', 'temporary_failure'],
  ['postfix', '501 5.1.3 Bad recipient address syntax', 'hard', 'invalid_address'],
  ['postfix', '504 5.5.2 <x>: Recipient address rejected: need fully-qualified address', 'hard', 'invalid_address'],
  ['postfix', '451 4.3.5 Server configuration problem', 'soft', 'server_unavailable'],
  ['postfix', '450 4.7.1 Client host rejected: cannot find your hostname, [203.0.113.5]', 'soft', 'temporary_failure'],

  // --- Exim
  ['exim', '550 Unrouteable address', 'hard', 'unknown_domain'],
  ['exim', '451 Temporary local problem - please try later', 'soft', 'server_unavailable'],
  ['exim: sender verify (recipient words must not suppress)', '550-Verification failed for <bounce@sender.example>\n550-Unrouteable address\n550 Sender verify failed', 'hard', 'policy_block'],
  ['exim', '550 Administrative prohibition', 'hard', 'policy_block'],
  ['exim/cpanel', '550 No Such User Here', 'hard', 'unknown_user'],
  ['exim', '550 Mailbox quota exceeded', 'soft', 'mailbox_full'],

  // --- qmail
  ['qmail', '553 sorry, that domain isn\'t in my list of allowed rcpthosts (#5.7.1)', 'hard', 'policy_block'],
  ['qmail', '550 sorry, no mailbox here by that name. (#5.1.1)', 'hard', 'unknown_user'],
  ['qmail', '552 sorry, that message size exceeds my databytes limit (#5.3.4)', 'hard', 'message_too_large'],
  ['qmail', '451 qq temporary problem (#4.3.0)', 'soft', 'server_unavailable'],

  // --- greylisting daemons and wait hints
  ['greylistd', '451 4.7.1 Greylisting in action, please come back in 00:05:00', 'soft', 'greylisted', 5 * MIN],
  ['milter-greylist', '451 4.7.1 Greylisting in action, please come back in 0:01:30', 'soft', 'greylisted', 90 * S],
  ['greylist', '451 Greylisted, please try again in 180 seconds', 'soft', 'greylisted', 180 * S],
  ['greylist', '451 4.7.1 Please try again later', 'soft', 'greylisted', null],
  ['greylist', '450 Please retry in 5 minutes', 'soft', 'greylisted', 5 * MIN],
  ['rate limit with hint', '421 4.7.0 Too many connections from your host, try again in 1 hour', 'soft', 'rate_limited', H],
  ['rate limit, 4.4.x with "too many"', '421 4.4.5 Too many connections from 203.0.113.5, retry after 2 mins', 'soft', 'rate_limited', 2 * MIN],
  ['generic', '452 4.5.3 Too many recipients', 'soft', 'rate_limited'],

  // --- basic codes without enhanced code
  ['rfc5321', '421 Service not available, closing transmission channel', 'soft', 'server_unavailable'],
  ['rfc5321', '552 Requested mail action aborted: exceeded storage allocation', 'soft', 'mailbox_full'],
  ['bare 552', '552 Mailbox does not exist', 'hard', 'unknown_user'],
  ['bare 552', '552 Message size exceeds maximum permitted', 'hard', 'message_too_large'],
  ['bare 552 (RFC 5321 4.5.3.1.10)', '552 Too many recipients', 'soft', 'rate_limited'],
  ['rfc5321', '550 Requested action not taken: mailbox unavailable', 'hard', 'permanent_failure'],
  ['rfc5321', '554 Transaction failed', 'hard', 'permanent_failure'],
  ['rfc5321', '451 Requested action aborted: error in processing', 'soft', 'temporary_failure'],
  ['rfc5321', '553 Requested action not taken: mailbox name not allowed', 'hard', 'invalid_address'],
  ['smtp; prefix (DSN Diagnostic-Code)', 'smtp; 550 5.1.1 <x@b.example>... User unknown', 'hard', 'unknown_user'],
  ['nodemailer message prefix', 'Can\'t send mail - all recipients were rejected: 550 5.1.1 <x@b.example>: Recipient address rejected: User unknown', 'hard', 'unknown_user'],

  // --- connection-level failures
  ['node', 'ECONNREFUSED connect ECONNREFUSED 127.0.0.1:25', 'soft', 'network_error'],
  ['node', 'Error: read ECONNRESET', 'soft', 'network_error'],
  ['node', 'ETIMEDOUT', 'soft', 'network_error'],
  ['node', 'getaddrinfo EAI_AGAIN mx.example.com', 'soft', 'network_error'],
  ['nodemailer', 'ETLS Client network socket disconnected before secure TLS connection was established', 'soft', 'network_error'],
  ['node tls', 'CERT_HAS_EXPIRED certificate has expired', 'soft', 'network_error'],
  ['nodemailer', 'Greeting never received', 'soft', 'network_error'],
  ['nodemailer', 'Connection closed unexpectedly', 'soft', 'network_error'],
];

describe('classifyLine: real-world replies', () => {
  for (const [source, line, kind, category, retryAfterMs] of ROWS) {
    it(`${source}: ${line.split('\n')[0].slice(0, 90)}`, () => {
      const c = classifyLine(line);
      assert.equal(c.category, category);
      assert.equal(c.kind, kind);
      if (retryAfterMs !== undefined) assert.equal(c.retryAfterMs, retryAfterMs);
    });
  }

  it('has at least 45 rows', () => assert.ok(ROWS.length >= 45));
});

describe('classifyReply: structured replies', () => {
  const cases: Array<[RawReply, ReplyKind, BounceCategory]> = [
    [{ code: null, enhanced: null, text: '', errorCode: 'ESOCKET' }, 'soft', 'network_error'],
    [{ code: null, enhanced: null, text: 'Connection timeout', errorCode: 'ETIMEDOUT' }, 'soft', 'network_error'],
    // nodemailer's EENVELOPE carries the server's code: the code decides, not the error code.
    [{ code: 550, enhanced: '5.1.1', text: 'User unknown', errorCode: 'EENVELOPE' }, 'hard', 'unknown_user'],
    [{ code: 452, enhanced: '4.2.2', text: '', errorCode: null }, 'soft', 'mailbox_full'],
    [{ code: 552, enhanced: '5.2.2', text: '' }, 'soft', 'mailbox_full'],
    [{ code: 552, enhanced: null, text: '' }, 'soft', 'mailbox_full'],
    [{ code: 421, enhanced: null, text: '' }, 'soft', 'server_unavailable'],
    [{ code: 550, enhanced: null, text: '' }, 'hard', 'permanent_failure'],
    [{ code: 450, enhanced: null, text: '' }, 'soft', 'temporary_failure'],
    [{ code: 250, enhanced: null, text: 'OK' }, 'delivered', 'delivered'],
  ];
  for (const [raw, kind, category] of cases) {
    it(`${JSON.stringify(raw)} -> ${kind}/${category}`, () => {
      const c = classifyReply(raw);
      assert.equal(c.kind, kind);
      assert.equal(c.category, category);
      assert.equal(c.code, raw.code);
      assert.equal(c.enhanced, raw.enhanced);
      assert.equal(c.text, raw.text);
      assert.equal(c.retryAfterMs, null);
    });
  }

  it('fills retryAfterMs from the text', () => {
    const c = classifyReply({ code: 451, enhanced: '4.7.1', text: 'Greylisted, try again in 300 seconds' });
    assert.equal(c.category, 'greylisted');
    assert.equal(c.retryAfterMs, 300 * S);
  });
});

describe('parseReplyLine', () => {
  const cases: Array<[string, RawReply]> = [
    ['452 4.2.2 The email account that you tried to reach is over quota',
      { code: 452, enhanced: '4.2.2', text: 'The email account that you tried to reach is over quota', errorCode: null }],
    ['550-5.1.1 The email account that you tried to reach does not exist',
      { code: 550, enhanced: '5.1.1', text: 'The email account that you tried to reach does not exist', errorCode: null }],
    ['550-5.1.1 The email account that you tried to reach does not exist. Please try\r\n550-5.1.1 double-checking the recipient\'s email address\r\n550 5.1.1 https://support.google.com/mail/?p=NoSuchUser',
      { code: 550, enhanced: '5.1.1', text: 'The email account that you tried to reach does not exist. Please try double-checking the recipient\'s email address https://support.google.com/mail/?p=NoSuchUser', errorCode: null }],
    ['421 Service not available', { code: 421, enhanced: null, text: 'Service not available', errorCode: null }],
    ['550 5.1.10 RESOLVER.ADR.RecipientNotFound', { code: 550, enhanced: '5.1.10', text: 'RESOLVER.ADR.RecipientNotFound', errorCode: null }],
    ['250', { code: 250, enhanced: null, text: '', errorCode: null }],
    ['smtp; 550 5.1.1 User unknown', { code: 550, enhanced: '5.1.1', text: 'User unknown', errorCode: null }],
    ['Error: 421 4.7.0 Try again later', { code: 421, enhanced: '4.7.0', text: 'Try again later', errorCode: null }],
    ['553 sorry, that domain isn\'t in my list of allowed rcpthosts (#5.7.1)',
      { code: 553, enhanced: '5.7.1', text: 'sorry, that domain isn\'t in my list of allowed rcpthosts (#5.7.1)', errorCode: null }],
    ['ECONNREFUSED connect ECONNREFUSED 127.0.0.1:25',
      { code: null, enhanced: null, text: 'ECONNREFUSED connect ECONNREFUSED 127.0.0.1:25', errorCode: 'ECONNREFUSED' }],
    ['ETIMEDOUT', { code: null, enhanced: null, text: 'ETIMEDOUT', errorCode: 'ETIMEDOUT' }],
    ['Error: getaddrinfo EAI_AGAIN mx.example.com',
      { code: null, enhanced: null, text: 'getaddrinfo EAI_AGAIN mx.example.com', errorCode: 'EAI_AGAIN' }],
    ['Greeting never received', { code: null, enhanced: null, text: 'Greeting never received', errorCode: null }],
    ['Mailbox unavailable', { code: null, enhanced: null, text: 'Mailbox unavailable', errorCode: null }],
    ['', { code: null, enhanced: null, text: '', errorCode: null }],
  ];
  for (const [line, expected] of cases) {
    it(JSON.stringify(line.slice(0, 70)), () => assert.deepEqual(parseReplyLine(line), expected));
  }

  it('does not take an IP port or a bare number for a reply code', () => {
    assert.equal(parseReplyLine('Error: connect ECONNREFUSED 10.0.0.1:250').code, null);
    assert.equal(parseReplyLine('5500 bytes').code, null);
  });
});

describe('parseWaitHint', () => {
  const cases: Array<[string, number | null]> = [
    ['try again in 300 seconds', 300 * S],
    ['retry in 5 minutes', 5 * MIN],
    ['please try again in 1 hour', H],
    ['wait 00:05:00', 5 * MIN],
    ['retry after 0:01:30', 90 * S],
    ['come back in 05:00', 5 * MIN],
    ['try again in 60s', 60 * S],
    ['in 2 mins', 2 * MIN],
    ['Greylisted for 300 seconds', 300 * S],
    ['please try again in 2 hours', 2 * H],
    ['try again in 1.5 hours', 1.5 * H],
    ['try again in a minute', MIN],
    ['Deferred: retry after 30 secs', 30 * S],
    ['try again later', null],
    ['Messages from 203.0.113.5 temporarily deferred - 4.16.55.1', null],
    ['550 5.1.1 user unknown', null],
    ['try again in a few minutes', null],
    ['', null],
  ];
  for (const [text, expected] of cases) {
    it(JSON.stringify(text), () => assert.equal(parseWaitHint(text), expected));
  }
});

describe('suppressesAddress', () => {
  const cases: Array<[string, boolean]> = [
    ['550 5.1.1 User unknown', true],
    ['550 5.1.2 Domain not found', true],
    ['550 5.2.1 Account disabled', true],
    ['501 5.1.3 Bad recipient address syntax', true],
    ['554 Transaction failed', true],
    ['550 5.7.1 Blocked using Spamhaus', false], // policy_block: the sender's problem
    ['552 5.3.4 Message size exceeds fixed limit', false], // message_too_large
    ['552 5.2.2 Mailbox full', false], // soft
    ['451 4.7.1 Greylisted', false],
    ['250 2.0.0 OK', false],
    ['ECONNRESET', false],
  ];
  for (const [line, expected] of cases) {
    it(`${line} -> ${expected}`, () => assert.equal(suppressesAddress(classifyLine(line)), expected));
  }
});
