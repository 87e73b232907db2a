// The return path's tokens (src/bounces/verp.ts): what a token names, that a changed one does
// not verify, how it is found in an address, and the header every attempt adds.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { bounceRefOf, returnPathAddress, returnPathToken, tokenOfAddress, verifyToken, withReboundRef } from '../../src/bounces/verp';

const SECRET = 's'.repeat(32);

test('a token names its message by the first 20 hex digits of the SHA-256 of the id, as PostgreSQL computes them', () => {
  assert.equal(bounceRefOf('m-1'), createHash('sha256').update('m-1').digest('hex').slice(0, 20));
  const token = returnPathToken('m-1', SECRET);
  assert.match(token, /^[0-9a-f]{36}$/);
  assert.deepEqual(verifyToken(token, SECRET), { valid: true, ref: bounceRefOf('m-1') });
  // MTAs may change the case of a local part.
  assert.deepEqual(verifyToken(token.toUpperCase(), SECRET), { valid: true, ref: bounceRefOf('m-1') });
});

test('a token does not verify when changed, made with another key or malformed', () => {
  const token = returnPathToken('order-42', SECRET);
  const flipped = token.slice(0, -1) + (token.endsWith('0') ? '1' : '0');
  const cases: [string, string][] = [
    [flipped, 'bad_signature'],
    [returnPathToken('order-42', 't'.repeat(32)), 'bad_signature'],
    // Another message's reference with this message's MAC.
    [bounceRefOf('order-43') + token.slice(20), 'bad_signature'],
    [token.slice(1), 'malformed'],
    ['', 'malformed'],
    ['zz' + token.slice(2), 'malformed'],
  ];
  for (const [t, why] of cases) assert.deepEqual(verifyToken(t, SECRET), { valid: false, why }, t);
});

test('the return-path address is b+<token>@domain, within the 64 characters of a local part', () => {
  const address = returnPathAddress('a-very-long-message-id-'.repeat(10), { domain: 'bounces.example.com', secret: SECRET });
  const local = address.split('@')[0];
  assert.ok(local.startsWith('b+') && local.length <= 64, address);
  assert.equal(tokenOfAddress(address, 'bounces.example.com'), local.slice(2));
  assert.equal(tokenOfAddress(address.toUpperCase(), 'bounces.example.com'), local.slice(2));
});

test('tokenOfAddress: only b+ addresses on the bounce domain carry a token', () => {
  const cases: [string, string | null][] = [
    ['b+abc@bounces.example.com', 'abc'],
    ['B+ABC@Bounces.Example.com', 'abc'],
    ['fbl@bounces.example.com', null],
    ['b+abc@example.com', null],
    ['b+abc@evil.bounces.example.com', null],
    ['no-at-sign', null],
  ];
  for (const [address, token] of cases) assert.equal(tokenOfAddress(address, 'bounces.example.com'), token, address);
});

test('withReboundRef puts the header first, once', () => {
  const raw = Buffer.from('From: a@example.com\r\nSubject: hi\r\n\r\nX-Rebound-Ref: in the body\r\n');
  const sent = withReboundRef(raw, 'abc');
  assert.equal(sent.toString(), `X-Rebound-Ref: abc\r\n${raw.toString()}`);
  assert.equal(withReboundRef(sent, 'abc'), sent);
  // A header in the body is not a header.
  const bodyOnly = Buffer.from('From: a@example.com\r\n\r\nX-Rebound-Ref: x\r\n');
  assert.notEqual(withReboundRef(bodyOnly, 'abc'), bodyOnly);
});
