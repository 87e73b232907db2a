// Per-site limits (README "Traffic shaping", Limits): how the layers combine, the slow start's
// feedback, the pacing model PostgreSQL runs, and the throttled deferral.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyReply } from '../../src/delivery/classify';
import { ruleHit } from '../../src/sites/rules';
import { throttledReply } from '../../src/sites/deferral';
import { allowedConnections, DEFAULT_LIMITS, effectiveLimits, emissionIntervalMs, mergeCuts, nextConnectionLimit, paceSlot, SHIPPED_LIMITS, type LimitCut } from '../../src/sites/limits';
import type { SiteLimits } from '../../src/sites/contract';

test('effective limits: defaults <- shipped table <- "*" <- the site\'s entry <- an adjustment, which only lowers', () => {
  const configured: Record<string, Partial<SiteLimits>> = {
    '*': { connections: 10 },
    google: { messagesPerMinute: 600 },
    'mx.example.net': { messagesPerMinute: 60, initialConnections: 2 },
    'mx.many.example': { connections: 40, initialConnections: 30 },
    'mx.small.example': { connections: 3 },
    'mx.nocap.example': { messagesPerMinute: null },
  };
  const cases: Array<[site: string, cut: LimitCut | null, expected: SiteLimits]> = [
    ['mx.other.example', null, { connections: 10, initialConnections: 5, messagesPerConnection: 100, messagesPerMinute: null }],
    // The shipped table (KumoMTA's numbers) over the defaults; the file's site entry over "*".
    ['google', null, { connections: 10, initialConnections: 5, messagesPerConnection: 50, messagesPerMinute: 600 }],
    ['apple', null, { connections: 10, initialConnections: 5, messagesPerConnection: 5, messagesPerMinute: null }],
    ['mx.example.net', null, { connections: 10, initialConnections: 2, messagesPerConnection: 100, messagesPerMinute: 60 }],
    ['mx.many.example', null, { connections: 40, initialConnections: 30, messagesPerConnection: 100, messagesPerMinute: null }],
    // The slow start never begins above the cap.
    ['mx.small.example', null, { connections: 3, initialConnections: 3, messagesPerConnection: 100, messagesPerMinute: null }],
    // Adjustments lower, never raise.
    ['mx.example.net', { connections: null, messagesPerMinute: 30 }, { connections: 10, initialConnections: 2, messagesPerConnection: 100, messagesPerMinute: 30 }],
    ['mx.example.net', { connections: null, messagesPerMinute: 600 }, { connections: 10, initialConnections: 2, messagesPerConnection: 100, messagesPerMinute: 60 }],
    ['mx.example.net', { connections: 1, messagesPerMinute: null }, { connections: 1, initialConnections: 1, messagesPerConnection: 100, messagesPerMinute: 60 }],
    ['mx.other.example', { connections: 50, messagesPerMinute: 5 }, { connections: 10, initialConnections: 5, messagesPerConnection: 100, messagesPerMinute: 5 }],
    ['mx.nocap.example', null, { connections: 10, initialConnections: 5, messagesPerConnection: 100, messagesPerMinute: null }],
  ];
  for (const [site, cut, expected] of cases) assert.deepEqual(effectiveLimits(site, configured, cut), expected, `${site} ${JSON.stringify(cut)}`);
  assert.deepEqual(effectiveLimits('mx.unknown.example'), DEFAULT_LIMITS);
  assert.deepEqual(DEFAULT_LIMITS, { initialConnections: 5, connections: 20, messagesPerConnection: 100, messagesPerMinute: null });
  for (const [site, limits] of Object.entries(SHIPPED_LIMITS)) assert.ok(Object.keys(limits).length > 0, site);
});

test('adjustments of a site and a domain merge into the lowest of each', () => {
  const cases: Array<[cuts: LimitCut[], expected: LimitCut | null]> = [
    [[], null],
    [[{ connections: 2, messagesPerMinute: null }], { connections: 2, messagesPerMinute: null }],
    [[{ connections: 2, messagesPerMinute: null }, { connections: null, messagesPerMinute: 30 }], { connections: 2, messagesPerMinute: 30 }],
    [[{ connections: 4, messagesPerMinute: 60 }, { connections: 2, messagesPerMinute: 90 }], { connections: 2, messagesPerMinute: 60 }],
  ];
  for (const [cuts, expected] of cases) assert.deepEqual(mergeCuts(cuts), expected);
});

