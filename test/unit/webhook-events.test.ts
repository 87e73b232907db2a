import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AttemptReply } from '../../src/delivery/contract';
import { classifyReply } from '../../src/delivery/classify';
import { attemptEvents, deferralEvents, expiryEvents, messageEventKey } from '../../src/webhooks/events';
import { validateWebhookRegistration } from '../../src/webhooks/validate';
import { ValidationError } from '../../src/errors';

const AT = '2026-12-02T10:00:00.000Z';
const reply = (address: string, code: number, enhanced: string, text: string): AttemptReply => ({ address, ...classifyReply({ code, enhanced, text }) });

test('one event per recipient outcome of an attempt, with the reply and never the content', () => {
  const replies = [
    reply('ok@example.org', 250, '2.0.0', 'OK queued as 123'),
    reply('gone@example.org', 550, '5.1.1', 'The email account that you tried to reach does not exist'),
    reply('full@example.org', 452, '4.2.2', 'The email account that you tried to reach is over quota. Try again in 300 seconds'),
  ];
  const events = attemptEvents('m-1', replies, [{ address: 'skip@example.org', reason: 'hard_bounce' }], AT);
  const table = events.map((e) => [e.type, (e.payload.data as any).recipient, (e.payload.data as any).category, e.attemptsPlus]);
  assert.deepEqual(table, [
    ['message.delivered', 'ok@example.org', 'delivered', 1],
    ['message.bounced', 'gone@example.org', 'unknown_user', 1],
    ['message.deferred', 'full@example.org', 'mailbox_full', 1],
    ['message.suppressed', 'skip@example.org', null, 0],
  ]);
  for (const e of events) {
    assert.equal(e.payload.type, e.type);
    assert.equal(e.payload.timestamp, AT);
    assert.equal(e.key, messageEventKey(e.type as any, 'm-1', e.recipient!));
    assert.deepEqual(Object.keys(e.payload).sort(), ['data', 'timestamp', 'type']);
    const json = JSON.stringify(e.payload);
    assert.doesNotMatch(json, /subject|body|"text":"Thank/i);
  }
  const bounced = events[1].payload.data as any;
  assert.deepEqual(bounced.reply, { code: 550, enhanced: '5.1.1', text: 'The email account that you tried to reach does not exist' });
  assert.equal(bounced.scope, 'recipient');
  assert.equal(bounced.messageId, 'm-1');
  const deferred = events[2].payload.data as any;
  assert.equal(deferred.nextAttemptAt, null);
  assert.equal(deferred.retryAfterMs, 300_000);
  assert.equal((events[3].payload.data as any).reason, 'hard_bounce');
  assert.equal((events[3].payload.data as any).reply, null);
});

test('a second soft bounce of a recipient has the same key as the first: one deferred event per recipient', () => {
  const first = attemptEvents('m-2', [reply('a@example.org', 451, '4.3.0', 'Temporary local problem')], [], AT);
  const second = attemptEvents('m-2', [reply('a@example.org', 452, '4.2.2', 'over quota')], [], '2026-12-02T10:05:00.000Z');
  assert.equal(first[0].key, second[0].key);
  assert.notEqual(first[0].key, attemptEvents('m-3', [reply('a@example.org', 451, '4.3.0', 'x')], [], AT)[0].key);
});

test('expiry events carry the reply the expiry is judged by', () => {
  const r = classifyReply({ code: 452, enhanced: '4.2.2', text: 'over quota' });
  const [e] = expiryEvents('m-4', [{ address: 'full@example.org', reply: r }], AT);
  assert.equal(e.type, 'message.expired');
  assert.deepEqual((e.payload.data as any).reply, { code: 452, enhanced: '4.2.2', text: 'over quota' });
  assert.equal((e.payload.data as any).category, 'mailbox_full');
  assert.equal(e.attemptsPlus, 0);
});

test('a registration is checked field by field', () => {
  const ok = validateWebhookRegistration({ url: 'https://hooks.example.com/x', events: ['message.delivered', 'message.bounced', 'message.delivered'] }, false);
  assert.deepEqual(ok, { url: 'https://hooks.example.com/x', events: ['message.delivered', 'message.bounced'], hostName: 'hooks.example.com' });
  const cases: [unknown, string][] = [
    [null, 'body'],
    [[], 'body'],
    [{ events: ['message.delivered'] }, 'url'],
    [{ url: 'ftp://x.example/', events: ['message.delivered'] }, 'url'],
    [{ url: 'http://127.0.0.1/', events: ['message.delivered'] }, 'url'],
    [{ url: 'https://hooks.example.com/' }, 'events'],
    [{ url: 'https://hooks.example.com/', events: [] }, 'events'],
    [{ url: 'https://hooks.example.com/', events: 'message.delivered' }, 'events'],
    [{ url: 'https://hooks.example.com/', events: ['message.delivered', 'message.opened'] }, 'events[1]'],
    [{ url: 'https://hooks.example.com/', events: ['webhook.test'] }, 'events[0]'],
    [{ url: 'https://hooks.example.com/', events: ['message.delivered'], secret: 'x' }, 'secret'],
  ];
  for (const [body, field] of cases) {
    assert.throws(() => validateWebhookRegistration(body, false), (err: unknown) => err instanceof ValidationError && err.field === field, JSON.stringify(body));
  }
});

test('a deferral planned by the workflow: the same key as the attempt\'s deferred event, with the next attempt', () => {
  const soft = reply('full@example.org', 452, '4.2.2', 'Mailbox full');
  const [planned] = deferralEvents('m-1', [{ address: soft.address, nextAttemptAt: '2026-12-02T10:05:00.000Z', reply: { ...soft, scope: soft.scope ?? 'recipient' } }], AT);
  const [fromAttempt] = attemptEvents('m-1', [soft], [], AT);
  assert.equal(planned.key, fromAttempt.key, 'one message.deferred per recipient, whichever writes it');
  assert.equal(planned.type, 'message.deferred');
  const data = planned.payload.data as any;
  assert.equal(data.nextAttemptAt, '2026-12-02T10:05:00.000Z');
  assert.equal(data.category, 'mailbox_full');
  assert.deepEqual(data.reply, { code: 452, enhanced: '4.2.2', text: 'Mailbox full' });
  assert.equal(planned.attemptsPlus, 0, 'the attempt is already in the log when the deferral is written');
});
