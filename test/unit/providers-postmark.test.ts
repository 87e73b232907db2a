// Postmark webhooks: basic auth compared in constant time, and each record type and bounce Type
// normalised (or ignored).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ProviderEvent } from '../../src/bounces/contract';
import { PayloadError } from '../../src/bounces/providers/payload';
import { postmarkEvents, verifyPostmarkAuth } from '../../src/bounces/providers/postmark';
import { postmarkBounce, postmarkDelivery, postmarkOpen, postmarkSpamComplaint } from '../helpers/provider-payloads';
import { basicAuth } from '../helpers/provider-signing';

describe('Postmark basic auth', () => {
  const expected = { user: 'postmark', password: 's3cret:with-colon' };
  const cases: { name: string; header: string | undefined; ok: boolean }[] = [
    { name: 'the configured credentials', header: basicAuth('postmark', 's3cret:with-colon'), ok: true },
    { name: 'lower-case scheme', header: basicAuth('postmark', 's3cret:with-colon').replace('Basic', 'basic'), ok: true },
    { name: 'wrong password', header: basicAuth('postmark', 's3cret'), ok: false },
    { name: 'wrong user', header: basicAuth('postmark2', 's3cret:with-colon'), ok: false },
    { name: 'no header', header: undefined, ok: false },
    { name: 'a bearer key instead', header: 'Bearer rbk_abc', ok: false },
    { name: 'no colon', header: `Basic ${Buffer.from('postmark').toString('base64')}`, ok: false },
  ];
  for (const c of cases) test(c.name, () => assert.equal(verifyPostmarkAuth(c.header, expected).ok, c.ok));
});

describe('Postmark records normalised', () => {
  const bounce = { provider: 'postmark' as const, eventId: '4323372036', type: 'bounce' as const, recipient: 'bob@example.org', at: '2026-03-02T10:16:30.000Z', queueId: '883953f4-6105-42a2-a16a-77a8eac79483', messageIdHeader: null, reboundRef: null };
  const cases: { name: string; body: unknown; events: Partial<ProviderEvent>[] }[] = [
    {
      name: 'HardBounce: permanent',
      body: postmarkBounce('bob@Example.org', 'HardBounce', 1),
      events: [{ ...bounce, status: '5.1.1', code: '550', diagnostic: 'smtp;550 5.1.1 The email account that you tried to reach does not exist.', permanent: true, feedbackType: null }],
    },
    { name: 'SoftBounce: transient', body: postmarkBounce('bob@example.org', 'SoftBounce', 4096), events: [{ ...bounce, status: '4.2.2', code: '452', permanent: false }] },
    { name: 'Transient: transient', body: postmarkBounce('bob@example.org', 'Transient', 2), events: [{ type: 'bounce', permanent: false }] },
    { name: 'BadEmailAddress: permanent', body: postmarkBounce('bob@example.org', 'BadEmailAddress', 100000), events: [{ type: 'bounce', permanent: true }] },
    { name: 'DnsError: transient', body: postmarkBounce('bob@example.org', 'DnsError', 256), events: [{ type: 'bounce', permanent: false }] },
    { name: 'Unknown: no verdict', body: postmarkBounce('bob@example.org', 'Unknown', 2048), events: [{ type: 'bounce', permanent: null }] },
    {
      name: 'SpamComplaint: a complaint',
      body: postmarkSpamComplaint('dave@example.org'),
      events: [{ provider: 'postmark', eventId: '4323372037', type: 'complaint', recipient: 'dave@example.org', at: '2026-03-02T11:00:00.000Z', queueId: '883953f4-6105-42a2-a16a-77a8eac79484', feedbackType: 'abuse', diagnostic: null, status: null, permanent: null }],
    },
    { name: 'AutoResponder filed as a bounce: ignored', body: postmarkBounce('bob@example.org', 'AutoResponder', 64), events: [] },
    { name: 'Unsubscribe filed as a bounce: ignored', body: postmarkBounce('bob@example.org', 'Unsubscribe', 16), events: [] },
    { name: 'ManuallyDeactivated: ignored', body: postmarkBounce('bob@example.org', 'ManuallyDeactivated', 100002), events: [] },
    { name: 'Delivery: ignored', body: postmarkDelivery('bob@example.org'), events: [] },
    { name: 'Open: ignored', body: postmarkOpen('bob@example.org'), events: [] },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const got = postmarkEvents(c.body);
      assert.equal(got.ignored, c.events.length === 0 ? 1 : 0);
      assert.equal(got.events.length, c.events.length);
      c.events.forEach((want, i) => assert.deepEqual(Object.fromEntries(Object.keys(want).map((k) => [k, (got.events[i] as unknown as Record<string, unknown>)[k]])), want));
    });
  }
  const bad: { name: string; body: unknown; field: string }[] = [
    { name: 'an array', body: [postmarkBounce('a@example.org', 'HardBounce', 1)], field: 'body' },
    { name: 'a bounce without Type', body: { ...postmarkBounce('a@example.org', 'HardBounce', 1), Type: undefined }, field: 'Type' },
    { name: 'a bounce without ID', body: { ...postmarkBounce('a@example.org', 'HardBounce', 1), ID: undefined }, field: 'ID' },
    { name: 'a bounce without Email', body: { ...postmarkBounce('a@example.org', 'HardBounce', 1), Email: '' }, field: 'Email' },
    { name: 'a bounce with a bad BouncedAt', body: { ...postmarkBounce('a@example.org', 'HardBounce', 1), BouncedAt: 'yesterday' }, field: 'BouncedAt' },
  ];
  for (const c of bad) test(`refused: ${c.name}`, () => assert.throws(() => postmarkEvents(c.body), (err: unknown) => err instanceof PayloadError && err.field === c.field));
});
