// The pg-boss peer's re-queue decision (bench/peer/decide.ts): Rebound's classifier and
// schedule policy decide, so the peer stops, retries and expires as a delivery would.
import assert from 'node:assert/strict';
import test from 'node:test';
import { decideAfterAttempt, PEER_SCHEDULE } from '../../bench/peer/decide';
import { classifyLine } from '../../src/delivery/classify';

const T0 = Date.UTC(2026, 0, 1);
const half = (): number => 0.5; // no jitter: the middle of [base * 0.9, base * 1.1)
const base = { delivered: [], failed: [], startMs: T0, random: half };

test('the peer gets the compressed schedule the bench gives Rebound (1 s, 2 s; 30 s deadline)', () => {
  assert.deepEqual(PEER_SCHEDULE, { delaysMs: [1000, 2000], deadlineMs: 30_000 });
});

test('accepted: delivered, no further job', () => {
  const d = decideAfterAttempt({ ...base, replies: [{ address: 'a@x.test', reply: classifyLine('250 2.0.0 OK queued') }], attempt: 1, nowMs: T0 + 100 });
  assert.deepEqual(d, { delivered: ['a@x.test'], failed: [], pending: [], state: 'delivered', nextAt: null });
});

test('hard bounce: failed at once, no further job', () => {
  const d = decideAfterAttempt({ ...base, replies: [{ address: 'a@x.test', reply: classifyLine('550 5.1.1 User unknown') }], attempt: 1, nowMs: T0 + 100 });
  assert.equal(d.state, 'failed');
  assert.equal(d.nextAt, null);
  assert.deepEqual(d.failed, ['a@x.test']);
});

test('soft bounce: the next job starts after the schedule delay for that attempt', () => {
  const soft = [{ address: 'a@x.test', reply: classifyLine('451 4.3.0 Temporary server error') }];
  const first = decideAfterAttempt({ ...base, replies: soft, attempt: 1, nowMs: T0 + 100 });
  assert.equal(first.state, 'deferred');
  assert.deepEqual(first.pending, ['a@x.test']);
  assert.equal(first.nextAt, T0 + 100 + 1000);
  const second = decideAfterAttempt({ ...base, replies: soft, attempt: 2, nowMs: T0 + 1200 });
  assert.equal(second.nextAt, T0 + 1200 + 2000);
  // The last delay repeats.
  assert.equal(decideAfterAttempt({ ...base, replies: soft, attempt: 5, nowMs: T0 + 9000 }).nextAt, T0 + 9000 + 2000);
});

test('greylisting honours the server hint plus its margin, as the schedule policy does', () => {
  const d = decideAfterAttempt({ ...base, replies: [{ address: 'a@x.test', reply: classifyLine('450 4.2.0 Greylisted, try again in 5 seconds') }], attempt: 1, nowMs: T0 });
  assert.equal(d.state, 'deferred');
  assert.equal(d.nextAt, T0 + 5000 + 1000);
});

test('past the deadline a soft recipient expires; before it the last attempt is at the deadline', () => {
  const soft = [{ address: 'a@x.test', reply: classifyLine('421 4.4.2 Connection dropped') }];
  assert.equal(decideAfterAttempt({ ...base, replies: soft, attempt: 9, nowMs: T0 + 29_500 }).nextAt, T0 + 30_000);
  const late = decideAfterAttempt({ ...base, replies: soft, attempt: 10, nowMs: T0 + 30_000 });
  assert.deepEqual({ state: late.state, nextAt: late.nextAt, failed: late.failed }, { state: 'expired', nextAt: null, failed: ['a@x.test'] });
});

test('several recipients: done ones leave the pending list, the message is partial when some failed', () => {
  const d = decideAfterAttempt({
    ...base,
    delivered: ['a@x.test'],
    replies: [
      { address: 'b@x.test', reply: classifyLine('550 5.1.1 No such user') },
      { address: 'c@x.test', reply: classifyLine('452 4.2.2 Mailbox full') },
    ],
    attempt: 2,
    nowMs: T0 + 2000,
  });
  assert.deepEqual({ delivered: d.delivered, failed: d.failed, pending: d.pending, state: d.state }, { delivered: ['a@x.test'], failed: ['b@x.test'], pending: ['c@x.test'], state: 'deferred' });
  const end = decideAfterAttempt({ ...base, delivered: d.delivered, failed: d.failed, replies: [{ address: 'c@x.test', reply: classifyLine('250 OK') }], attempt: 3, nowMs: T0 + 5000 });
  assert.equal(end.state, 'partial');
});
