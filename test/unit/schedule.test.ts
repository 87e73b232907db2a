// Retry schedules (README "Behaviour", retry profiles): the built-in profiles, jitter, wait
// hints, the deadline's last attempt and custom schedules. Tables, one row per rule.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  JITTER_RATIO,
  MAX_DEADLINE_MS,
  PROFILES,
  planNextAttempt,
  resolveSchedule,
  type NextAttempt,
  type PlanArgs,
} from '../../src/delivery/schedule';
import { ValidationError } from '../../src/errors';
import type { RetrySchedule } from '../../src/delivery/contract';

const S = 1_000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;
const T0 = 1_700_000_000_000;
const half = (): number => 0.5;

function plan(overrides: Partial<PlanArgs>): NextAttempt {
  return planNextAttempt({
    schedule: PROFILES.standard,
    attemptsMade: 1,
    startMs: T0,
    nowMs: T0,
    random: half,
    softReplies: [],
    ...overrides,
  });
}

function retry(result: NextAttempt): { atMs: number; delayMs: number; lastAttempt: boolean } {
  assert.equal(result.action, 'retry');
  if (result.action !== 'retry') throw new Error('unreachable');
  const { atMs, delayMs, lastAttempt } = result;
  return { atMs, delayMs, lastAttempt };
}

test('profiles match the README table', () => {
  assert.deepEqual(PROFILES.standard, { delaysMs: [5 * M, 15 * M, H, 4 * H], deadlineMs: 72 * H });
  assert.deepEqual(PROFILES.urgent, { delaysMs: [30 * S, M, 2 * M, 5 * M], deadlineMs: 15 * M });
  assert.deepEqual(PROFILES.bulk, { delaysMs: [15 * M, H, 4 * H, 8 * H], deadlineMs: 72 * H });
  assert.equal(MAX_DEADLINE_MS, 30 * D);
  assert.equal(JITTER_RATIO, 0.1);
  assert.ok(Object.isFrozen(PROFILES.standard.delaysMs));
});

test('resolveSchedule: profiles and overrides', () => {
  const cases: { opts: Parameters<typeof resolveSchedule>[0]; schedule: RetrySchedule; profile: string }[] = [
    { opts: {}, schedule: PROFILES.standard, profile: 'standard' },
    { opts: { profile: 'urgent' }, schedule: PROFILES.urgent, profile: 'urgent' },
    { opts: { profile: 'bulk' }, schedule: PROFILES.bulk, profile: 'bulk' },
    { opts: { delays: ['1m', 120_000] }, schedule: { delaysMs: [M, 2 * M], deadlineMs: 72 * H }, profile: 'custom' },
    { opts: { deadline: '24h' }, schedule: { delaysMs: PROFILES.standard.delaysMs, deadlineMs: 24 * H }, profile: 'custom' },
    { opts: { profile: 'urgent', deadline: '1h' }, schedule: { delaysMs: PROFILES.urgent.delaysMs, deadlineMs: H }, profile: 'custom' },
    { opts: { profile: 'bulk', delays: ['1h'], deadline: '30d' }, schedule: { delaysMs: [H], deadlineMs: 30 * D }, profile: 'custom' },
    // Only a deadline: profile delays longer than it are kept (the last attempt lands on the deadline).
    { opts: { deadline: '30m' }, schedule: { delaysMs: PROFILES.standard.delaysMs, deadlineMs: 30 * M }, profile: 'custom' },
    { opts: { delays: ['1h'], deadline: '1h' }, schedule: { delaysMs: [H], deadlineMs: H }, profile: 'custom' },
  ];
  for (const { opts, schedule, profile } of cases) {
    const result = resolveSchedule(opts);
    assert.deepEqual(result, { schedule, profile }, JSON.stringify(opts));
  }
  // A fresh copy: changing it does not touch the profile.
  const resolved = resolveSchedule({ profile: 'urgent' });
  resolved.schedule.delaysMs.push(1);
  assert.equal(PROFILES.urgent.delaysMs.length, 4);
});

test('resolveSchedule rejects invalid input naming the field', () => {
  const cases: { opts: unknown; field: string }[] = [
    { opts: { profile: 'fast' }, field: 'profile' },
    { opts: { profile: 'Standard' }, field: 'profile' },
    { opts: { delays: [] }, field: 'delays' },
    { opts: { delays: '5m' }, field: 'delays' },
    { opts: { delays: Array(51).fill('1m') }, field: 'delays' },
    { opts: { delays: ['5m', '0s'] }, field: 'delays[1]' },
    { opts: { delays: ['5m', '15m', -1] }, field: 'delays[2]' },
    { opts: { delays: ['5m', '15m', 'soon'] }, field: 'delays[2]' },
    { opts: { delays: ['5m', '90'] }, field: 'delays[1]' },
    { opts: { delays: [500] }, field: 'delays[0]' },
    { opts: { delays: ['1h', '2h'], deadline: '90m' }, field: 'delays[1]' },
    { opts: { delays: ['4d'] }, field: 'delays[0]' },
    { opts: { deadline: '31d' }, field: 'deadline' },
    { opts: { deadline: 30 * D + 1 }, field: 'deadline' },
    { opts: { deadline: 0 }, field: 'deadline' },
    { opts: { deadline: '-1h' }, field: 'deadline' },
    { opts: { deadline: 'forever' }, field: 'deadline' },
  ];
  for (const { opts, field } of cases) {
    assert.throws(
      () => resolveSchedule(opts as Parameters<typeof resolveSchedule>[0]),
      (err: unknown) => err instanceof ValidationError && err.field === field,
      `${JSON.stringify(opts)} should fail on ${field}`,
    );
  }
});

