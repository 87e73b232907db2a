// Whom the inbound listener takes mail for: the bounce domain only, return-path tokens that
// verify, any other local part of the domain; and the recipient a report is filed under.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { judgeRecipient, reportRecipient, type RecipientVerdict } from '../../src/bounces/inbound-recipient';
import { returnPathAddress, returnPathToken } from '../../src/bounces/verp';

const secret = 'a-test-secret-of-at-least-32-characters!';
const keys = { domain: 'bounces.test', secret };
const valid = returnPathAddress('msg-1@rebound.test', { domain: 'bounces.test', secret });
const token = returnPathToken('msg-1@rebound.test', secret);
const otherKeyToken = returnPathToken('msg-1@rebound.test', 'another-secret-of-at-least-32-characters');
// the last hex digit changed: the MAC no longer matches
const tampered = `b+${token.slice(0, -1)}${token.endsWith('0') ? '1' : '0'}@bounces.test`;

const verdict = (v: RecipientVerdict): string => (v.accepted ? (v.returnPath ? 'return path' : 'mailbox') : `${v.code} ${v.reason}`);

const CASES: [string, string, string | null, string][] = [
  ['a valid return-path address', valid, 'bounces.test', 'return path'],
  ['the same in upper case (MTAs may change the case of local parts and domains)', valid.toUpperCase(), 'bounces.test', 'return path'],
  ['postmaster of the domain', 'postmaster@bounces.test', 'bounces.test', 'mailbox'],
  ['a feedback-loop mailbox, domain in another case', 'fbl@Bounces.Test', 'bounces.test', 'mailbox'],
  ['a token signed with another key', `b+${otherKeyToken}@bounces.test`, 'bounces.test', '550 forged_token'],
  ['a tampered token', tampered, 'bounces.test', '550 forged_token'],
  ['a malformed token', 'b+not-hex@bounces.test', 'bounces.test', '550 forged_token'],
  ['an empty token', 'b+@bounces.test', 'bounces.test', '550 forged_token'],
  ['another domain', 'someone@example.test', 'bounces.test', '550 relay_denied'],
  ['a subdomain of the bounce domain', 'postmaster@sub.bounces.test', 'bounces.test', '550 relay_denied'],
  ['a domain that ends like it', 'postmaster@evilbounces.test', 'bounces.test', '550 relay_denied'],
  ['a valid token on another domain', valid.replace('@bounces.test', '@example.test'), 'bounces.test', '550 relay_denied'],
  ['no domain at all', 'postmaster', 'bounces.test', '550 relay_denied'],
  ['any address while REBOUND_BOUNCE_DOMAIN is off', 'postmaster@bounces.test', null, '550 relay_denied'],
];

for (const [name, address, domain, expected] of CASES) {
  test(`recipient: ${name}`, () => {
    assert.equal(verdict(judgeRecipient(address, { ...keys, domain })), expected);
  });
}

test('refusals say 5.7.1 and why', () => {
  const relay = judgeRecipient('x@example.test', keys);
  const forged = judgeRecipient(tampered, keys);
  assert.ok(!relay.accepted && relay.text.startsWith('5.7.1 relay denied'));
  assert.ok(!forged.accepted && forged.text.startsWith('5.7.1 '));
});

const REPORT_RECIPIENT: [string, { address: string; returnPath: boolean }[], string | null][] = [
  ['the return-path address, even when not first', [{ address: 'postmaster@bounces.test', returnPath: false }, { address: valid, returnPath: true }], valid],
  ['the first return-path address of two', [{ address: valid, returnPath: true }, { address: 'b+other@bounces.test', returnPath: true }], valid],
  ['the first recipient when none is a return path', [{ address: 'fbl@bounces.test', returnPath: false }, { address: 'abuse@bounces.test', returnPath: false }], 'fbl@bounces.test'],
  ['none without recipients', [], null],
];

for (const [name, accepted, expected] of REPORT_RECIPIENT) {
  test(`report recipient: ${name}`, () => {
    assert.equal(reportRecipient(accepted), expected);
  });
}
