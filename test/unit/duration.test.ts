import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration, parseDuration } from '../../src/delivery/duration';
import { ValidationError } from '../../src/errors';

const S = 1_000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;

test('parseDuration accepts numbers of ms and unit strings', () => {
  const cases: [string | number, number][] = [
    [1, 1],
    [300_000, 5 * M],
    ['500ms', 500],
    ['30s', 30 * S],
    ['5m', 5 * M],
    ['1h', H],
    ['2d', 2 * D],
    ['1h30m', H + 30 * M],
    ['1h 30m', H + 30 * M],
    ['  72h  ', 72 * H],
    ['1d2h3m4s5ms', D + 2 * H + 3 * M + 4 * S + 5],
    ['1s500ms', 1500],
    ['5M', 5 * M],
    ['0h30m', 30 * M],
    ['90s', 90 * S],
  ];
  for (const [input, expected] of cases) {
    assert.equal(parseDuration(input, 'f'), expected, `parseDuration(${JSON.stringify(input)})`);
  }
});

test('parseDuration rejects invalid values with a ValidationError naming the field', () => {
  const cases: unknown[] = [
    0,
    -5,
    1.5,
    NaN,
    Infinity,
    Number.MAX_SAFE_INTEGER + 2,
    '',
    '   ',
    '90',
    '0',
    '-5m',
    '0s',
    '0h0m',
    '5 minutes',
    '1.5h',
    'abc',
    '5x',
    '30m1h',
    '1h1h',
    'ms',
    '1h30',
    '5m;drop',
    '99999999999999999999d',
    null,
    undefined,
    {},
    ['5m'],
    true,
  ];
  for (const input of cases) {
    assert.throws(
      () => parseDuration(input as string, 'delays[3]'),
      (err: unknown) => err instanceof ValidationError && err.field === 'delays[3]' && err.message.startsWith('Invalid field "delays[3]"'),
      `parseDuration(${String(JSON.stringify(input))}) should throw`,
    );
  }
});

test('a bare number string is rejected with a hint about units', () => {
  assert.throws(() => parseDuration('90', 'deadline'), /no unit.*"90s".*"90ms"/);
});

test('formatDuration', () => {
  const cases: [number, string][] = [
    [5 * M, '5m'],
    [H + 30 * M, '1h30m'],
    [45 * S, '45s'],
    [250, '250ms'],
    [1500, '1s500ms'],
    [72 * H, '3d'],
    [D + H, '1d1h'],
    [0, '0ms'],
    [-5 * M, '-5m'],
    [249.6, '250ms'],
  ];
  for (const [ms, expected] of cases) assert.equal(formatDuration(ms), expected, `formatDuration(${ms})`);
});

test('formatDuration output parses back', () => {
  for (const ms of [1, 999, 1000, 61_001, 5 * M, 72 * H, 30 * D, D + H + M + S + 1, 123_456_789]) {
    assert.equal(parseDuration(formatDuration(ms), 'f'), ms);
  }
});