test('slow start: up by 1/limit per success towards the cap, down by one per failure, never below 1', () => {
  const cases: Array<[current: number, cap: number, successes: number, failures: number, allowed: number]> = [
    [5, 20, 0, 0, 5],
    [5, 20, 4, 0, 5],
    [5, 20, 6, 0, 6],
    [5, 20, 100, 0, 15],
    [5, 20, 400, 0, 20],
    [5, 5, 10, 0, 5],
    [5, 20, 0, 1, 4],
    [5, 20, 0, 10, 1],
    [1, 20, 1, 0, 2],
    // A cap lowered by an adjustment applies at once.
    [12, 2, 0, 0, 2],
  ];
  for (const [current, cap, successes, failures, allowed] of cases) {
    const next = nextConnectionLimit(current, cap, { successes, failures });
    assert.equal(allowedConnections(next, cap), allowed, `${current} +${successes} -${failures} (cap ${cap}) -> ${next}`);
    assert.ok(next >= 1 && next <= Math.max(cap, 1));
  }
});

test('pacing (GCRA): a message goes at max(tat, now) when that is near, one interval after the last; further away it waits no more', () => {
  const second = emissionIntervalMs(60);
  assert.equal(second, 1_000);
  const cases: Array<[tat: number | null, now: number, expected: ReturnType<typeof paceSlot>]> = [
    [null, 10_000, { sendAtMs: 10_000, tatMs: 11_000 }],
    // A quiet site: the first message goes at once.
    [5_000, 10_000, { sendAtMs: 10_000, tatMs: 11_000 }],
    [12_000, 10_000, { sendAtMs: 12_000, tatMs: 13_000 }],
    [15_000, 10_000, { sendAtMs: 15_000, tatMs: 16_000 }],
    [15_001, 10_000, { waitMs: 5_001 }],
  ];
  for (const [tat, now, expected] of cases) assert.deepEqual(paceSlot(tat, now, second), expected, `tat ${tat} now ${now}`);
  // Twenty sends at once: one a second, the ones beyond the wait refused.
  let tat: number | null = null;
  const sent: number[] = [];
  for (let i = 0; i < 20; i++) {
    const slot = paceSlot(tat, 0, second);
    if ('sendAtMs' in slot) {
      sent.push(slot.sendAtMs);
      tat = slot.tatMs;
    }
  }
  assert.deepEqual(sent, [0, 1_000, 2_000, 3_000, 4_000, 5_000]);
});

test('a throttled deferral is soft, of destination scope, with a wait hint, and no rule matches it', () => {
  const cases: Array<[scope: 'site' | 'domain', key: string, perMinute: number, backlogMs: number, random: number, seconds: number]> = [
    ['site', 'google', 600, 30_000, 0, 30],
    ['site', 'google', 600, 30_000, 1, 33],
    ['domain', 'example.com', 60, 0, 0, 1],
    ['site', 'mx.example.net', 1, 3_600_000, 0, 3_600],
  ];
  for (const [scope, key, perMinute, backlogMs, random, seconds] of cases) {
    const reply = throttledReply(scope, key, perMinute, backlogMs, () => random);
    assert.equal(reply.text, `${scope} ${key} throttled to ${perMinute} per minute; try again in ${seconds} seconds`);
    assert.equal(reply.errorCode, 'ESITETHROTTLED');
    const c = classifyReply(reply);
    assert.equal(c.kind, 'soft');
    assert.equal(c.category, 'network_error');
    assert.equal(c.scope, 'destination');
    assert.equal(c.retryAfterMs, seconds * 1_000);
    const anyRule = { name: 'x', match: { text: /throttled/ }, scope: 'site' as const, threshold: { kind: 'immediate' as const }, action: { kind: 'suspend' as const }, durationMs: 1 };
    assert.equal(ruleHit(key, null, [reply], [anyRule]), null);
  }
});