test('base delay follows the schedule and the last one repeats', () => {
  const expected = [5 * M, 15 * M, H, 4 * H, 4 * H, 4 * H];
  expected.forEach((delay, i) => {
    const r = retry(plan({ attemptsMade: i + 1 }));
    assert.deepEqual(r, { atMs: T0 + delay, delayMs: delay, lastAttempt: false }, `after attempt ${i + 1}`);
  });
});

test('jitter stays within +-10% for random values across [0, 1)', () => {
  const randoms = [0, 1e-9, 0.1, 0.25, 0.5, 0.75, 0.9, 0.999999];
  for (let i = 0; i < 1000; i++) randoms.push(((i * 7919) % 1000) / 1000);
  for (const schedule of Object.values(PROFILES)) {
    schedule.delaysMs.forEach((base, index) => {
      for (const value of randoms) {
        const r = retry(plan({ schedule, attemptsMade: index + 1, random: () => value, nowMs: T0 }));
        assert.ok(Number.isInteger(r.delayMs), 'integer delay');
        assert.ok(r.delayMs >= Math.round(base * 0.9) && r.delayMs <= Math.round(base * 1.1), `${r.delayMs} vs ${base} at r=${value}`);
      }
    });
  }
  // Exact ends of the range.
  assert.equal(retry(plan({ random: () => 0 })).delayMs, 270_000);
  assert.equal(retry(plan({ random: () => 0.999999 })).delayMs, Math.round(5 * M * (1 + 0.1 * (2 * 0.999999 - 1))));
  assert.ok(retry(plan({ random: () => 0.999999 })).delayMs <= 330_000);
  assert.equal(retry(plan({ random: () => 0.5 })).delayMs, 5 * M);
});

test('random() is called exactly once per plan, whatever the outcome', () => {
  for (const nowMs of [T0, T0 + 72 * H - M, T0 + 72 * H, T0 + 100 * H]) {
    let calls = 0;
    plan({ nowMs, random: () => (calls++, 0.5) });
    assert.equal(calls, 1, `nowMs=${nowMs - T0}`);
  }
});

test('soft replies and wait hints', () => {
  const cases: {
    name: string;
    attemptsMade?: number;
    random?: () => number;
    softReplies: { category: string; retryAfterMs: number | null }[];
    delayMs: number;
  }[] = [
    { name: 'no hint: jittered base', softReplies: [{ category: 'mailbox_full', retryAfterMs: null }], delayMs: 5 * M },
    { name: 'hint raises the delay', softReplies: [{ category: 'rate_limited', retryAfterMs: 20 * M }], delayMs: 20 * M },
    { name: 'shorter hint does not lower it', softReplies: [{ category: 'rate_limited', retryAfterMs: 30 * S }], delayMs: 5 * M },
    {
      name: 'hint compared with the jittered base',
      random: () => 0,
      softReplies: [{ category: 'temporary_failure', retryAfterMs: 280 * S }],
      delayMs: 280 * S,
    },
    {
      name: 'greylisting: hint + 10% margin, shorter than the schedule',
      softReplies: [{ category: 'greylisted', retryAfterMs: 60 * S }],
      delayMs: 66 * S,
    },
    {
      name: 'greylisting: margin at least 1 s',
      softReplies: [{ category: 'greylisted', retryAfterMs: 5 * S }],
      delayMs: 6 * S,
    },
    {
      name: 'greylisting: margin at most 60 s',
      softReplies: [{ category: 'greylisted', retryAfterMs: 30 * M }],
      delayMs: 31 * M,
    },
    {
      name: 'greylisting: hint of 0 still waits the 1 s margin',
      softReplies: [{ category: 'greylisted', retryAfterMs: 0 }],
      delayMs: 1 * S,
    },
    {
      name: 'greylisting without a hint: schedule',
      attemptsMade: 2,
      softReplies: [{ category: 'greylisted', retryAfterMs: null }],
      delayMs: 15 * M,
    },
    {
      name: 'greylisting margin is not jittered',
      random: () => 0.999999,
      softReplies: [{ category: 'greylisted', retryAfterMs: 300 * S }],
      delayMs: 330 * S,
    },
    {
      name: 'mixed: greylisting short, other reply needs the schedule -> max',
      softReplies: [
        { category: 'greylisted', retryAfterMs: 60 * S },
        { category: 'mailbox_full', retryAfterMs: null },
      ],
      delayMs: 5 * M,
    },
    {
      name: 'mixed: longest hint wins',
      softReplies: [
        { category: 'greylisted', retryAfterMs: 60 * S },
        { category: 'rate_limited', retryAfterMs: 10 * M },
        { category: 'greylisted', retryAfterMs: 15 * M },
      ],
      delayMs: 15 * M + 60 * S,
    },
    {
      name: 'mixed: only greylisted replies with hints -> max of hint + margin',
      softReplies: [
        { category: 'greylisted', retryAfterMs: 60 * S },
        { category: 'greylisted', retryAfterMs: 120 * S },
      ],
      delayMs: 132 * S,
    },
    {
      name: 'garbage hints are ignored',
      softReplies: [
        { category: 'greylisted', retryAfterMs: -5 },
        { category: 'rate_limited', retryAfterMs: NaN },
      ],
      delayMs: 5 * M,
    },
  ];
  for (const c of cases) {
    const r = retry(plan({ attemptsMade: c.attemptsMade ?? 1, random: c.random ?? half, softReplies: c.softReplies, nowMs: T0 + M }));
    assert.deepEqual(r, { atMs: T0 + M + c.delayMs, delayMs: c.delayMs, lastAttempt: false }, c.name);
  }
});

