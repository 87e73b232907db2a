// Keyed reputation workflow ids (README "Security"): REBOUND_ADDRESS_ID_KEY parsed in config.ts,
// and the id an address gets with and without it.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { test } from 'node:test';
import { loadConfig } from '../../src/config';
import { addressWorkflowId } from '../../src/reputation/address-id';
import { reputationWorkflowId } from '../../src/reputation/contract';

const KEY = 'a-test-address-id-key-of-32-characters!';

test('address ids: without a key the address itself, with one address:h: and 32 hex digits of an HMAC-SHA256', () => {
  assert.equal(addressWorkflowId('alice@example.org', null), 'address:alice@example.org');
  assert.equal(addressWorkflowId('alice@example.org', null), reputationWorkflowId('alice@example.org'));
  const id = addressWorkflowId('alice@example.org', KEY);
  assert.match(id, /^address:h:[0-9a-f]{32}$/);
  assert.equal(id, `address:h:${createHmac('sha256', KEY).update('rebound-address-id:alice@example.org').digest('hex').slice(0, 32)}`);
  assert.equal(id.includes('alice'), false);
  assert.equal(addressWorkflowId('alice@example.org', KEY), id, 'the same address always has the same id');
  assert.notEqual(addressWorkflowId('bob@example.org', KEY), id);
  assert.notEqual(addressWorkflowId('alice@example.org', `${KEY}x`), id, 'another key, another id');
});

test('config: REBOUND_ADDRESS_ID_KEY is off by default, at least 32 characters, and an error never shows it', () => {
  assert.equal(loadConfig({ REBOUND_CONFIG: '' }).addressIdKey, null);
  assert.equal(loadConfig({ REBOUND_ADDRESS_ID_KEY: 'off' }).addressIdKey, null);
  assert.equal(loadConfig({ REBOUND_ADDRESS_ID_KEY: KEY }).addressIdKey, KEY);
  const short = 'too-short-secret';
  assert.throws(
    () => loadConfig({ REBOUND_ADDRESS_ID_KEY: short }),
    (err: Error) => /REBOUND_ADDRESS_ID_KEY must be at least 32 characters, got 16/.test(err.message) && !err.message.includes(short),
  );
});
