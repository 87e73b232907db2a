// A suspended site's deferral (README "Traffic shaping"): soft, destination scope, blamed on
// nobody, and its wait hint moves the next attempt to the reopening (plus a spread), never past
// the deadline.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyReply } from '../../src/delivery/classify';
import { PROFILES, planNextAttempt, type SoftReplyHint } from '../../src/delivery/schedule';
import { outcomeBlame } from '../../src/reputation/blame';
import { SITE_BUSY, SITE_SUSPENDED, SITE_THROTTLED, SPREAD_MAX_MS, SPREAD_MIN_MS, suspendedReply, throttledReply, waitMs, type SiteSuspension } from '../../src/sites/deferral';
import { HELD_BACK_ERROR_CODES } from '../../src/delivery/contract';

const S = 1_000;
const M = 60 * S;
const H = 60 * M;
const T0 = 1_700_000_000_000;

const suspension = (untilMs: number, reply: string | null = '421 4.7.28 rate limited, try again in 1 minute'): SiteSuspension => ({
  scope: 'site',
  site: 'google',
  until: new Date(untilMs),
  rule: 'gmail-421-4.7.28',
  reply,
  createdAt: new Date(T0 - M),
});

test('the deferral is soft, of destination scope, counts for nobody, and carries the wait', () => {
  const cases: Array<[remainingMs: number, random: number, expectedHintMs: number]> = [
    // A tenth of the wait as spread: random 0 adds nothing, random 0.5 half of it.
    [30 * M, 0, 30 * M],
    [30 * M, 0.5, 30 * M + 90 * S],
    // The spread is at least 1 s and at most 5 min.
    [2 * S, 0.999, 2 * S + 1 * S],
    [10 * H, 0.999, Math.ceil((10 * H + 0.999 * SPREAD_MAX_MS) / S) * S],
  ];
  for (const [remainingMs, random, expectedHintMs] of cases) {
    const reply = suspendedReply(suspension(T0 + remainingMs), T0, () => random);
    const c = classifyReply(reply);
    assert.equal(c.kind, 'soft', reply.text);
    assert.equal(c.scope, 'destination', reply.text);
    assert.equal(c.retryAfterMs, expectedHintMs, reply.text);
    assert.equal(outcomeBlame(c).counts, false, 'a suspended site is nobody\'s fault');
    assert.match(reply.text, /^site google suspended until \S+Z by rule gmail-421-4\.7\.28; try again in \d+ seconds; after: 421 4\.7\.28/);
  }
});

test('the spread stays within its bounds', () => {
  const cases: Array<[remainingMs: number, spreadMs: number]> = [
    [0, SPREAD_MIN_MS],
    [5 * S, SPREAD_MIN_MS],
    [20 * M, 2 * M],
    [3 * H, SPREAD_MAX_MS],
  ];
  for (const [remainingMs, spreadMs] of cases) {
    assert.equal(waitMs(suspension(T0 + remainingMs), T0, () => 0), remainingMs);
    assert.equal(waitMs(suspension(T0 + remainingMs), T0, () => 1), remainingMs + spreadMs);
  }
});

test('the next attempt is at or after the reopening, and still no later than the deadline', () => {
  const schedule = PROFILES.standard;
  const cases: Array<[remainingMs: number, nowMs: number, expectAtLeastMs: number, lastAttempt: boolean]> = [
    // The schedule's first delay is shorter than the suspension: the hint wins.
    [2 * H, T0 + M, T0 + M + 2 * H, false],
    // Near the deadline: one last attempt exactly at it, not after.
    [2 * H, T0 + schedule.deadlineMs - 30 * M, T0 + schedule.deadlineMs, true],
  ];
  for (const [remainingMs, nowMs, expectAtLeastMs, lastAttempt] of cases) {
    const c = classifyReply(suspendedReply(suspension(nowMs + remainingMs), nowMs, () => 0.5));
    const next = planNextAttempt({ schedule, attemptsMade: 1, startMs: T0, nowMs, random: () => 0.5, softReplies: [{ category: c.category, retryAfterMs: c.retryAfterMs }] });
    assert.equal(next.action, 'retry');
    if (next.action !== 'retry') continue;
    assert.ok(next.atMs >= Math.min(expectAtLeastMs, T0 + schedule.deadlineMs), `next attempt at ${next.atMs}`);
    assert.ok(next.atMs <= T0 + schedule.deadlineMs, 'never after the deadline');
    assert.equal(next.lastAttempt, lastAttempt);
  }
});

test('the receiver\'s own wait hint in the quoted reply is not the one taken', () => {
  const c = classifyReply(suspendedReply(suspension(T0 + H, '421 4.7.28 try again in 1 minute'), T0, () => 0));
  assert.equal(c.retryAfterMs, H);
});

test('Rebound\'s own deferrals are marked held back, a receiver\'s replies never are', () => {
  const suspended = classifyReply(suspendedReply(suspension(T0 + 10 * M), T0, () => 0.5));
  const throttled = classifyReply(throttledReply('site', 'mx.example.net', 60, 12 * S, () => 0));
  const busy = classifyReply({ code: null, enhanced: null, text: 'site mx.example.net busy; try again in 30 seconds', errorCode: SITE_BUSY });
  for (const c of [suspended, throttled, busy]) assert.equal(c.heldBack, true, c.text);
  for (const raw of [
    { code: 421, enhanced: '4.7.28', text: 'rate limited, try again in 1 minute' },
    { code: null, enhanced: null, text: 'connect ECONNREFUSED 127.0.0.1:25', errorCode: 'ECONNECTION' },
    // An SMTP code with a held-back errorCode is a receiver's reply: not Rebound's deferral.
    { code: 451, enhanced: null, text: 'try again in 30 seconds', errorCode: SITE_BUSY },
  ]) assert.equal('heldBack' in classifyReply(raw), false, raw.text);
  assert.deepEqual([SITE_SUSPENDED, SITE_THROTTLED, SITE_BUSY].filter((c) => !HELD_BACK_ERROR_CODES.includes(c)), []);
});

test('a held-back hint is honoured alone when the workflow\'s patch is on; otherwise the schedule\'s delay still wins', () => {
  const schedule = PROFILES.standard;
  const hint: SoftReplyHint = { category: 'network_error', retryAfterMs: 12 * S, heldBack: true };
  const at = (honourHeldBackHints: boolean, softReplies: SoftReplyHint[] = [hint]) => {
    const next = planNextAttempt({ schedule, attemptsMade: 1, startMs: T0, nowMs: T0, random: () => 0.5, softReplies, honourHeldBackHints });
    assert.equal(next.action, 'retry');
    return next.action === 'retry' ? next.atMs - T0 : NaN;
  };
  assert.equal(at(true), 12 * S);
  assert.equal(at(false), schedule.delaysMs[0]);
  // A receiver's reply beside it on the same plan still asks for the schedule's delay.
  assert.equal(at(true, [hint, { category: 'mailbox_full', retryAfterMs: null }]), schedule.delaysMs[0]);
  // A hint longer than the schedule's delay is honoured either way.
  assert.equal(at(true, [{ ...hint, retryAfterMs: 2 * H }]), 2 * H);
});
