// The bounded recipient-domain label rule (README "Metrics", domain labels).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DomainLabels, type DomainLabelOptions } from '../../src/metrics/domains';

/** `['a.test', 3]` is three sends to a.test in a row. */
type Run = [string, number];

/** The labels answered for every send of `runs`, in order. */
function labelsOf(opts: Partial<DomainLabelOptions>, runs: Run[]): { answers: string[]; labelled: string[] } {
  const rule = new DomainLabels(opts);
  const answers: string[] = [];
  for (const [domain, n] of runs) for (let i = 0; i < n; i++) answers.push(rule.label(domain));
  return { answers, labelled: rule.labels() };
}

describe('DomainLabels', () => {
  const rows: { name: string; opts: Partial<DomainLabelOptions>; runs: Run[]; answers?: string[]; labelled: string[] }[] = [
    {
      name: 'a domain is "other" until it has minVolume sends, then named',
      opts: { top: 2, minVolume: 3, trackedLimit: 10 },
      runs: [['a.test', 4]],
      answers: ['other', 'other', 'a.test', 'a.test'],
      labelled: ['a.test'],
    },
    {
      name: 'at most `top` domains are named; the rest stay "other"',
      opts: { top: 2, minVolume: 1, trackedLimit: 10 },
      runs: [['a.test', 1], ['b.test', 1], ['c.test', 5]],
      answers: ['a.test', 'b.test', 'other', 'other', 'other', 'other', 'other'],
      labelled: ['a.test', 'b.test'],
    },
    {
      name: 'a named domain keeps its label when others overtake it',
      opts: { top: 1, minVolume: 1, trackedLimit: 10 },
      runs: [['a.test', 1], ['b.test', 10], ['a.test', 1]],
      answers: ['a.test', ...Array(10).fill('other'), 'a.test'],
      labelled: ['a.test'],
    },
    {
      name: 'minVolume keeps a burst of rare domains from taking the places of a frequent one',
      opts: { top: 2, minVolume: 5, trackedLimit: 50 },
      runs: [['r1.test', 1], ['r2.test', 1], ['r3.test', 1], ['big.test', 6], ['r4.test', 1]],
      labelled: ['big.test'],
    },
    {
      name: 'case and surrounding spaces do not make another domain',
      opts: { top: 2, minVolume: 2, trackedLimit: 10 },
      runs: [['Example.COM', 1], [' example.com ', 1]],
      answers: ['other', 'example.com'],
      labelled: ['example.com'],
    },
    {
      name: 'what is not a domain is always "other"',
      opts: { top: 5, minVolume: 1, trackedLimit: 10 },
      runs: [['', 1], ['other', 3], ['bad domain', 1], ['évil.test', 1], ['a..b', 1], ['x'.repeat(254), 1], ['[192.0.2.1]', 1]],
      answers: ['other', 'other', 'other', 'other', 'other', 'other', 'other', 'other', '[192.0.2.1]'],
      labelled: ['[192.0.2.1]'],
    },
  ];
  for (const row of rows) {
    test(row.name, () => {
      const { answers, labelled } = labelsOf(row.opts, row.runs);
      if (row.answers) assert.deepEqual(answers, row.answers);
      assert.deepEqual(labelled, row.labelled);
    });
  }

  test('the label set stays bounded by top + 1 however many domains are seen', () => {
    const rule = new DomainLabels({ top: 20, minVolume: 2, trackedLimit: 100 });
    const seen = new Set<string>();
    for (let i = 0; i < 20_000; i++) seen.add(rule.label(`d${i % 5000}.test`));
    assert.ok(seen.size <= 21, `${seen.size} distinct labels`);
    assert.ok(seen.has('other'));
  });

  test('with a full table, a frequent domain arriving late is still counted and named', () => {
    // 100 rare domains fill the table (trackedLimit 100); then a frequent one comes.
    const runs: Run[] = [...Array.from({ length: 100 }, (_, i): Run => [`rare${i}.test`, 1]), ['gmail.test', 3]];
    const { answers, labelled } = labelsOf({ top: 5, minVolume: 3, trackedLimit: 100 }, runs);
    assert.deepEqual(labelled, ['gmail.test']);
    assert.equal(answers.at(-1), 'gmail.test');
  });

  test('trackedLimit must leave room beyond the labelled domains', () => {
    assert.throws(() => new DomainLabels({ top: 10, trackedLimit: 10 }), /trackedLimit \(10\) must exceed top \(10\)/);
  });
});

test('a domain that replaced a busier one in a full table is not named on the count it inherited', () => {
  // Two tracked domains with 5 sends each fill the table; a newcomer inherits 5 but has sent once.
  const { answers, labelled } = labelsOf({ top: 1, minVolume: 6, trackedLimit: 2 }, [['a.test', 5], ['b.test', 5], ['new.test', 1]]);
  assert.equal(answers.at(-1), 'other');
  assert.deepEqual(labelled, []);
});
