// The bench's sizes for scenario 8 (bench/plan.ts): what a mode runs of it, from the warm-up's
// rate, and that its time comes out of the delivered run's share, never out of the budget's end.
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
