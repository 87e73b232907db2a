// SES through SNS: the canonical string SNS signs, the signature check (version 2 only, against a
// local certificate made with openssl), the URL and topic pins, and the SES events normalised.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ProviderEvent } from '../../src/bounces/contract';
import { PayloadError } from '../../src/bounces/providers/payload';
import { sesEvents } from '../../src/bounces/providers/ses';
import { checkSigningCertUrl, checkTopic, isSnsUrl, parseSnsEnvelope, SNS_MAX_AGE_MS, snsStringToSign, verifySnsSignature } from '../../src/bounces/providers/sns-signature';
import { sesBounce, sesComplaint, sesDelivery, sesDeliveryDelay } from '../helpers/provider-payloads';
import { makeSnsSigner, signSns, snsNotification } from '../helpers/provider-signing';

const TOPIC = 'arn:aws:sns:us-east-1:123456789012:ses-feedback';
const signer = makeSnsSigner();
after(() => signer.cleanup());

describe('SNS canonical string', () => {
  test('a Notification: Message, MessageId, Subject when present, Timestamp, TopicArn, Type, each "Name\\nvalue\\n"', () => {
    const base = { Type: 'Notification', MessageId: 'm-1', TopicArn: TOPIC, Message: '{"a":1}\nline', Timestamp: '2026-03-02T10:00:00.000Z', SignatureVersion: '2', Signature: 'x', SigningCertURL: 'https://sns.us-east-1.amazonaws.com/c.pem' };
    assert.equal(snsStringToSign(parseSnsEnvelope(base)), `Message\n{"a":1}\nline\nMessageId\nm-1\nTimestamp\n2026-03-02T10:00:00.000Z\nTopicArn\n${TOPIC}\nType\nNotification\n`);
    assert.equal(
      snsStringToSign(parseSnsEnvelope({ ...base, Subject: 'Amazon SES Email Event Notification' })),
      `Message\n{"a":1}\nline\nMessageId\nm-1\nSubject\nAmazon SES Email Event Notification\nTimestamp\n2026-03-02T10:00:00.000Z\nTopicArn\n${TOPIC}\nType\nNotification\n`,
    );
  });

  test('a SubscriptionConfirmation: with SubscribeURL and Token, without Subject', () => {
    const env = parseSnsEnvelope({ Type: 'SubscriptionConfirmation', MessageId: 'm-2', TopicArn: TOPIC, Message: 'confirm', Timestamp: 't', SignatureVersion: '2', Signature: 'x', SigningCertURL: 'u', SubscribeURL: 'https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription', Token: 'tok', Subject: 'ignored' });
    assert.equal(snsStringToSign(env), `Message\nconfirm\nMessageId\nm-2\nSubscribeURL\nhttps://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription\nTimestamp\nt\nToken\ntok\nTopicArn\n${TOPIC}\nType\nSubscriptionConfirmation\n`);
  });
});

