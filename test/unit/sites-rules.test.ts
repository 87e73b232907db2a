// Rules that react to receivers' replies (README "Traffic shaping"): the shipped defaults
// against the replies the providers send, and the replies they must leave alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RawReply } from '../../src/delivery/contract';
import { parseReplyLine } from '../../src/delivery/reply-line';
import { DEFAULT_SITE_RULES, isReceiverReply, suspensionFor, type SiteRule } from '../../src/sites/rules';
import { suspendedReply } from '../../src/sites/deferral';

const M = 60_000;

test('the shipped rules: which reply suspends which site, by which rule, for how long', () => {
  const cases: Array<[site: string, line: string, rule: string | null, durationMs?: number]> = [
    ['google', '421-4.7.28 [203.0.113.5] Our system has detected an unusual rate of unsolicited mail originating from your IP address.', 'gmail-421-4.7.28', 60 * M],
    ['google', '421 4.7.28 rate limited', 'gmail-421-4.7.28', 60 * M],
    ['google', '450 4.2.1 The user you are trying to contact is receiving mail at a rate that prevents additional messages from being delivered.', 'gmail-450-4.2.1-rate', 15 * M],
    // The same 4.2.1 wording elsewhere is no Gmail rate limit.
    ['mx.example.org', '450 4.2.1 receiving mail at a rate that prevents delivery', null],
    ['yahoo', '421 4.7.0 [TSS04] Messages from 203.0.113.5 temporarily deferred due to unexpected volume or user complaints', 'yahoo-tss04', 60 * M],
    ['yahoo', '421 4.7.0 [TSS05] Messages from 203.0.113.5 temporarily deferred', 'yahoo-tss05', 120 * M],
    ['microsoft', '421 RP-001 (BAY004-MC1F41) Unfortunately, some messages from 203.0.113.5 weren\'t sent. Please try again.', 'outlook-rp-001-003', 60 * M],
    ['microsoft', '421 RP-003 (COL004-MC5F2) Unfortunately, some messages weren\'t sent.', 'outlook-rp-001-003', 60 * M],
    ['microsoft', '421 RP-004 something else', null],
    ['microsoft', '451 4.7.500 Server busy. Please try again later from [203.0.113.5]. (S77714)', 'microsoft-451-4.7.500', 15 * M],
    ['microsoft', '451 4.7.650 The mail server [203.0.113.5] has been temporarily rate limited due to IP reputation.', 'microsoft-451-4.7.500', 15 * M],
    // Replies that are not rate limits.
    ['google', '550 5.1.1 The email account that you tried to reach does not exist.', null],
    ['google', '250 2.0.0 OK', null],
    ['yahoo', '451 4.3.0 try again later', null],
  ];
  for (const [site, line, rule, durationMs] of cases) {
    const order = suspensionFor(site, [parseReplyLine(line)]);
    assert.equal(order?.rule ?? null, rule, line);
    if (order) {
      assert.equal(order.durationMs, durationMs, line);
      assert.equal(order.site, site);
      assert.match(order.reply, /^\d{3} /, 'the reply is kept with its code');
    }
  }
});

test('only receivers\' replies count: connection failures and Rebound\'s own deferrals never match', () => {
  const refused: RawReply = { code: null, enhanced: null, text: 'connect ECONNREFUSED 127.0.0.1:25 TSS04', errorCode: 'ECONNREFUSED' };
  const ownDeferral = suspendedReply({ scope: 'site', site: 'google', until: new Date(Date.now() + M), rule: 'gmail-421-4.7.28', reply: '421 4.7.28 rate limited', createdAt: new Date() }, Date.now(), () => 0);
  const cases: Array<[reply: RawReply, receiver: boolean]> = [
    [parseReplyLine('421 4.7.28 rate limited'), true],
    [refused, false],
    [ownDeferral, false],
    [{ code: null, enhanced: '4.7.28', text: 'no code', errorCode: null }, false],
  ];
  for (const [reply, receiver] of cases) {
    assert.equal(isReceiverReply(reply), receiver, reply.text);
    if (!receiver) assert.equal(suspensionFor('google', [reply]), null, reply.text);
  }
});

test('the first rule in the list wins, and any reply of the transaction can match it', () => {
  const rules: SiteRule[] = [
    { name: 'first', match: { text: /slow down/ }, action: 'suspend', durationMs: M },
    { name: 'second', match: { enhanced: /^4\.7\.28$/ }, action: 'suspend', durationMs: 2 * M },
  ];
  const replies = [parseReplyLine('250 2.1.5 OK'), parseReplyLine('421 4.7.28 slow down')];
  assert.equal(suspensionFor('google', replies, rules)?.rule, 'first');
  assert.equal(suspensionFor('google', [parseReplyLine('421 4.7.28 rate')], rules)?.rule, 'second');
  // A rule with nothing to match matches nothing.
  assert.equal(suspensionFor('google', replies, [{ name: 'empty', match: {}, action: 'suspend', durationMs: M }]), null);
});
