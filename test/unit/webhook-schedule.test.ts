import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_RETRY_AFTER_MS, WEBHOOK_MAX_TRIES, WEBHOOK_SCHEDULE_MS, waitBeforeTry } from '../../src/webhooks/schedule';

const S = 1_000;
const M = 60 * S;
const H = 60 * M;

test('the schedule is the Standard Webhooks one: at once, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h', () => {
  assert.deepEqual(WEBHOOK_SCHEDULE_MS, [0, 5 * S, 5 * M, 30 * M, 2 * H, 5 * H, 10 * H, 14 * H, 20 * H, 24 * H]);
  assert.equal(WEBHOOK_MAX_TRIES, 10);
});

test('waitBeforeTry: the scheduled delay, a longer Retry-After instead, null once the tries are used up', () => {
  const cases: [nextTry: number, retryAfterMs: number | null, expected: number | null][] = [
    [2, null, 5 * S],
    [3, null, 5 * M],
    [4, null, 30 * M],
    [5, null, 2 * H],
    [6, null, 5 * H],
    [7, null, 10 * H],
    [8, null, 14 * H],
    [9, null, 20 * H],
    [10, null, 24 * H],
    [11, null, null],
    [12, 60 * S, null],
    // Retry-After longer than the schedule's step replaces it
    [2, 120 * S, 120 * S],
    [3, H, H],
    // shorter does not bring the try forward
    [2, 1 * S, 5 * S],
    [4, 5 * M, 30 * M],
    // bounded
    [2, 7 * 24 * H, MAX_RETRY_AFTER_MS],
    [2, 0, 5 * S],
    [2, -5, 5 * S],
    [2, NaN, 5 * S],
    // not a next try
    [1, null, null],
    [0, null, null],
    [2.5, null, null],
  ];
  for (const [nextTry, retryAfterMs, expected] of cases) {
    assert.equal(waitBeforeTry(nextTry, retryAfterMs), expected, `waitBeforeTry(${nextTry}, ${retryAfterMs})`);
  }
});

test('the whole schedule without Retry-After spans about 3 days and 4 hours', () => {
  let total = 0;
  for (let t = 2; ; t++) {
    const w = waitBeforeTry(t, null);
    if (w === null) break;
    total += w;
  }
  assert.equal(total, 5 * S + 5 * M + 30 * M + 2 * H + 5 * H + 10 * H + 14 * H + 20 * H + 24 * H);
});
