// The bounce simulator's rate limit (src/sink/rate-window.ts) without a server: which RCPT of a
// window is taken, when the limit clears, and how the ledger answers with it — Gmail's
// 421 4.7.28 before the recipient's own scenario (README "The bounce simulator", "Direct demo").
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SinkLedger } from '../../src/sink/ledger';
import { FRESH_WINDOW, checkedRateLimit, parseRateLimit, rateDecision, type RateLimit, type RateWindowState } from '../../src/sink/rate-window';
import { SCENARIOS, rcptDecision } from '../../src/sink/scenarios';

/** Runs RCPTs at the given times (ms) through one limit; 'A' taken, 'R' refused. */
function run(limit: RateLimit, times: number[]): string {
  let state: RateWindowState = FRESH_WINDOW;
  return times
    .map((t) => {
      const d = rateDecision(limit, state, t);
      state = d.state;
      return d.accept ? 'A' : 'R';
    })
    .join('');
}

describe('rateDecision', () => {
  const cases: { name: string; limit: RateLimit; times: number[]; expected: string }[] = [
    { name: 'under the limit: every RCPT taken', limit: { after: 3, windowMs: 1_000 }, times: [0, 10, 20], expected: 'AAA' },
    { name: 'the fourth in the window is refused, and every one after it until the window ends', limit: { after: 3, windowMs: 1_000 }, times: [0, 1, 2, 3, 500, 999], expected: 'AAARRR' },
    { name: 'the window ends at openedAt + windowMs: taken again from then', limit: { after: 3, windowMs: 1_000 }, times: [0, 1, 2, 3, 1_000, 1_001, 1_002, 1_003], expected: 'AAARAAAR' },
    { name: 'refusals do not move the window: it opened with the first taken', limit: { after: 1, windowMs: 100 }, times: [0, 50, 99, 100, 150, 250], expected: 'ARRARA' },
    { name: 'a window opens at the first RCPT after a quiet time, not on a grid', limit: { after: 2, windowMs: 100 }, times: [0, 1, 350, 351, 352, 449, 450], expected: 'AAAARRA' },
    { name: 'after 1: one recipient per window', limit: { after: 1, windowMs: 10 }, times: [0, 5, 10, 15, 20], expected: 'ARARA' },
  ];
  for (const c of cases) test(c.name, () => assert.equal(run(c.limit, c.times), c.expected));

  test('the state is not changed in place', () => {
    const state: RateWindowState = { openedAt: 0, taken: 1 };
    rateDecision({ after: 3, windowMs: 100 }, state, 10);
    assert.deepEqual(state, { openedAt: 0, taken: 1 });
  });

  test('checkedRateLimit names the field that is not a positive whole number', () => {
    assert.deepEqual(checkedRateLimit({ after: 20, windowMs: 60_000 }), { after: 20, windowMs: 60_000 });
    assert.throws(() => checkedRateLimit({ after: 0, windowMs: 1 }), /rateLimit\.after must be/);
    assert.throws(() => checkedRateLimit({ after: 1.5, windowMs: 1 }), /rateLimit\.after must be/);
    assert.throws(() => checkedRateLimit({ after: 1, windowMs: -5 }), /rateLimit\.windowMs must be/);
  });
});

describe('SinkLedger with a rate limit', () => {
  const ratelimitIp = SCENARIOS.find((r) => r.localParts.includes('ratelimit-ip'))!;

  function ledgerAt(limit: RateLimit): { ledger: SinkLedger; at: (ms: number) => void } {
    let now = 1_000_000;
    const ledger = new SinkLedger({ rateLimit: limit, now: () => new Date(now), queueId: () => 'Q1' });
    return { ledger, at: (ms) => (now = 1_000_000 + ms) };
  }

  test('past the limit every recipient gets the ratelimit-ip reply, whatever its local part', () => {
    const { ledger } = ledgerAt({ after: 2, windowMs: 10_000 });
    ledger.mailFrom('c1', 's@x');
    const replies = ['a@x', 'b@x', 'c@x', 'unknown@x', 'greylist@x'].map((r) => ledger.rcptTo('c1', r));
    assert.deepEqual(replies.map((r) => r.code), [250, 250, 421, 421, 421]);
    assert.equal(replies[2].text, rcptDecision('ratelimit-ip@x', 1).text);
    assert.equal(replies[2].text.startsWith('4.7.28 '), true);
    assert.equal(ratelimitIp.rcpt?.enhanced, '4.7.28');
    assert.equal(replies[3].scenario.name, 'rate-limit');
  });

  test('a refused RCPT counts no attempt for the address: greylisting starts over when the limit clears', () => {
    const { ledger, at } = ledgerAt({ after: 1, windowMs: 1_000 });
    ledger.mailFrom('c1', 's@x');
    assert.equal(ledger.rcptTo('c1', 'first@x').code, 250);
    assert.equal(ledger.rcptTo('c1', 'greylist-5@x').code, 421);
    at(1_000);
    // the address's first RCPT the sink counted: greylisted, as on a sink without a limit
    assert.equal(ledger.rcptTo('c1', 'greylist-5@x').code, 450);
    at(2_000);
    assert.equal(ledger.rcptTo('c1', 'greylist-5@x').code, 250);
  });

  test('the transaction log names the refusal; reset() clears the window', () => {
    const { ledger } = ledgerAt({ after: 1, windowMs: 60_000 });
    ledger.mailFrom('c1', 's@x');
    ledger.rcptTo('c1', 'a@x');
    ledger.rcptTo('c1', 'b@x');
    ledger.end('c1', 'closed');
    const [tx] = ledger.transactions();
    assert.deepEqual(tx.rcpt.map((r) => [r.address, r.scenario, r.reply.slice(0, 10)]), [
      ['a@x', 'accept', '250 2.1.5 '],
      ['b@x', 'rate-limit', '421 4.7.28'],
    ]);
    ledger.reset();
    ledger.mailFrom('c2', 's@x');
    assert.equal(ledger.rcptTo('c2', 'c@x').code, 250);
  });

  test('without a rate limit nothing is refused for rate', () => {
    const ledger = new SinkLedger();
    ledger.mailFrom('c1', 's@x');
    for (let i = 0; i < 50; i++) assert.equal(ledger.rcptTo('c1', `r${i}@x`).code, 250);
  });

  test('a bad limit is refused when the sink is made', () => {
    assert.throws(() => new SinkLedger({ rateLimit: { after: 0, windowMs: 1_000 } }), /rateLimit\.after/);
  });
});

describe('parseRateLimit (rebound sink --rate-limit)', () => {
  const good: [string, RateLimit][] = [
    ['20/60s', { after: 20, windowMs: 60_000 }],
    [' 3 / 10s ', { after: 3, windowMs: 10_000 }],
    ['100/1m30s', { after: 100, windowMs: 90_000 }],
    ['1/1500ms', { after: 1, windowMs: 1_500 }],
  ];
  for (const [text, limit] of good) test(`"${text}"`, () => assert.deepEqual(parseRateLimit(text), limit));
  const bad: [string, RegExp][] = [
    ['20', /N\/DURATION/],
    ['20/', /N\/DURATION/],
    ['x/10s', /N\/DURATION/],
    ['0/10s', /rateLimit\.after/],
    ['5/10', /no unit/],
    ['5/-1s', /positive/],
  ];
  for (const [text, message] of bad) test(`"${text}" is refused`, () => assert.throws(() => parseRateLimit(text), message));
});
