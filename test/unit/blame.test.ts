// The blame rules (src/reputation/blame.ts and the reputation policy that applies them) over the
// situations that must never suppress an active user, and the ones that must.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decidingReply, hardBounceBlame, softReplyBlame } from '../../src/reputation/blame';
import { classifyLine } from '../../src/delivery/classify';
import { applyOutcome, initialReputationState, type ReputationState } from '../../src/reputation/policy';
import type { ClassifiedReply } from '../../src/delivery/contract';
import type { ReputationEventType } from '../../src/reputation/contract';

const SETTINGS = { softBounceThreshold: 5, suppressionDays: 180 };
const T0 = 1_700_000_000_000;
const H = 3_600_000;

const REPLIES = {
  relayDown: 'connect ECONNREFUSED 127.0.0.1:2525',
  gmailIpRate: '421-4.7.28 [203.0.113.5] Our system has detected an unusual rate of unsolicited mail originating from your IP address. To protect our users from spam, mail sent from your IP address has been temporarily rate limited.',
  gmailBusyMailbox: '450-4.2.1 The user you are trying to contact is receiving mail at a rate that prevents additional messages from being delivered.',
  greylisted: '450 4.2.0 <a@b.example>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/b.example.html',
  full: '452-4.2.2 The email account that you tried to reach is over quota.',
  serverStorage: '452 4.3.1 Insufficient system storage',
  unknown: '550-5.1.1 The email account that you tried to reach does not exist.',
  blocked: '554 5.7.1 Service unavailable; Client host [203.0.113.5] blocked using zen.spamhaus.org',
} as const;
type ReplyName = keyof typeof REPLIES;
const reply = (name: ReplyName): ClassifiedReply => classifyLine(REPLIES[name]);

/** A send as its delivery workflow ends it: the soft replies it saw, then how it ended. */
interface Send {
  soft: ReplyName[];
  end: 'delivered' | 'expired' | 'retrying' | ReplyName;
}

/** Runs sends through the rules the way the workflows do and returns the address's state. */
function afterSends(sends: Send[]): ReputationState {
  const state = initialReputationState(T0);
  sends.forEach((send, i) => {
    const at = T0 + i * H;
    const messageId = `m${i}`;
    let deciding: ClassifiedReply | null = null;
    for (const name of send.soft) deciding = decidingReply(deciding, reply(name));
    const report = (event: ReputationEventType, r: ClassifiedReply) =>
      applyOutcome(state, event, { messageId, category: r.category, scope: r.scope, reply: r, at: new Date(at).toISOString() }, SETTINGS, at);
    if (send.end === 'retrying') return; // a send still retrying reports nothing
    if (send.end === 'delivered') report('delivered', classifyLine('250 2.0.0 OK'));
    else if (send.end === 'expired') report('softBounced', deciding!);
    else report('hardBounced', reply(send.end));
  });
  return state;
}

const times = (n: number, send: Send): Send[] => Array.from({ length: n }, () => send);

const CASES: { name: string; sends: Send[]; count: number; suppressed: string | null }[] = [
  { name: 'relay outage: six sends expire on connection refused', sends: times(6, { soft: ['relayDown', 'relayDown'], end: 'expired' }), count: 0, suppressed: null },
  { name: 'relay outage, then the relay is back: six sends delivered later', sends: times(6, { soft: ['relayDown'], end: 'delivered' }), count: 0, suppressed: null },
  { name: "sender rate limit (421 4.7.28) until the deadline, six sends", sends: times(6, { soft: ['gmailIpRate'], end: 'expired' }), count: 0, suppressed: null },
  { name: 'a busy mailbox (450 4.2.1 rate) until the deadline, six sends', sends: times(6, { soft: ['gmailBusyMailbox'], end: 'expired' }), count: 0, suppressed: null },
  { name: 'greylisted until the deadline', sends: times(6, { soft: ['greylisted'], end: 'expired' }), count: 0, suppressed: null },
  { name: "the receiving server's own storage", sends: times(6, { soft: ['serverStorage'], end: 'expired' }), count: 0, suppressed: null },
  { name: 'full, then cleared: six sends delivered on a later attempt', sends: times(6, { soft: ['full', 'full'], end: 'delivered' }), count: 0, suppressed: null },
  { name: 'full while still retrying counts nothing', sends: times(6, { soft: ['full'], end: 'retrying' }), count: 0, suppressed: null },
  { name: 'four sends expire on a full mailbox', sends: times(4, { soft: ['full'], end: 'expired' }), count: 4, suppressed: null },
  { name: 'five sends expire on a full mailbox', sends: times(5, { soft: ['full', 'full'], end: 'expired' }), count: 5, suppressed: 'soft_bounce_threshold' },
  {
    name: 'mixed scopes within one send: full, then the relay went down until the deadline — the full mailbox decides',
    sends: times(5, { soft: ['full', 'relayDown', 'relayDown'], end: 'expired' }),
    count: 5,
    suppressed: 'soft_bounce_threshold',
  },
  {
    name: 'mixed scopes within one send: rate limited, then full until the deadline',
    sends: times(5, { soft: ['gmailIpRate', 'full'], end: 'expired' }),
    count: 5,
    suppressed: 'soft_bounce_threshold',
  },
  { name: 'four expired on a full mailbox, one delivered, four more expired', sends: [...times(4, { soft: ['full'], end: 'expired' }), { soft: [], end: 'delivered' }, ...times(4, { soft: ['full'], end: 'expired' })], count: 4, suppressed: null },
  { name: 'four expired on a full mailbox and an outage in between: the outage neither counts nor resets', sends: [...times(4, { soft: ['full'], end: 'expired' }), { soft: ['relayDown'], end: 'expired' }, { soft: ['full'], end: 'expired' }], count: 5, suppressed: 'soft_bounce_threshold' },
  { name: 'unknown user suppresses at once', sends: [{ soft: [], end: 'unknown' }], count: 0, suppressed: 'hard_bounce' },
  { name: 'a blocklisted sending IP suppresses nobody', sends: times(6, { soft: [], end: 'blocked' }), count: 0, suppressed: null },
];

for (const c of CASES) {
  test(`blame: ${c.name}`, () => {
    const state = afterSends(c.sends);
    assert.equal(state.consecutiveSoftBounces, c.count);
    assert.equal(state.suppression?.reason ?? null, c.suppressed);
  });
}

test('every outcome is remembered with whether it counted and why not', () => {
  const state = afterSends([{ soft: ['relayDown'], end: 'expired' }, { soft: ['gmailIpRate'], end: 'expired' }, { soft: ['full'], end: 'expired' }]);
  assert.deepEqual(
    state.recent.map((e) => [e.scope, e.counted]),
    [['destination', false], ['sender', false], ['recipient', true]],
  );
  assert.match(state.recent[0].why!, /destination scope/);
  assert.match(state.recent[1].why!, /rate limit/);
});

test('the deciding reply of a send is the latest that blames the address, else the latest', () => {
  assert.equal(decidingReply(reply('full'), reply('relayDown')).category, 'mailbox_full');
  assert.equal(decidingReply(reply('relayDown'), reply('gmailIpRate')).category, 'rate_limited');
  assert.equal(decidingReply(null, reply('relayDown')).category, 'network_error');
});

test('soft and hard blame name their reason', () => {
  assert.deepEqual(softReplyBlame(reply('full')), { counts: true });
  assert.equal(softReplyBlame(reply('gmailBusyMailbox')).counts, false);
  assert.deepEqual(hardBounceBlame(reply('unknown')), { counts: true });
  assert.match((hardBounceBlame(reply('blocked')) as { why: string }).why, /sender's problem/);
});
