// SendGrid's Signed Event Webhook: the ECDSA check over timestamp + raw body with a key generated
// here, the key setting checked at start, and the events normalised.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import type { ProviderEvent } from '../../src/bounces/contract';
import { MAX_EVENTS_PER_REQUEST, PayloadError, TooManyEventsError } from '../../src/bounces/providers/payload';
import { queueIdOf, SENDGRID_MAX_AGE_MS, sendgridEvents, sendgridVerificationKey, verifySendgridSignature } from '../../src/bounces/providers/sendgrid';
import { sendgridBounce, sendgridClick, sendgridDeferred, sendgridDelivered, sendgridDropped, sendgridOpen, sendgridSpamReport } from '../helpers/provider-payloads';
import { makeSendgridSigner, signSendgrid } from '../helpers/provider-signing';

const signer = makeSendgridSigner();
const key = sendgridVerificationKey(signer.verificationKey);

describe('SendGrid signature', () => {
  const now = Date.now();
  const body = JSON.stringify([sendgridBounce('bob@example.org', 'bounce')]);
  const ts = String(Math.floor(now / 1000));
  const headers = signSendgrid(signer, body, ts);
  const sig = headers['x-twilio-email-event-webhook-signature'];
  const cases: { name: string; signature?: string; timestamp?: string; body: string; ok: boolean }[] = [
    { name: 'as signed', signature: sig, timestamp: ts, body, ok: true },
    { name: 'body changed by one byte', signature: sig, timestamp: ts, body: body.replace('bob@', 'bop@'), ok: false },
    { name: 'body re-serialised (whitespace)', signature: sig, timestamp: ts, body: JSON.stringify(JSON.parse(body), null, 1), ok: false },
    { name: 'timestamp changed', signature: sig, timestamp: String(Number(ts) - 1), body, ok: false },
    { name: 'signed by another key', signature: signSendgrid(makeSendgridSigner(), body, ts)['x-twilio-email-event-webhook-signature'], timestamp: ts, body, ok: false },
    { name: 'no signature header', timestamp: ts, body, ok: false },
    { name: 'no timestamp header', signature: sig, body, ok: false },
    { name: 'signature not DER', signature: Buffer.from('garbage').toString('base64'), timestamp: ts, body, ok: false },
    { name: 'timestamp not a number', signature: sig, timestamp: 'yesterday', body, ok: false },
  ];
  for (const c of cases) {
    test(c.name, () => assert.equal(verifySendgridSignature(key, { signature: c.signature, timestamp: c.timestamp, rawBody: Buffer.from(c.body) }, now).ok, c.ok));
  }
  test('an old batch, properly signed, is refused past the window', () => {
    const old = String(Math.floor((now - SENDGRID_MAX_AGE_MS) / 1000) - 60);
    const h = signSendgrid(signer, body, old);
    const result = verifySendgridSignature(key, { signature: h['x-twilio-email-event-webhook-signature'], timestamp: old, rawBody: Buffer.from(body) }, now);
    assert.equal(result.ok, false);
  });
});

describe('SendGrid verification key setting', () => {
  test('a P-256 key as SendGrid shows it is taken', () => assert.equal(key.asymmetricKeyDetails?.namedCurve, 'prime256v1'));
  const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
  const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
  for (const [name, value] of [['not base64 DER', 'hello'], ['an RSA key', rsa], ['a P-384 key', p384]]) {
    test(`refused at start: ${name}`, () => assert.throws(() => sendgridVerificationKey(value), /REBOUND_SENDGRID_VERIFICATION_KEY/));
  }
});

