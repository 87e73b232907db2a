// Mailgun webhooks: the HMAC over timestamp + token, the timestamp window, tokens taken for one
// event only, and the events normalised.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ProviderEvent } from '../../src/bounces/contract';
import { MAILGUN_MAX_SKEW_MS, mailgunEventKey, mailgunEvents, MailgunTokens, parseMailgunRequest, verifyMailgunSignature } from '../../src/bounces/providers/mailgun';
import { PayloadError } from '../../src/bounces/providers/payload';
import { mailgunComplained, mailgunDelivered, mailgunFailed, mailgunOpened } from '../helpers/provider-payloads';
import { signMailgun } from '../helpers/provider-signing';

const KEY = 'key-0123456789abcdef0123456789abcdef';

describe('Mailgun signature', () => {
  const now = Date.now();
  const ts = String(Math.floor(now / 1000));
  const good = signMailgun(KEY, ts);
  const cases: { name: string; s: typeof good; ok: boolean }[] = [
    { name: 'as signed', s: good, ok: true },
    { name: 'upper-case hex', s: { ...good, signature: good.signature.toUpperCase() }, ok: true },
    { name: 'token changed', s: { ...good, token: `${good.token}x` }, ok: false },
    { name: 'timestamp changed', s: { ...good, timestamp: String(Number(ts) + 1) }, ok: false },
    { name: 'signed with another key', s: signMailgun('key-other', ts, good.token), ok: false },
    { name: 'signature truncated', s: { ...good, signature: good.signature.slice(0, 40) }, ok: false },
    { name: 'timestamp 20 minutes old', s: signMailgun(KEY, String(Number(ts) - 20 * 60)), ok: false },
    { name: 'timestamp 20 minutes ahead', s: signMailgun(KEY, String(Number(ts) + 20 * 60)), ok: false },
    { name: 'timestamp not a number', s: signMailgun(KEY, 'now'), ok: false },
  ];
  for (const c of cases) test(c.name, () => assert.equal(verifyMailgunSignature(KEY, c.s, now).ok, c.ok));
});

describe('Mailgun tokens', () => {
  test('a token redelivered with its event is taken; with another event, refused', () => {
    const tokens = new MailgunTokens();
    const now = Date.now();
    assert.equal(tokens.take('t1', 'e1:a@b.c', now).ok, true);
    assert.equal(tokens.take('t1', 'e1:a@b.c', now + 1000).ok, true);
    const replay = tokens.take('t1', 'e2:a@b.c', now + 2000);
    assert.equal(replay.ok, false);
    assert.match(replay.ok ? '' : replay.reason, /already used for another event/);
  });
  test('bounded: past the window tokens are forgotten, and at most max are kept', () => {
    const tokens = new MailgunTokens(3);
    const now = Date.now();
    for (const t of ['a', 'b', 'c', 'd']) tokens.take(t, t, now);
    assert.equal(tokens.size, 3);
    tokens.take('e', 'e', now + 2 * MAILGUN_MAX_SKEW_MS + 1);
    assert.equal(tokens.size, 1);
  });
  test('the key a token is bound to is the event id and recipient', () => {
    assert.equal(mailgunEventKey(mailgunFailed('a@example.org', 'permanent', 'id-9')), 'id-9:a@example.org');
  });
});

describe('Mailgun request shape', () => {
  const event = mailgunFailed('a@example.org', 'permanent');
  const cases: { name: string; body: unknown; field: string }[] = [
    { name: 'not an object', body: 'x', field: 'body' },
    { name: 'no signature', body: { 'event-data': event }, field: 'signature' },
    { name: 'no token', body: { signature: { timestamp: '1', signature: 'ab' }, 'event-data': event }, field: 'signature.token' },
    { name: 'no event-data (a legacy form webhook)', body: { signature: signMailgun(KEY) }, field: 'event-data' },
  ];
  for (const c of cases) test(`refused: ${c.name}`, () => assert.throws(() => parseMailgunRequest(c.body), (err: unknown) => err instanceof PayloadError && err.field === c.field));
  test('a well-formed request is read', () => {
    const s = signMailgun(KEY);
    assert.deepEqual(parseMailgunRequest({ signature: s, 'event-data': event }), { signature: s, eventData: event });
  });
});

describe('Mailgun events normalised', () => {
  const common = { provider: 'mailgun' as const, at: '2026-03-02T10:16:30.123Z', queueId: null, messageIdHeader: '<order-1234@example.com>', reboundRef: null };
  const cases: { name: string; eventData: Record<string, unknown>; events: Partial<ProviderEvent>[] }[] = [
    {
      name: 'failed, permanent: a bounce',
      eventData: mailgunFailed('bob@example.org', 'permanent'),
      events: [{ ...common, eventId: 'mg-failed-1', type: 'bounce', recipient: 'bob@example.org', status: '5.1.1', code: '550', diagnostic: '5.1.1 The email account that you tried to reach does not exist.', permanent: true, feedbackType: null }],
    },
    {
      name: 'failed, temporary: a delay (Mailgun retries)',
      eventData: mailgunFailed('carol@example.org', 'temporary', 'mg-t'),
      events: [{ ...common, eventId: 'mg-t', type: 'delayed', recipient: 'carol@example.org', status: '4.2.2', code: '452', permanent: false }],
    },
    { name: 'complained: a complaint', eventData: mailgunComplained('dave@example.org'), events: [{ ...common, eventId: 'mg-complained-1', type: 'complaint', recipient: 'dave@example.org', feedbackType: 'abuse', status: null, code: null }] },
    { name: 'delivered: ignored', eventData: mailgunDelivered('a@example.org'), events: [] },
    { name: 'opened: ignored', eventData: mailgunOpened('a@example.org'), events: [] },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const got = mailgunEvents(c.eventData);
      assert.equal(got.ignored, c.events.length === 0 ? 1 : 0);
      assert.equal(got.events.length, c.events.length);
      c.events.forEach((want, i) => assert.deepEqual(Object.fromEntries(Object.keys(want).map((k) => [k, (got.events[i] as unknown as Record<string, unknown>)[k]])), want));
    });
  }
  test('refused: a failure without a recipient', () => {
    assert.throws(() => mailgunEvents({ ...mailgunFailed('a@example.org', 'permanent'), recipient: undefined }), (err: unknown) => err instanceof PayloadError && err.field === 'event-data.recipient');
  });
});
