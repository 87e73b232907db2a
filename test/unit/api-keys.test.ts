// API keys of the HTTP API: their format, their hash, and what each scope may do.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { bearerToken } from '../../src/api/auth';
import { API_KEY_SCOPES, generateApiKey, hashApiKey, isWellFormedApiKey, parseScope, scopeAllows } from '../../src/api/keys';
import { ValidationError } from '../../src/errors';

test('api keys: rbk_ and 32 random bytes in base64url, never the same twice', () => {
  const keys = Array.from({ length: 100 }, generateApiKey);
  for (const key of keys) {
    assert.match(key, /^rbk_[A-Za-z0-9_-]{43}$/);
    assert.equal(Buffer.from(key.slice(4), 'base64url').length, 32);
    assert.ok(isWellFormedApiKey(key));
  }
  assert.equal(new Set(keys).size, keys.length);
});

test('api keys: malformed ones are recognised without a lookup', () => {
  const key = generateApiKey();
  for (const bad of ['', 'rbk_', key.slice(0, -1), `${key}x`, key.replace('rbk_', 'rbx_'), `${key.slice(0, -1)}=`, ` ${key}`]) {
    assert.equal(isWellFormedApiKey(bad), false, JSON.stringify(bad));
  }
});

test('api keys: the stored hash is the SHA-256 of the key, 32 bytes', () => {
  const key = generateApiKey();
  const hash = hashApiKey(key);
  assert.equal(hash.length, 32);
  assert.deepEqual(hash, createHash('sha256').update(key).digest());
  assert.notDeepEqual(hashApiKey(generateApiKey()), hash);
});

test('api keys: scopes nest read < send < admin', () => {
  const allowed = (have: (typeof API_KEY_SCOPES)[number]) => API_KEY_SCOPES.filter((need) => scopeAllows(have, need));
  assert.deepEqual(allowed('read'), ['read']);
  assert.deepEqual(allowed('send'), ['read', 'send']);
  assert.deepEqual(allowed('admin'), ['read', 'send', 'admin']);
});

test('api keys: an unknown scope is a ValidationError on scope', () => {
  assert.equal(parseScope('send'), 'send');
  for (const bad of ['write', 'ADMIN', '', undefined]) {
    assert.throws(() => parseScope(bad), (err: unknown) => err instanceof ValidationError && err.field === 'scope');
  }
});

test('api keys: only "Authorization: Bearer <key>" carries a key', () => {
  assert.equal(bearerToken('Bearer rbk_abc'), 'rbk_abc');
  assert.equal(bearerToken('bearer rbk_abc'), 'rbk_abc');
  assert.equal(bearerToken(undefined), null);
  assert.equal(bearerToken('Basic dXNlcjpwdw=='), null);
  assert.equal(bearerToken('Bearer'), null);
  assert.equal(bearerToken('Bearer a b'), null);
});
