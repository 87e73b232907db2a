// What a late report means (src/bounces/late.ts) and how it is matched to a message
// (src/bounces/correlate.ts): table-driven, no server.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { candidateOfEvent, candidatesOfReport, mergeLateOutcomes, reputationEventOf, withLateOutcome } from '../../src/bounces/late';
import { correlate, matchRecipients, type Lookups } from '../../src/bounces/correlate';
import { bounceRefOf, returnPathToken } from '../../src/bounces/verp';
import type { ParsedReport, ProviderEvent, ReportRecipient } from '../../src/bounces/contract';
import type { DeliveryStatus, LateOutcome, RecipientStatus } from '../../src/delivery/contract';

const recipient = (over: Partial<ReportRecipient>): ReportRecipient => ({
  address: 'user@example.com', action: 'failed', status: '5.1.1', code: '550', diagnostic: '550 5.1.1 <user@example.com>: Recipient address rejected: User unknown', kind: 'hard', category: 'unknown_user', scope: 'recipient', ...over,
});
const report = (over: Partial<ParsedReport>): ParsedReport => ({ type: 'dsn', originalMessageId: null, reboundRef: null, recipients: [], feedbackType: null, reason: null, ...over });

test('candidatesOfReport: failed is bounced, delayed is delayed, delivered/relayed/expanded and non-bounces are nothing', () => {
  const cases: [string, ParsedReport, { kind: string; replyKind?: string; category?: string }[]][] = [
    ['failed 5.1.1', report({ recipients: [recipient({})] }), [{ kind: 'bounced', replyKind: 'hard', category: 'unknown_user' }]],
    ['failed 4.4.7 (the relay gave up)', report({ recipients: [recipient({ status: '4.4.7', code: null, diagnostic: 'delivery time expired' })] }), [{ kind: 'bounced', replyKind: 'soft' }]],
    ['delayed', report({ recipients: [recipient({ action: 'delayed', status: '4.4.1', code: null, diagnostic: 'connection timed out' })] }), [{ kind: 'delayed', replyKind: 'soft' }]],
    ['delivered notice', report({ recipients: [recipient({ action: 'delivered', status: '2.0.0', code: '250' })] }), []],
    ['relayed', report({ recipients: [recipient({ action: 'relayed', status: '2.0.0' })] }), []],
    ['failed with a 2.x.x status', report({ recipients: [recipient({ status: '2.0.0', code: '250', diagnostic: 'ok' })] }), []],
    ['complaint', report({ type: 'complaint', feedbackType: 'abuse', recipients: [recipient({ action: null, status: null, code: null, kind: 'complaint', category: 'complaint' })] }), [{ kind: 'complained' }]],
    ['not-spam feedback (RFC 6430)', report({ type: 'complaint', feedbackType: 'not-spam', recipients: [recipient({ action: null, status: null, code: null, kind: 'complaint', category: 'complaint' })] }), []],
    ['auth-failure feedback (RFC 6591)', report({ type: 'complaint', feedbackType: 'auth-failure', recipients: [recipient({ action: null, status: null, code: null, kind: 'complaint', category: 'complaint' })] }), []],
    ['auto-reply', report({ type: 'auto_reply', recipients: [] }), []],
    ['not a bounce', report({ type: 'not_a_bounce', reason: 'no report' }), []],
    ['twice the same recipient', report({ recipients: [recipient({}), recipient({})] }), [{ kind: 'bounced', replyKind: 'hard' }]],
  ];
  for (const [name, r, expected] of cases) {
    const got = candidatesOfReport(r).map((c) => ({ kind: c.kind, ...(c.reply ? { replyKind: c.reply.kind } : {}), ...(expected[0]?.category ? { category: c.reply?.category } : {}) }));
    assert.deepEqual(got, expected, name);
  }
});

/** A provider event's candidate, for events that make one. */
const candidate = (e: ProviderEvent) => candidateOfEvent(e)!;
const event = (over: Partial<ProviderEvent>): ProviderEvent => ({
  provider: 'ses', eventId: 'e1', type: 'bounce', recipient: 'user@example.com', at: '2026-12-01T10:00:00.000Z', queueId: 'q1', messageIdHeader: null, reboundRef: null, status: '5.1.1', code: null, diagnostic: 'smtp; 550 5.1.1 user unknown', permanent: true, feedbackType: null, ...over,
});

