// The signature checked by an implementation of the specification written here, with node's
// HMAC, not the package that signs: what a receiver in any language does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { newWebhookSecret, signedHeaders } from '../../src/webhooks/sign';

/** Standard Webhooks verification: HMAC-SHA256 over `${id}.${timestamp}.${body}` with the base64 key after `whsec_`. */
export function independentlyVerified(secret: string, headers: Record<string, string>, body: string): boolean {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const expected = createHmac('sha256', key).update(`${headers['webhook-id']}.${headers['webhook-timestamp']}.${body}`).digest();
  return headers['webhook-signature'].split(' ').some((sig) => {
    const [version, value] = sig.split(',');
    const given = Buffer.from(value ?? '', 'base64');
    return version === 'v1' && given.length === expected.length && timingSafeEqual(given, expected);
  });
}

test('secrets are whsec_ and 24 random bytes of base64', () => {
  const a = newWebhookSecret();
  assert.match(a, /^whsec_[A-Za-z0-9+/]{32}$/);
  assert.equal(Buffer.from(a.slice(6), 'base64').length, 24);
  assert.notEqual(a, newWebhookSecret());
});

test('signed headers verify with an independent HMAC-SHA256, and fail for any change', () => {
  const secret = newWebhookSecret();
  const body = JSON.stringify({ type: 'message.delivered', timestamp: '2026-12-02T10:00:00.000Z', data: { messageId: 'm', recipient: 'a@example.org' } });
  const at = new Date('2026-12-02T10:00:07.500Z');
  const headers = signedHeaders(secret, 'evt_1', body, at);
  assert.equal(headers['webhook-id'], 'evt_1');
  assert.equal(headers['webhook-timestamp'], String(Math.floor(at.getTime() / 1000)));
  assert.match(headers['webhook-signature'], /^v1,[A-Za-z0-9+/]+=*$/);
  assert.ok(independentlyVerified(secret, headers, body));
  assert.ok(!independentlyVerified(secret, headers, body.replace('a@', 'b@')));
  assert.ok(!independentlyVerified(secret, { ...headers, 'webhook-id': 'evt_2' }, body));
  assert.ok(!independentlyVerified(secret, { ...headers, 'webhook-timestamp': String(Number(headers['webhook-timestamp']) + 1) }, body));
  assert.ok(!independentlyVerified(newWebhookSecret(), headers, body));
});

test('a known vector: the specification example secret, id, timestamp and body', () => {
  // Computed here with HMAC directly; the package must agree.
  const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
  const body = '{"test": 2432232314}';
  const at = new Date(1614265330 * 1000);
  const expected = createHmac('sha256', Buffer.from('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'base64')).update(`msg_p5jXN8AQM9LWM0D4loKWxJek.1614265330.${body}`).digest('base64');
  assert.equal(signedHeaders(secret, 'msg_p5jXN8AQM9LWM0D4loKWxJek', body, at)['webhook-signature'], `v1,${expected}`);
});
