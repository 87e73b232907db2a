// What the Temporal UI shows of a delivery: the run's summary and its timer and activity names
// (README "Inspecting and steering runs in the Temporal UI").
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { attemptSummary, deliverySummary, humanDuration, waitSummary } from '../../src/delivery/summaries';

test('humanDuration: the two largest units, as a timeline reads them', () => {
  const cases: [number, string][] = [
    [0, '0s'],
    [-5, '0s'],
    [31_000, '31s'],
    [31_400, '31s'],
    [60_000, '1m'],
    [90_000, '1m 30s'],
    [3_600_000, '1h'],
    [5_400_000, '1h 30m'],
    [5_430_000, '1h 30m'],
    [86_400_000 + 3 * 3_600_000 + 60_000, '1d 3h'],
    [72 * 3_600_000, '3d'],
  ];
  for (const [ms, want] of cases) assert.equal(humanDuration(ms), want, `${ms} ms`);
});

test('waitSummary: the wait and the soft replies behind it, each reason once', () => {
  assert.equal(waitSummary(60_000, ['mailbox_full']), 'wait 1m (mailbox full)');
  assert.equal(waitSummary(300_000, ['greylisted', 'greylisted', 'rate_limited']), 'wait 5m (greylisted, rate limited)');
  assert.equal(waitSummary(45_000, []), 'wait 45s');
});

test('deliverySummary: counts, profiles and at most three domains; never an address or subject', () => {
  assert.equal(deliverySummary(['example.com'], 1, ['standard']), '1 recipient · profile standard · example.com');
  assert.equal(
    deliverySummary(['b.test', 'a.test', 'b.test', 'c.test', 'd.test', 'e.test'], 6, ['standard', 'urgent', 'standard']),
    '6 recipients · profiles standard, urgent · a.test, b.test, c.test +2 more',
  );
});

test('attemptSummary: the attempt number and how many recipients it carries', () => {
  assert.equal(attemptSummary(1, 1), 'attempt 1 · 1 recipient');
  assert.equal(attemptSummary(3, 12), 'attempt 3 · 12 recipients');
});