test('candidateOfEvent: a provider that gave up on a transient failure never makes a hard bounce', () => {
  assert.equal(candidate(event({})).reply?.kind, 'hard');
  assert.equal(candidate(event({ permanent: false })).reply?.kind, 'soft');
  assert.equal(candidate(event({ permanent: false, status: '4.2.2', diagnostic: 'mailbox full' })).reply?.category, 'mailbox_full');
  assert.equal(candidate(event({ type: 'delayed', status: null })).kind, 'delayed');
  assert.deepEqual(candidate(event({ type: 'complaint', feedbackType: 'abuse' })), { recipient: 'user@example.com', kind: 'complained', reply: null, feedbackType: 'abuse' });
  assert.equal(candidateOfEvent(event({ type: 'complaint', feedbackType: 'not-spam' })), null);
  // "Permanent" with no code at all: a 5.0.0, which names no mailbox, so it blames nobody.
  const bare = candidate(event({ status: null, diagnostic: null })).reply!;
  assert.equal(bare.kind, 'hard');
  assert.notEqual(bare.scope, 'recipient');
});

test('reputationEventOf: hard bounces are hard bounces, soft failures failed sends, the rest nothing', () => {
  const bounced = candidate(event({}));
  assert.equal(reputationEventOf(bounced), 'hardBounced');
  assert.equal(reputationEventOf(candidate(event({ permanent: false }))), 'softBounced');
  assert.equal(reputationEventOf(candidate(event({ type: 'delayed' }))), null);
  assert.equal(reputationEventOf(candidate(event({ type: 'complaint' }))), null);
});

const delivered = (address: string): RecipientStatus => ({
  address, state: 'delivered', attempts: 1, schedule: { profile: 'standard', source: 'default', rule: null, delaysMs: [], deadline: '2026-12-04T00:00:00.000Z' }, nextAttemptAt: null,
  lastReply: { code: 250, enhanced: '2.0.0', text: 'Ok: queued as Q1', kind: 'delivered', category: 'delivered', scope: 'recipient', retryAfterMs: null }, firstAttemptAt: 'x', lastAttemptAt: 'x', finishedAt: 'x',
});
const late = (kind: LateOutcome['kind'], address: string, at = '2026-12-01T11:00:00.000Z'): LateOutcome => ({ ...(kind === 'complained' ? candidate(event({ type: 'complaint', recipient: address })) : kind === 'delayed' ? candidate(event({ type: 'delayed', recipient: address })) : candidate(event({ recipient: address }))), source: 'ses', at });

test('withLateOutcome: a bounce turns a delivered recipient bounced (late); delays and complaints are listed only; each kind once', () => {
  const r = delivered('a@example.com');
  const bounced = withLateOutcome(r, late('bounced', r.address));
  assert.equal(bounced.state, 'bounced');
  assert.equal(bounced.late, true);
  assert.equal(bounced.lastReply?.category, 'unknown_user');
  assert.equal(withLateOutcome(bounced, late('bounced', r.address, '2026-12-02T00:00:00.000Z')).lateOutcomes?.length, 1);
  const delayed = withLateOutcome(r, late('delayed', r.address));
  assert.equal(delayed.state, 'delivered');
  assert.equal(delayed.late, undefined);
  assert.equal(withLateOutcome(delayed, late('complained', r.address, '2026-12-01T09:00:00.000Z')).lateOutcomes?.map((o) => o.kind).join(), 'complained,delayed');
  // A recipient that never got a 250 keeps its state.
  const expired = { ...r, state: 'expired' as const };
  assert.equal(withLateOutcome(expired, late('bounced', r.address)).state, 'expired');
  // A report that overtook the attempt's record: listed while pending, applied once delivered.
  const pending = withLateOutcome({ ...r, state: 'pending' }, late('bounced', r.address));
  assert.equal(pending.state, 'pending');
  const thenDelivered = withLateOutcome({ ...pending, state: 'delivered' }, late('bounced', r.address));
  assert.equal(thenDelivered.state, 'bounced');
  assert.equal(thenDelivered.lateOutcomes?.length, 1);
});

