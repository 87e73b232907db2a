// The bench's sizes for scenarios 8 and 9 (bench/plan.ts): what a mode runs of them, from the
// warm-up's rate, and that their time comes out of the delivered run's share, never out of the
// budget's end.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseArgs } from '../../bench/args';
import { planSizes } from '../../bench/plan';

const cases: { name: string; argv: string[]; rate: number; budget: number; withWebhooks: boolean; late: number }[] = [
  { name: 'a mode without scenarios 7 and 8 runs none of it', argv: [], rate: 200, budget: 500, withWebhooks: false, late: 0 },
  { name: '--quick runs its minimum whatever the rate', argv: ['--quick'], rate: 500, budget: 50, withWebhooks: true, late: 30 },
  { name: 'a fast machine runs the full 300', argv: [], rate: 200, budget: 500, withWebhooks: true, late: 300 },
  { name: 'a slow machine runs what 20 s take at 80 % of the warm-up rate', argv: [], rate: 10, budget: 500, withWebhooks: true, late: 160 },
  { name: 'a very slow machine still runs the minimum', argv: [], rate: 1, budget: 500, withWebhooks: true, late: 30 },
];

for (const c of cases) {
  test(`scenario 8 size: ${c.name}`, () => {
    assert.equal(planSizes(parseArgs(c.argv), c.rate, c.budget, c.withWebhooks).late, c.late);
  });
}

test('scenario 8 takes its time from the delivered run, at the warm-up rate', () => {
  const opts = parseArgs(['--budget', '200']);
  const without = planSizes(opts, 20, 200, false);
  const withLate = planSizes(opts, 20, 200, true);
  assert.ok(withLate.messages < without.messages, `delivered ${withLate.messages} with scenarios 7 and 8, ${without.messages} without`);
  assert.equal(withLate.budgetSeconds, without.budgetSeconds);
});

// Scenario 9 (direct delivery and shaping) runs in the same mode as 7 and 8, two batches of its size.
const directCases: { name: string; argv: string[]; rate: number; budget: number; withWebhooks: boolean; direct: number }[] = [
  { name: 'a mode without scenarios 7-9 runs none of it', argv: [], rate: 200, budget: 500, withWebhooks: false, direct: 0 },
  { name: '--quick runs its minimum whatever the rate', argv: ['--quick'], rate: 500, budget: 50, withWebhooks: true, direct: 20 },
  { name: 'a fast machine runs the full 200', argv: [], rate: 200, budget: 500, withWebhooks: true, direct: 200 },
  { name: 'a slow machine runs what 10 s take at 80 % of the warm-up rate', argv: [], rate: 10, budget: 500, withWebhooks: true, direct: 80 },
  { name: 'a very slow machine still runs the minimum', argv: [], rate: 1, budget: 500, withWebhooks: true, direct: 20 },
];

for (const c of directCases) {
  test(`scenario 9 size: ${c.name}`, () => {
    assert.equal(planSizes(parseArgs(c.argv), c.rate, c.budget, c.withWebhooks).direct, c.direct);
  });
}

test('scenario 9 takes its time from the delivered run too', () => {
  const opts = parseArgs(['--budget', '300']);
  const withAll = planSizes(opts, 20, 300, true);
  const without = planSizes(opts, 20, 300, false);
  assert.ok(withAll.messages < without.messages);
  assert.equal(withAll.direct, 160);
});
