// Rules that react to receivers' replies (README "Traffic shaping"): the shipped defaults
// against the replies the providers send, and the replies they must leave alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RawReply } from '../../src/delivery/contract';
import { parseReplyLine } from '../../src/delivery/reply-line';
import { DEFAULT_SITE_RULES, isReceiverReply, mergeRules, ruleHit, thresholdReached, type SiteRule } from '../../src/sites/rules';
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
    // A provider's code means something only from that provider: a relay (or any other MX)
    // passing on Gmail's words is not suspended by the shipped rules.
    ['smtp.relay.example', '421 4.7.28 rate limited', null],
    ['127.0.0.1', '421 4.7.28 [127.0.0.1] Our system has detected an unusual rate of unsolicited mail', null],
    ['mx.example.org', '421 4.7.0 [TSS04] Messages temporarily deferred', null],
    ['google', '421 4.7.0 [TSS04] Messages temporarily deferred', null],
    ['yahoo', '421 RP-001 Unfortunately, some messages weren\'t sent.', null],
    ['mx.example.org', '451 4.7.500 Server busy. Please try again later', null],
  ];
  for (const [site, line, rule, durationMs] of cases) {
    const hit = ruleHit(site, 'example.com', [parseReplyLine(line)]);
    assert.equal(hit?.rule.name ?? null, rule, `${site}: ${line}`);
    if (hit) {
      assert.equal(hit.rule.durationMs, durationMs, line);
      assert.equal(hit.scope, 'site');
      assert.equal(hit.key, site);
      assert.equal(hit.rule.action.kind, 'suspend');
      assert.equal(hit.rule.threshold.kind, 'immediate');
      assert.match(hit.reply, /^\d{3} /, 'the reply is kept with its code');
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
    if (!receiver) assert.equal(ruleHit('google', 'gmail.com', [reply]), null, reply.text);
  }
});

test('the first rule in the list wins, and any reply of the transaction can match it', () => {
  const rule = (name: string, match: SiteRule['match'], extra: Partial<SiteRule> = {}): SiteRule => ({ name, match, scope: 'site', threshold: { kind: 'immediate' }, action: { kind: 'suspend' }, durationMs: M, ...extra });
  const rules: SiteRule[] = [rule('first', { text: /slow down/ }), rule('second', { enhanced: /^4\.7\.28$/ })];
  const replies = [parseReplyLine('250 2.1.5 OK'), parseReplyLine('421 4.7.28 slow down')];
  assert.equal(ruleHit('google', 'gmail.com', replies, rules)?.rule.name, 'first');
  assert.equal(ruleHit('google', 'gmail.com', [parseReplyLine('421 4.7.28 rate')], rules)?.rule.name, 'second');
  // A rule with nothing to match matches nothing.
  assert.equal(ruleHit('google', 'gmail.com', replies, [rule('empty', {})]), null);
});

test('scope: a domain rule is keyed by the recipient domain, a site rule by the site; connections stay the site\'s', () => {
  const base = { match: { text: /slow/ }, threshold: { kind: 'immediate' as const }, durationMs: M };
  const cases: Array<[rule: SiteRule, domain: string | null, scope: string, key: string]> = [
    [{ name: 'd', scope: 'domain', action: { kind: 'suspend' }, ...base }, 'a.example', 'domain', 'a.example'],
    [{ name: 's', scope: 'site', action: { kind: 'suspend' }, ...base }, 'a.example', 'site', 'mx.example'],
    // Without one recipient domain (a transaction for several), a domain rule holds the site.
    [{ name: 'd', scope: 'domain', action: { kind: 'suspend' }, ...base }, null, 'site', 'mx.example'],
    [{ name: 'r', scope: 'domain', action: { kind: 'rate', messagesPerMinute: 10 }, ...base }, 'a.example', 'domain', 'a.example'],
    [{ name: 'c', scope: 'domain', action: { kind: 'connections', connections: 2 }, ...base }, 'a.example', 'site', 'mx.example'],
  ];
  for (const [r, domain, scope, key] of cases) {
    const hit = ruleHit('mx.example', domain, [parseReplyLine('451 4.7.1 slow down')], [r]);
    assert.equal(hit?.scope, scope, r.name);
    assert.equal(hit?.key, key, r.name);
  }
});

test('thresholds: immediate acts at the first match, {count} at the count-th within the window', () => {
  const r = (threshold: SiteRule['threshold']): SiteRule => ({ name: 't', match: { code: 421 }, scope: 'site', threshold, action: { kind: 'suspend' }, durationMs: M });
  const cases: Array<[threshold: SiteRule['threshold'], hits: number, acts: boolean]> = [
    [{ kind: 'immediate' }, 1, true],
    [{ kind: 'count', count: 3, windowMs: M }, 1, false],
    [{ kind: 'count', count: 3, windowMs: M }, 2, false],
    [{ kind: 'count', count: 3, windowMs: M }, 3, true],
    [{ kind: 'count', count: 3, windowMs: M }, 4, true],
    [{ kind: 'count', count: 1, windowMs: M }, 1, true],
  ];
  for (const [threshold, hits, acts] of cases) assert.equal(thresholdReached(r(threshold), hits), acts, `${JSON.stringify(threshold)} at ${hits}`);
});

test('the file\'s rules come first; one named like a shipped rule replaces it; shippedRules false keeps only the file\'s', () => {
  const mine: SiteRule = { name: 'gmail-421-4.7.28', match: { enhanced: /^4\.7\.28$/, site: 'google' }, scope: 'site', threshold: { kind: 'immediate' }, action: { kind: 'suspend' }, durationMs: 20_000 };
  const extra: SiteRule = { ...mine, name: 'my-own', match: { text: /slow/ } };
  const merged = mergeRules([extra, mine], true);
  assert.deepEqual(merged.map((r) => r.name), ['my-own', 'gmail-421-4.7.28', ...DEFAULT_SITE_RULES.slice(1).map((r) => r.name)]);
  assert.equal(merged.filter((r) => r.name === 'gmail-421-4.7.28').length, 1);
  assert.equal(merged[1].durationMs, 20_000);
  assert.deepEqual(mergeRules([extra], false).map((r) => r.name), ['my-own']);
  // Every shipped rule is restricted to its provider's site.
  for (const r of DEFAULT_SITE_RULES) assert.ok(r.match.site && ['google', 'yahoo', 'microsoft'].includes(r.match.site), r.name);
});