describe('SNS signature', () => {
  const now = Date.now();
  const signed = () => signSns(signer, snsNotification(TOPIC, sesDelivery('bob@example.org'), { Subject: 'Amazon SES Email Event Notification' }));
  const cases: { name: string; change: (m: Record<string, string>) => Record<string, string>; ok: boolean; reason?: RegExp }[] = [
    { name: 'as signed', change: (m) => m, ok: true },
    { name: 'Message changed', change: (m) => ({ ...m, Message: m.Message.replace('bob@', 'eve@') }), ok: false, reason: /does not verify/ },
    { name: 'Subject removed', change: ({ Subject: _s, ...m }) => m, ok: false, reason: /does not verify/ },
    { name: 'TopicArn changed', change: (m) => ({ ...m, TopicArn: `${TOPIC}-other` }), ok: false, reason: /does not verify/ },
    { name: 'Signature of another message', change: (m) => ({ ...m, Signature: signed().Signature }), ok: false, reason: /does not verify/ },
    { name: 'Signature not base64', change: (m) => ({ ...m, Signature: '!!!' }), ok: false },
    { name: 'unsigned', change: ({ Signature: _s, SignatureVersion: _v, ...m }) => m, ok: false, reason: /not signed/ },
    { name: 'SignatureVersion 1 (SHA1)', change: (m) => ({ ...m, SignatureVersion: '1' }), ok: false, reason: /SignatureVersion 1 is not taken/ },
    { name: 'Timestamp over the age limit', change: (m) => resign({ ...m, Timestamp: new Date(now - SNS_MAX_AGE_MS - 60_000).toISOString() }), ok: false, reason: /minutes old/ },
    { name: 'Timestamp an hour ahead', change: (m) => resign({ ...m, Timestamp: new Date(now + 3_600_000).toISOString() }), ok: false, reason: /in the future/ },
  ];
  function resign(m: Record<string, string>): Record<string, string> {
    const { SignatureVersion: _v, Signature: _s, SigningCertURL: _u, ...fields } = m;
    return signSns(signer, fields);
  }
  for (const c of cases) {
    test(c.name, () => {
      const result = verifySnsSignature(parseSnsEnvelope(c.change(signed())), signer.cert, now);
      assert.equal(result.ok, c.ok, JSON.stringify(result));
      if (!result.ok && c.reason) assert.match(result.reason, c.reason);
    });
  }

  test('topic pinned to the configured ARNs', () => {
    const env = parseSnsEnvelope(signed());
    assert.deepEqual(checkTopic(env, [TOPIC]), { ok: true });
    assert.equal(checkTopic(env, ['arn:aws:sns:us-east-1:123456789012:other']).ok, false);
  });
});

describe('SNS URLs', () => {
  const cases: [string, boolean][] = [
    ['https://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem', true],
    ['https://sns.eu-central-1.amazonaws.com/SimpleNotificationService-abc.pem', true],
    ['https://sns.us-gov-west-1.amazonaws.com/SimpleNotificationService-abc.pem', true],
    ['https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-abc.pem', true],
    ['http://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem', false],
    ['https://sns.us-east-1.amazonaws.com.evil.example/x.pem', false],
    ['https://evil.example/sns.us-east-1.amazonaws.com/x.pem', false],
    ['https://sns.us-east-1.amazonaws.com:8443/x.pem', false],
    ['https://user:pw@sns.us-east-1.amazonaws.com/x.pem', false],
    ['https://s3.amazonaws.com/x.pem', false],
    ['https://sns.amazonaws.com/x.pem', false],
    ['https://sns.us-east-1.amazonaws.com/x.txt', false],
    ['not a url', false],
  ];
  for (const [url, ok] of cases) {
    test(`${url} ${ok ? 'may' : 'may not'} be fetched`, () => assert.equal(checkSigningCertUrl(url).ok, ok));
  }
  test('SubscribeURL on SNS only', () => {
    assert.ok(isSnsUrl('https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=x&Token=y'));
    assert.ok(!isSnsUrl('http://127.0.0.1:8080/?Action=ConfirmSubscription'));
  });
});

describe('SNS envelope shape', () => {
  const cases: { name: string; body: unknown; field: string }[] = [
    { name: 'not an object', body: [1], field: 'body' },
    { name: 'raw message delivery (the SES JSON alone)', body: sesDelivery('bob@example.org'), field: 'Type' },
    { name: 'unknown Type', body: { ...snsNotification(TOPIC, {}), Type: 'Other' }, field: 'Type' },
    { name: 'Message not a string', body: { ...signSns(signer, snsNotification(TOPIC, {})), Message: { a: 1 } }, field: 'Message' },
    { name: 'confirmation without SubscribeURL', body: { ...signSns(signer, snsNotification(TOPIC, {})), Type: 'SubscriptionConfirmation', Token: 't' }, field: 'SubscribeURL' },
  ];
  for (const c of cases) {
    test(c.name, () => assert.throws(() => parseSnsEnvelope(c.body), (err: unknown) => err instanceof PayloadError && err.field === c.field));
  }
});

