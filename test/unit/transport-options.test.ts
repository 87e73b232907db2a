// REBOUND_SMTP_URL as the worker's SMTP pool reads it (README "Configuration").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { transportOptions } from '../../src/smtp/transport';

test('transportOptions: a plain smtp:// URL with the defaults', () => {
  const o = transportOptions('smtp://127.0.0.1:2525');
  assert.equal(o.connection.host, '127.0.0.1');
  assert.equal(o.connection.port, 2525);
  assert.equal(o.connection.secure, false);
  assert.equal(o.connection.requireTLS, false);
  assert.equal(o.connection.ignoreTLS, false);
  assert.equal(o.auth, undefined);
  assert.equal(o.maxConnections, 5);
  assert.equal(o.maxMessages, 1000);
  assert.equal(o.idleTimeoutMs, 30_000);
});

test('transportOptions: default ports, 587 for smtp:// and 465 (implicit TLS) for smtps://', () => {
  assert.equal(transportOptions('smtp://relay.example.test').connection.port, 587);
  const tls = transportOptions('smtps://relay.example.test');
  assert.equal(tls.connection.port, 465);
  assert.equal(tls.connection.secure, true);
  assert.equal(transportOptions('smtps://relay.example.test:2465').connection.port, 2465);
});

test('transportOptions: starttls values', () => {
  const cases: [string, { requireTLS: boolean; ignoreTLS: boolean }][] = [
    ['', { requireTLS: false, ignoreTLS: false }],
    ['?starttls=opportunistic', { requireTLS: false, ignoreTLS: false }],
    ['?starttls=required', { requireTLS: true, ignoreTLS: false }],
    ['?starttls=never', { requireTLS: false, ignoreTLS: true }],
  ];
  for (const [query, expected] of cases) {
    const { connection } = transportOptions(`smtp://relay.example.test:25${query}`);
    assert.deepEqual({ requireTLS: connection.requireTLS, ignoreTLS: connection.ignoreTLS }, expected, query || '(no starttls)');
  }
});

test('transportOptions: a bad starttls throws, naming the variable and the value', () => {
  for (const bad of ['always', 'REQUIRED', '']) {
    assert.throws(() => transportOptions(`smtp://relay.example.test:25?starttls=${bad}`), (err: Error) => {
      assert.match(err.message, /^REBOUND_SMTP_URL starttls must be one of required, opportunistic, never/);
      assert.ok(err.message.includes(`"${bad}"`), err.message);
      return true;
    });
  }
});

test('transportOptions: pool values', () => {
  assert.equal(transportOptions('smtp://relay.example.test:25?pool=1').maxConnections, 1);
  assert.equal(transportOptions('smtp://relay.example.test:25?pool=20').maxConnections, 20);
  assert.equal(transportOptions('smtp://relay.example.test:25?starttls=required&pool=8').maxConnections, 8);
});

test('transportOptions: a bad pool throws, naming the variable and the value', () => {
  for (const bad of ['0', '-1', 'abc', '2.5', '', '1e2', ' 5']) {
    assert.throws(() => transportOptions(`smtp://relay.example.test:25?pool=${encodeURIComponent(bad)}`), (err: Error) => {
      assert.match(err.message, /^REBOUND_SMTP_URL pool must be a positive integer/);
      assert.ok(err.message.includes(`"${bad}"`), err.message);
      return true;
    });
  }
});

test('transportOptions: user and password are percent-decoded', () => {
  const o = transportOptions('smtp://me%40example.test:p%40ss%3Aw%2Frd@relay.example.test:587');
  assert.deepEqual(o.auth, { user: 'me@example.test', pass: 'p@ss:w/rd' });
  assert.deepEqual(transportOptions('smtp://apikey@relay.example.test').auth, { user: 'apikey', pass: '' });
});

test('transportOptions: not a URL, or not smtp(s)://, throws naming the variable', () => {
  assert.throws(() => transportOptions('relay.example.test:25'), /REBOUND_SMTP_URL/);
  assert.throws(() => transportOptions('not a url'), /^Error: REBOUND_SMTP_URL is not a URL/);
  assert.throws(() => transportOptions('http://relay.example.test'), /^Error: REBOUND_SMTP_URL must start with smtp:\/\/ or smtps:\/\/, got http:\/\//);
});