test('mergeLateOutcomes: a final state is recomputed from the recipients', () => {
  const status: DeliveryStatus = { messageId: 'm', workflowId: 'delivery:m', state: 'delivered', profile: 'standard', createdAt: 'x', deadline: 'x', attempts: 1, nextAttemptAt: null, recipients: [delivered('a@example.com'), delivered('b@example.com')] };
  assert.equal(mergeLateOutcomes(status, []), status);
  const one = mergeLateOutcomes(status, [late('bounced', 'a@example.com')]);
  assert.equal(one.state, 'partially_delivered');
  assert.equal(mergeLateOutcomes(one, [late('bounced', 'b@example.com')]).state, 'failed');
  assert.equal(mergeLateOutcomes(status, [late('delayed', 'a@example.com'), late('complained', 'b@example.com')]).state, 'delivered');
  assert.equal(mergeLateOutcomes({ ...status, state: 'retrying' }, [late('bounced', 'a@example.com')]).state, 'retrying');
});

const SECRET = 'k'.repeat(32);
function lookups(messages: Record<string, { id: string; recipients: string[] }[]>): Lookups & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    byRef: async (ref) => (asked.push(`ref:${ref}`), messages[`ref:${ref}`] ?? []),
    byMessageIdHeader: async (h) => (asked.push(`mid:${h}`), messages[`mid:${h}`] ?? []),
    byQueueId: async (q) => (asked.push(`queue:${q}`), messages[`queue:${q}`] ?? []),
  };
}

test('correlate: token first, then X-Rebound-Ref, Message-ID, queue id; a bad HMAC is forged; nothing found is an orphan', async () => {
  const m = { id: 'm-1', recipients: ['a@example.com'] };
  const token = returnPathToken('m-1', SECRET);
  const none = { token: null, reboundRef: null, messageIdHeader: null, queueId: null, recipient: null };
  const all = lookups({ [`ref:${bounceRefOf('m-1')}`]: [m], 'mid:<x@h>': [m], 'queue:q1': [m], 'mid:<twice@h>': [m, { ...m, id: 'm-2' }] });
  assert.deepEqual(await correlate({ ...none, token, messageIdHeader: '<x@h>' }, SECRET, all), { found: true, message: m, by: 'token' });
  assert.deepEqual(await correlate({ ...none, reboundRef: token }, SECRET, all), { found: true, message: m, by: 'rebound_ref' });
  assert.deepEqual(await correlate({ ...none, messageIdHeader: '<x@h>' }, SECRET, all), { found: true, message: m, by: 'message_id' });
  assert.deepEqual(await correlate({ ...none, queueId: 'q1', recipient: 'a@example.com' }, SECRET, all), { found: true, message: m, by: 'queue_id' });
  const forged = await correlate({ ...none, token: token.replace(/.$/, (c) => (c === '0' ? '1' : '0')), messageIdHeader: '<x@h>' }, SECRET, all);
  assert.equal(forged.found, false);
  assert.equal(!forged.found && forged.outcome, 'forged');
  const ambiguous = await correlate({ ...none, messageIdHeader: '<twice@h>' }, SECRET, all);
  assert.equal(!ambiguous.found && ambiguous.outcome, 'orphan');
  const orphan = await correlate({ ...none, messageIdHeader: '<unknown@h>' }, SECRET, all);
  assert.equal(!orphan.found && orphan.outcome, 'orphan');
  // Without a secret, tokens are neither trusted nor looked up.
  const noKey = lookups({});
  await correlate({ ...none, token }, null, noKey);
  assert.deepEqual(noKey.asked, []);
});

test('matchRecipients: the message\'s own recipients; one for one when an alias rewrote it; a redacted complaint on a one-recipient message', () => {
  const bounce = (address: string) => ({ recipient: address, kind: 'bounced' as const, reply: null, feedbackType: null });
  const two = { id: 'm', recipients: ['a@example.com', 'b@example.com'] };
  const one = { id: 'm', recipients: ['a@example.com'] };
  assert.deepEqual(matchRecipients([bounce('A@Example.com'), bounce('c@example.com')], two).map((c) => c.recipient), ['a@example.com']);
  assert.deepEqual(matchRecipients([bounce('c@example.com')], two), []);
  assert.deepEqual(matchRecipients([bounce('forwarded@elsewhere.example')], one).map((c) => c.recipient), ['a@example.com']);
  assert.deepEqual(matchRecipients([bounce('x@e.example'), bounce('y@e.example')], one), []);
  assert.deepEqual(matchRecipients([{ recipient: '', kind: 'complained', reply: null, feedbackType: 'abuse' }], one).map((c) => c.recipient), ['a@example.com']);
});