describe('SES events normalised', () => {
  const notify = (ses: unknown) => parseSnsEnvelope(signSns(signer, snsNotification(TOPIC, ses, { MessageId: 'sns-1' })));
  const identity = { provider: 'ses' as const, eventId: 'sns-1', messageIdHeader: '<order-1234@example.com>' };
  const cases: { name: string; ses: unknown; events: Partial<ProviderEvent>[]; ignored: number }[] = [
    {
      name: 'permanent bounce, two recipients',
      ses: sesBounce('Permanent', [
        { emailAddress: 'bob@Example.ORG', status: '5.1.1', action: 'failed', diagnosticCode: 'smtp; 550 5.1.1 <bob@example.org>: Recipient address rejected: User unknown' },
        { emailAddress: 'carol@example.org', action: 'failed' },
      ]),
      events: [
        { ...identity, type: 'bounce', recipient: 'bob@example.org', at: '2026-03-02T10:16:30.000Z', queueId: '0100018e0a1b2c3d-11111111-2222-3333-4444-555555555555-000000', reboundRef: 'r1.order-1234', status: '5.1.1', code: '550', diagnostic: 'smtp; 550 5.1.1 <bob@example.org>: Recipient address rejected: User unknown', permanent: true, feedbackType: null },
        { ...identity, type: 'bounce', recipient: 'carol@example.org', status: null, code: null, diagnostic: null, permanent: true },
      ],
      ignored: 0,
    },
    {
      name: 'transient bounce (mailbox full)',
      ses: sesBounce('Transient', [{ emailAddress: 'bob@example.org', status: '4.2.2', diagnosticCode: 'smtp; 452 4.2.2 Mailbox full' }]),
      events: [{ ...identity, type: 'bounce', recipient: 'bob@example.org', status: '4.2.2', code: '452', permanent: false }],
      ignored: 0,
    },
    {
      name: 'undetermined bounce: no verdict',
      ses: sesBounce('Undetermined', [{ emailAddress: 'bob@example.org' }]),
      events: [{ type: 'bounce', permanent: null }],
      ignored: 0,
    },
    {
      name: 'complaint with a feedback type (event publishing: eventType)',
      ses: sesComplaint('dave@example.org', 'abuse'),
      events: [{ ...identity, type: 'complaint', recipient: 'dave@example.org', at: '2026-03-02T11:00:00.000Z', queueId: '0100018e0a1b2c3d-complained-000000', reboundRef: null, feedbackType: 'abuse', permanent: null, status: null }],
      ignored: 0,
    },
    { name: 'complaint without a feedback type', ses: sesComplaint('dave@example.org'), events: [{ type: 'complaint', feedbackType: null }], ignored: 0 },
    {
      name: 'delivery delay',
      ses: sesDeliveryDelay('erin@example.org'),
      events: [{ ...identity, type: 'delayed', recipient: 'erin@example.org', at: '2026-03-02T10:45:00.000Z', status: '4.4.1', code: '421', permanent: false }],
      ignored: 0,
    },
    { name: 'delivery: ignored', ses: sesDelivery('bob@example.org'), events: [], ignored: 1 },
    { name: 'open (event publishing): ignored', ses: { eventType: 'Open', mail: {}, open: { timestamp: '2026-03-02T10:20:00.000Z' } }, events: [], ignored: 1 },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const got = sesEvents(notify(c.ses));
      assert.equal(got.ignored, c.ignored);
      assert.equal(got.events.length, c.events.length);
      c.events.forEach((want, i) => assert.deepEqual(pick(got.events[i], Object.keys(want)), want));
    });
  }

  const bad: { name: string; ses: unknown; field: string }[] = [
    { name: 'Message not JSON', ses: undefined, field: 'Message' },
    { name: 'bounce without recipients', ses: sesBounce('Permanent', []), field: 'Message.bounce.bouncedRecipients' },
    { name: 'recipient without an address', ses: sesBounce('Permanent', [{ emailAddress: 'nobody' }]), field: 'Message.bounce.bouncedRecipients[0].emailAddress' },
    { name: 'bounce without mail', ses: { ...sesBounce('Permanent', [{ emailAddress: 'a@b.c' }]), mail: null }, field: 'Message.mail' },
  ];
  for (const c of bad) {
    test(`refused: ${c.name}`, () => {
      const env = c.ses === undefined ? { ...notify({}), Message: 'not json' } : notify(c.ses);
      assert.throws(() => sesEvents(env), (err: unknown) => err instanceof PayloadError && err.field === c.field);
    });
  }
});

function pick(o: object, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.map((k) => [k, (o as Record<string, unknown>)[k]]));
}