test('deadline: last attempt exactly at the deadline, expire at or after it', () => {
  const deadline = T0 + 72 * H;
  const cases: { name: string; nowMs: number; softReplies?: { category: string; retryAfterMs: number | null }[]; expected: NextAttempt }[] = [
    {
      name: 'regular attempt still before the deadline',
      nowMs: deadline - 4 * H - 1,
      expected: { action: 'retry', atMs: deadline - 1, delayMs: 4 * H, lastAttempt: false },
    },
    {
      name: 'regular attempt exactly at the deadline counts as the last one',
      nowMs: deadline - 4 * H,
      expected: { action: 'retry', atMs: deadline, delayMs: 4 * H, lastAttempt: true },
    },
    {
      name: 'regular attempt would fall after the deadline',
      nowMs: deadline - H,
      expected: { action: 'retry', atMs: deadline, delayMs: H, lastAttempt: true },
    },
    {
      name: 'hint past the deadline',
      nowMs: deadline - 5 * H,
      softReplies: [{ category: 'rate_limited', retryAfterMs: 6 * H }],
      expected: { action: 'retry', atMs: deadline, delayMs: 5 * H, lastAttempt: true },
    },
    { name: 'one ms before the deadline', nowMs: deadline - 1, expected: { action: 'retry', atMs: deadline, delayMs: 1, lastAttempt: true } },
    { name: 'at the deadline', nowMs: deadline, expected: { action: 'expire' } },
    { name: 'after the deadline', nowMs: deadline + 1, expected: { action: 'expire' } },
    { name: 'long after the deadline', nowMs: deadline + 10 * D, expected: { action: 'expire' } },
  ];
  for (const c of cases) {
    assert.deepEqual(plan({ attemptsMade: 10, nowMs: c.nowMs, softReplies: c.softReplies ?? [] }), c.expected, c.name);
  }
});

/** Attempt times (relative to start) when every attempt soft-bounces and takes no time. */
function simulate(schedule: RetrySchedule, random: () => number): { times: number[]; last: boolean[] } {
  const times = [0];
  const last = [false];
  let now = T0;
  for (;;) {
    const next = planNextAttempt({ schedule, attemptsMade: times.length, startMs: T0, nowMs: now, random, softReplies: [] });
    if (next.action === 'expire') break;
    assert.equal(next.atMs, now + next.delayMs);
    now = next.atMs;
    times.push(now - T0);
    last.push(next.lastAttempt);
    assert.ok(times.length < 10_000, 'runaway');
  }
  return { times, last };
}

test('the whole standard schedule from start to 72 h', () => {
  const { times, last } = simulate(PROFILES.standard, half);
  const expected = [0, 5 * M, 20 * M, H + 20 * M];
  for (let t = 5 * H + 20 * M; t < 72 * H; t += 4 * H) expected.push(t);
  expected.push(72 * H);
  assert.deepEqual(times, expected);
  assert.deepEqual(expected.slice(0, 7), [0, 5 * M, 20 * M, H + 20 * M, 5 * H + 20 * M, 9 * H + 20 * M, 13 * H + 20 * M]);
  assert.equal(expected.at(-2), 69 * H + 20 * M);
  assert.equal(times.length, 22);
  assert.deepEqual(
    last,
    times.map((_, i) => i === times.length - 1),
  );
});

test('the urgent schedule ends at 15 min', () => {
  const { times } = simulate(PROFILES.urgent, half);
  assert.deepEqual(times, [0, 30 * S, 90 * S, 210 * S, 510 * S, 810 * S, 15 * M]);
});

test('no attempt after the deadline whatever the randomness', () => {
  for (const value of [0, 0.3, 0.999999]) {
    for (const schedule of Object.values(PROFILES)) {
      const { times } = simulate(schedule, () => value);
      assert.equal(times.at(-1), schedule.deadlineMs);
      for (let i = 1; i < times.length; i++) assert.ok(times[i] > times[i - 1]);
    }
  }
});
