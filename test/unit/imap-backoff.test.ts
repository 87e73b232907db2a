// When the IMAP poller polls next (src/bounces/imap-backoff.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_BACKOFF_SECONDS, nextPollDelaySeconds } from '../../src/bounces/imap-backoff';

test('nextPollDelaySeconds: pollSeconds while it works, doubling after failures up to the ceiling', () => {
  const cases: [number, number, number][] = [
    [60, 0, 60],
    [60, 1, 120],
    [60, 2, 240],
    [60, 3, MAX_BACKOFF_SECONDS],
    [60, 1000, MAX_BACKOFF_SECONDS],
    [5, 1, 10],
    [5, 4, 80],
    [600, 0, 600],
    [600, 1, 600],
    [600, 50, 600],
  ];
  for (const [pollSeconds, failures, expected] of cases) assert.equal(nextPollDelaySeconds(pollSeconds, failures), expected, `${pollSeconds}s after ${failures} failures`);
});
