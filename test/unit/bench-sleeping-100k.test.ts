// The main bench repeats the separate 100,000-sleepers run's figures from its JSON file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readSleeping100k } from '../../bench/sleeping-100k';

test('no file: every figure is null', () => {
  const r = readSleeping100k(path.join(os.tmpdir(), 'no-such-dir-rebound', 'sleeping-100000.json'));
  assert.deepEqual(r, { sleeping100kWorkerRssMb: null, sleeping100kServerRssMb: null, sleeping100kFirstAttemptSeconds: null, sleeping100kFrom: null });
});

test('a file: the worker and server RSS while asleep, the first attempts, and which run they are from', () => {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'rebound-s100k-')), 'sleeping-100000.json');
  writeFileSync(file, JSON.stringify({ startedAt: '2026-12-03T14:50:50.000Z', commit: 'abc1234', n: 100000, sleepingWorkerRssMb: 421.3, sleepingServerRssMb: 9876.5, sleepingFirstAttemptSeconds: 2900.2 }));
  const r = readSleeping100k(file);
  assert.equal(r.sleeping100kWorkerRssMb, 421.3);
  assert.equal(r.sleeping100kServerRssMb, 9876.5);
  assert.equal(r.sleeping100kFirstAttemptSeconds, 2900.2);
  assert.equal(r.sleeping100kFrom?.commit, 'abc1234');
  assert.equal(r.sleeping100kFrom?.startedAt, '2026-12-03T14:50:50.000Z');
});