describe('SendGrid events normalised', () => {
  const common = { provider: 'sendgrid' as const, at: '2026-03-02T10:16:30.000Z', queueId: 'Xy12AbCdEfGhIjKl', messageIdHeader: '<order-1234@example.com>', reboundRef: null };
  const cases: { name: string; body: unknown[]; events: Partial<ProviderEvent>[]; ignored: number }[] = [
    {
      name: 'bounce (type bounce): permanent',
      body: [sendgridBounce('Bob@Example.org', 'bounce')],
      events: [{ ...common, eventId: 'sg-bounce-1', type: 'bounce', recipient: 'Bob@example.org', status: '5.1.1', code: '550', diagnostic: '550 5.1.1 The email account that you tried to reach does not exist.', permanent: true, feedbackType: null }],
      ignored: 0,
    },
    { name: 'bounce (type blocked): not permanent', body: [sendgridBounce('bob@example.org', 'blocked', 'b2')], events: [{ type: 'bounce', eventId: 'b2', permanent: false }], ignored: 0 },
    {
      name: 'deferred: a delay with the remote reply',
      body: [sendgridDeferred('carol@example.org')],
      events: [{ ...common, eventId: 'sg-deferred-1', type: 'delayed', recipient: 'carol@example.org', status: '4.7.1', code: '451', diagnostic: '451 4.7.1 Greylisted, try again in 5 minutes', permanent: false }],
      ignored: 0,
    },
    { name: 'spam report: a complaint', body: [sendgridSpamReport('dave@example.org')], events: [{ ...common, eventId: 'sg-spam-1', type: 'complaint', recipient: 'dave@example.org', feedbackType: 'abuse', permanent: null, diagnostic: null }], ignored: 0 },
    {
      name: 'a mixed batch: delivered, open, click, dropped ignored',
      body: [sendgridDelivered('a@example.org'), sendgridOpen('a@example.org'), sendgridBounce('b@example.org', 'bounce', 'x1'), sendgridClick('a@example.org'), sendgridDropped('c@example.org'), { event: 'processed', email: 'd@example.org' }],
      events: [{ eventId: 'x1', recipient: 'b@example.org', type: 'bounce' }],
      ignored: 5,
    },
    { name: 'an empty batch', body: [], events: [], ignored: 0 },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const got = sendgridEvents(c.body);
      assert.equal(got.ignored, c.ignored);
      assert.equal(got.events.length, c.events.length);
      c.events.forEach((want, i) => assert.deepEqual(Object.fromEntries(Object.keys(want).map((k) => [k, (got.events[i] as unknown as Record<string, unknown>)[k]])), want));
    });
  }

  const bad: { name: string; body: unknown; field: string }[] = [
    { name: 'not an array', body: { event: 'bounce' }, field: 'body' },
    { name: 'an event that is not an object', body: [sendgridOpen('a@example.org'), 'bounce'], field: '[1]' },
    { name: 'a bounce without sg_event_id', body: [{ ...sendgridBounce('a@example.org', 'bounce'), sg_event_id: undefined }], field: '[0].sg_event_id' },
    { name: 'a bounce without email', body: [{ ...sendgridBounce('a@example.org', 'bounce'), email: 42 }], field: '[0].email' },
    { name: 'a bounce without timestamp', body: [{ ...sendgridBounce('a@example.org', 'bounce'), timestamp: 'soon' }], field: '[0].timestamp' },
  ];
  for (const c of bad) {
    test(`refused: ${c.name}`, () => assert.throws(() => sendgridEvents(c.body), (err: unknown) => err instanceof PayloadError && err.field === c.field));
  }
  test(`more than ${MAX_EVENTS_PER_REQUEST} events are refused whole`, () => {
    assert.throws(() => sendgridEvents(Array.from({ length: MAX_EVENTS_PER_REQUEST + 1 }, () => sendgridOpen('a@example.org'))), TooManyEventsError);
  });
});

test('the queue id is sg_message_id up to its first dot', () => {
  const cases: [string | null, string | null][] = [
    ['14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0', '14c5d75ce93'],
    ['Xy12AbCdEfGhIjKl', 'Xy12AbCdEfGhIjKl'],
    ['.odd', null],
    [null, null],
  ];
  for (const [given, want] of cases) assert.equal(queueIdOf(given), want, String(given));
});
