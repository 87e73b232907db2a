// The bench's goal fields (README "Performance"): names, ratios, targets, and "not measured".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { goalFigures, sleeping100kGoal } from '../../bench/goals';

test('goal figures: the ratios to both ceilings, the CPU per delivered message and the half-rate p99, each judged', () => {
  const g = goalFigures({ deliveredPerSecond: 45, ceilingEmptyPerSecond: 90, ceilingOneActivityPerSecond: 50, cpuMsPerMessage: { server: 14, worker: 7.5 }, halfRateAcceptedP99Ms: 250 });
  assert.equal(g.ratioToOneActivityCeiling, 0.9);
  assert.equal(g.ratioToEmptyCeiling, 0.5);
  assert.equal(g.serverCpuMsPerDelivered, 14);
  assert.equal(g.workerCpuMsPerDelivered, 7.5);
  assert.deepEqual(g.goals.map((x) => [x.name, x.met]), [
    ['ratioToOneActivityCeiling', true],
    ['ratioToEmptyCeiling', false],
    ['serverCpuMsPerDelivered', true],
    ['workerCpuMsPerDelivered', false],
    ['acceptedP99MsHalfRate', false],
  ]);
});

test('a figure the run did not measure is null and its goal is neither met nor missed', () => {
  const g = goalFigures({ deliveredPerSecond: 40, ceilingEmptyPerSecond: null, ceilingOneActivityPerSecond: 0, cpuMsPerMessage: null, halfRateAcceptedP99Ms: null });
  assert.equal(g.ratioToOneActivityCeiling, null);
  assert.equal(g.ratioToEmptyCeiling, null);
  assert.ok(g.goals.every((x) => x.value === null && x.met === null));
});

test('the 100,000-sleepers goal: worker RSS below 600 MB, from its own run; null when that run is missing', () => {
  assert.deepEqual(sleeping100kGoal(412.5), { name: 'sleeping100kWorkerRssMb', value: 412.5, target: { below: 600 }, met: true });
  assert.equal(sleeping100kGoal(600).met, false);
  assert.equal(sleeping100kGoal(null).met, null);
});
