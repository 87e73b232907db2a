// README "Reputation and suppression" against the pure policy in src/reputation/policy.ts.
// Times are passed explicitly; no clock, no server. Long because it is tables: one row per
// rule and boundary, kept in one file so a rule's cases read together.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEDUP_MAX_KEYS, DEDUP_WINDOW_MS, DEFAULT_SOFT_BOUNCE_THRESHOLD, DEFAULT_SUPPRESSION_DAYS, MAX_SOFT_BOUNCE_THRESHOLD, MIN_SOFT_BOUNCE_THRESHOLD, RECENT_EVENTS, applyLegacyOutcome, applyOutcome, hardBounceSuppresses, initialReputationState, isActive, lift, suppress, validateSettings, type ReputationEffect, type ReputationSettings, type ReputationState } from '../../src/reputation/policy';
import { type Suppression, type ReputationEventType, type ReputationSignal } from '../../src/reputation/contract';
import { HARD_CATEGORIES, SOFT_CATEGORIES, type BounceCategory, type ReplyScope } from '../../src/delivery/contract';

const S = 1_000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;
const T0 = 1_700_000_000_000;
const SETTINGS: ReputationSettings = { softBounceThreshold: 5, suppressionDays: 180 };
const iso = (ms: number): string => new Date(ms).toISOString();

const DEFAULT_CATEGORY: Record<ReputationEventType, BounceCategory> = {
  delivered: 'delivered',
  softBounced: 'mailbox_full',
  hardBounced: 'unknown_user',
};

/** Whom a reply of each category is usually about (the classifier decides it per reply). */
const USUAL_SCOPE: Record<BounceCategory, ReplyScope> = {
  delivered: 'recipient',
  mailbox_full: 'recipient',
  temporary_failure: 'recipient',
  greylisted: 'destination',
  rate_limited: 'sender',
  server_unavailable: 'destination',
  network_error: 'destination',
  unknown_user: 'recipient',
  unknown_domain: 'recipient',
  mailbox_disabled: 'recipient',
  invalid_address: 'recipient',
  policy_block: 'sender',
  message_too_large: 'message',
  permanent_failure: 'recipient',
};

/** A final outcome as a delivery workflow reports it: a soft bounce is a send that ended expired. */
function signal(messageId: string, event: ReputationEventType, category?: BounceCategory, atMs = T0, scope?: ReplyScope): ReputationSignal {
  const cat = category ?? DEFAULT_CATEGORY[event];
  const reply =
    event === 'delivered'
      ? { code: 250, enhanced: '2.0.0', text: 'OK' }
      : event === 'softBounced'
        ? { code: 452, enhanced: '4.2.2', text: 'Mailbox full' }
        : { code: 550, enhanced: '5.1.1', text: 'No such user' };
  return { messageId, category: cat, scope: scope ?? USUAL_SCOPE[cat], reply, at: iso(atMs) };
}

/** One step of a scenario: event, message id, optional category, time offset from T0. */
type Step = [event: ReputationEventType, messageId: string, category?: BounceCategory, offsetMs?: number];

interface Run {
  state: ReputationState;
  effects: ReputationEffect[];
}

function run(steps: Step[], settings: ReputationSettings = SETTINGS, state = initialReputationState(T0)): Run {
  const effects: ReputationEffect[] = [];
  steps.forEach(([event, messageId, category, offsetMs], i) => {
    const now = T0 + (offsetMs ?? i * M);
    effects.push(applyOutcome(state, event, signal(messageId, event, category, now), settings, now));
  });
  return { state, effects };
}

const softs = (n: number, prefix = 's', from = 0): Step[] =>
  Array.from({ length: n }, (_, i) => ['softBounced', `${prefix}${from + i}`] as Step);

function suppressionOf(effect: ReputationEffect): Suppression {
  assert.ok(effect, 'expected a suppress effect, got null');
  assert.equal(effect.type, 'suppress');
  if (effect.type !== 'suppress') throw new Error('unreachable');
  return effect.suppression;
}

const countEffects = (effects: ReputationEffect[]): number => effects.filter((e) => e !== null).length;

// ---------------------------------------------------------------------------------------------
// Constants
// ---------------------------------------------------------------------------------------------

test('defaults match README "Reputation and suppression": threshold 5 in 1..20, 180 days, 20 recent events', () => {
  assert.equal(DEFAULT_SOFT_BOUNCE_THRESHOLD, 5);
  assert.equal(MIN_SOFT_BOUNCE_THRESHOLD, 1);
  assert.equal(MAX_SOFT_BOUNCE_THRESHOLD, 20);
  assert.equal(DEFAULT_SUPPRESSION_DAYS, 180);
  assert.equal(RECENT_EVENTS, 20);
  assert.ok(DEDUP_WINDOW_MS > 30 * D, 'dedup window outlasts the longest deadline');
});

test('initial state is empty and unsuppressed', () => {
  const s = initialReputationState(T0);
  assert.deepEqual(s, {
    consecutiveSoftBounces: 0,
    suppression: null,
    recent: [],
    totals: { delivered: 0, softBounced: 0, hardBounced: 0 },
    seen: [],
    lastEventAtMs: T0,
  });
});

// ---------------------------------------------------------------------------------------------
// Soft-bounce threshold
// ---------------------------------------------------------------------------------------------

test('five soft-bouncing sends suppress on the fifth, not the fourth', () => {
  const steps = softs(5);
  const { state, effects } = run(steps);
  assert.deepEqual(effects.slice(0, 4), [null, null, null, null], 'no suppression before the fifth');
  const fifthAt = T0 + 4 * M;
  const s = suppressionOf(effects[4]);
  assert.deepEqual(s, {
    reason: 'soft_bounce_threshold',
    category: 'mailbox_full',
    source: 'auto',
    messageId: 's4',
    reply: '452 4.2.2 Mailbox full',
    since: iso(fifthAt),
    until: iso(fifthAt + 180 * D),
    actor: null,
    note: null,
  });
  assert.deepEqual(effects[4], { type: 'suppress', suppression: s });
  assert.equal(state.suppression, s, 'state carries the same suppression');
  assert.equal(state.consecutiveSoftBounces, 5);
  assert.ok(isActive(state.suppression, fifthAt));
  assert.ok(isActive(state.suppression, fifthAt + 180 * D - 1));
  assert.ok(!isActive(state.suppression, fifthAt + 180 * D));
});

test('four soft bounces leave the address active with count 4', () => {
  const { state, effects } = run(softs(4));
  assert.equal(countEffects(effects), 0);
  assert.equal(state.suppression, null);
  assert.equal(state.consecutiveSoftBounces, 4);
});

test('the suppression category is the one of the threshold-crossing bounce', () => {
  const cats: BounceCategory[] = ['mailbox_full', 'temporary_failure', 'mailbox_full', 'mailbox_full', 'temporary_failure'];
  const { effects } = run(cats.map((c, i): Step => ['softBounced', `m${i}`, c]));
  const s = suppressionOf(effects[4]);
  assert.equal(s.category, 'temporary_failure');
  assert.equal(s.messageId, 'm4');
});

const suppressionDayCases: { days: number }[] = [{ days: 1 }, { days: 30 }, { days: 180 }, { days: 3650 }];
for (const { days } of suppressionDayCases) {
  test(`until = now + suppressionDays (${days} days)`, () => {
    const now = T0 + 7 * H;
    const state = initialReputationState(T0);
    const effect = applyOutcome(state, 'hardBounced', signal('h', 'hardBounced'), { softBounceThreshold: 5, suppressionDays: days }, now);
    const s = suppressionOf(effect);
    assert.equal(s.since, iso(now));
    assert.equal(s.until, iso(now + days * D));
  });
}

interface CountCase {
  name: string;
  steps: Step[];
  count: number;
  suppressedAt: number | null; // index of the step whose effect is the suppression
}

const countCases: CountCase[] = [
  { name: 'four soft, one delivery, four more soft', steps: [...softs(4), ['delivered', 'd'], ...softs(4, 's', 4)], count: 4, suppressedAt: null },
  { name: 'four soft, one delivery, five more soft', steps: [...softs(4), ['delivered', 'd'], ...softs(5, 's', 4)], count: 5, suppressedAt: 9 },
  { name: 'same messageId soft-bounced ten times counts once', steps: Array.from({ length: 10 }, (): Step => ['softBounced', 'same']), count: 1, suppressedAt: null },
  {
    name: 'four distinct soft plus repeats of them',
    steps: [...softs(4), ...softs(4), ...softs(4)],
    count: 4,
    suppressedAt: null,
  },
  {
    name: 'repeat of an old id after a reset does not count again',
    steps: [['softBounced', 'a'], ['delivered', 'd'], ['softBounced', 'a']],
    count: 0,
    suppressedAt: null,
  },
  { name: 'softBounced then delivered for the same messageId resets the count', steps: [...softs(3), ['softBounced', 'x'], ['delivered', 'x']], count: 0, suppressedAt: null },
  {
    name: 'delivered then softBounced for the same messageId both count',
    steps: [['delivered', 'x'], ['softBounced', 'x']],
    count: 1,
    suppressedAt: null,
  },
  {
    name: 'duplicate delivered does not reset a count built afterwards',
    steps: [['delivered', 'd'], ...softs(3), ['delivered', 'd']],
    count: 3,
    suppressedAt: null,
  },
  {
    name: 'non-suppressing hard bounces neither count nor reset',
    steps: [...softs(2), ['hardBounced', 'p', 'policy_block'], ['hardBounced', 't', 'message_too_large'], ...softs(3, 's', 2)],
    count: 5,
    suppressedAt: 6,
  },
  { name: 'exactly five soft with duplicates in between', steps: [...softs(2), ['softBounced', 's0'], ...softs(3, 's', 2)], count: 5, suppressedAt: 5 },
];

for (const c of countCases) {
  test(`count: ${c.name}`, () => {
    const { state, effects } = run(c.steps);
    assert.equal(state.consecutiveSoftBounces, c.count);
    const idx = effects.findIndex((e) => e !== null);
    assert.equal(idx === -1 ? null : idx, c.suppressedAt);
    assert.equal(countEffects(effects), c.suppressedAt === null ? 0 : 1);
    assert.equal(state.suppression === null, c.suppressedAt === null);
    if (c.suppressedAt !== null) assert.equal(suppressionOf(effects[c.suppressedAt]).reason, 'soft_bounce_threshold');
  });
}

test('a duplicate signal changes nothing at all', () => {
  const { state } = run(softs(3));
  const before = structuredClone(state);
  const effect = applyOutcome(state, 'softBounced', signal('s1', 'softBounced'), SETTINGS, T0 + H);
  assert.equal(effect, null);
  assert.deepEqual(state, before);
});

// Threshold boundaries: [threshold, sends that must NOT suppress, sends that must suppress]
const thresholdCases: { threshold: number }[] = [{ threshold: 1 }, { threshold: 2 }, { threshold: 5 }, { threshold: 19 }, { threshold: 20 }];
for (const { threshold } of thresholdCases) {
  test(`threshold ${threshold}: suppress on soft bounce #${threshold}, not before`, () => {
    const settings = validateSettings({ softBounceThreshold: threshold, suppressionDays: 180 });
    const { state, effects } = run(softs(threshold), settings);
    effects.slice(0, threshold - 1).forEach((e, i) => assert.equal(e, null, `no effect on send ${i + 1}`));
    const s = suppressionOf(effects[threshold - 1]);
    assert.equal(s.reason, 'soft_bounce_threshold');
    assert.equal(s.messageId, `s${threshold - 1}`);
    assert.equal(state.consecutiveSoftBounces, threshold);
  });
  test(`threshold ${threshold}: ${threshold - 1} soft, delivery, ${threshold - 1} soft never suppress`, () => {
    const settings = { softBounceThreshold: threshold, suppressionDays: 180 };
    const steps: Step[] = [...softs(threshold - 1), ['delivered', 'd'], ...softs(threshold - 1, 's', threshold)];
    const { state, effects } = run(steps, settings);
    assert.equal(countEffects(effects), 0);
    assert.equal(state.suppression, null);
    assert.equal(state.consecutiveSoftBounces, threshold - 1);
  });
}

// ---------------------------------------------------------------------------------------------
// validateSettings
// ---------------------------------------------------------------------------------------------

const validSettings: ReputationSettings[] = [
  { softBounceThreshold: 1, suppressionDays: 180 },
  { softBounceThreshold: 5, suppressionDays: 180 },
  { softBounceThreshold: 20, suppressionDays: 180 },
  { softBounceThreshold: 5, suppressionDays: 1 },
  { softBounceThreshold: 5, suppressionDays: 3650 },
];
for (const s of validSettings) {
  test(`validateSettings accepts ${JSON.stringify(s)}`, () => {
    assert.equal(validateSettings(s), s);
  });
}

const invalidSettings: { name: string; s: ReputationSettings; field: RegExp }[] = [
  { name: 'threshold 0', s: { softBounceThreshold: 0, suppressionDays: 180 }, field: /THRESHOLD/ },
  { name: 'threshold 21', s: { softBounceThreshold: 21, suppressionDays: 180 }, field: /THRESHOLD/ },
  { name: 'threshold 2.5', s: { softBounceThreshold: 2.5, suppressionDays: 180 }, field: /THRESHOLD/ },
  { name: 'threshold NaN', s: { softBounceThreshold: NaN, suppressionDays: 180 }, field: /THRESHOLD/ },
  { name: 'threshold -1', s: { softBounceThreshold: -1, suppressionDays: 180 }, field: /THRESHOLD/ },
  { name: 'threshold Infinity', s: { softBounceThreshold: Infinity, suppressionDays: 180 }, field: /THRESHOLD/ },
  { name: 'suppressionDays 0', s: { softBounceThreshold: 5, suppressionDays: 0 }, field: /SUPPRESSION_DAYS/ },
  { name: 'suppressionDays -1', s: { softBounceThreshold: 5, suppressionDays: -1 }, field: /SUPPRESSION_DAYS/ },
  { name: 'suppressionDays -0', s: { softBounceThreshold: 5, suppressionDays: -0 }, field: /SUPPRESSION_DAYS/ },
  { name: 'suppressionDays NaN', s: { softBounceThreshold: 5, suppressionDays: NaN }, field: /SUPPRESSION_DAYS/ },
  { name: 'suppressionDays Infinity', s: { softBounceThreshold: 5, suppressionDays: Infinity }, field: /SUPPRESSION_DAYS/ },
];
for (const { name, s, field } of invalidSettings) {
  test(`validateSettings rejects ${name}`, () => {
    assert.throws(() => validateSettings(s), (err: unknown) => err instanceof RangeError && field.test(err.message));
  });
}

// ---------------------------------------------------------------------------------------------
// Hard bounces
// ---------------------------------------------------------------------------------------------

const SUPPRESSING: BounceCategory[] = ['unknown_user', 'unknown_domain', 'mailbox_disabled', 'invalid_address', 'permanent_failure'];
const NEVER: BounceCategory[] = ['policy_block', 'message_too_large'];

test('the hard categories are exactly the suppressing ones plus the never-suppressing ones', () => {
  assert.deepEqual([...HARD_CATEGORIES].sort(), [...SUPPRESSING, ...NEVER].sort());
});

for (const category of SUPPRESSING) {
  test(`hard bounce ${category} suppresses at once with reason hard_bounce`, () => {
    assert.equal(hardBounceSuppresses(category), true);
    const now = T0 + 3 * H;
    const state = initialReputationState(T0);
    const effect = applyOutcome(state, 'hardBounced', signal('h1', 'hardBounced', category), SETTINGS, now);
    assert.deepEqual(effect, {
      type: 'suppress',
      suppression: {
        reason: 'hard_bounce',
        category,
        source: 'auto',
        messageId: 'h1',
        reply: '550 5.1.1 No such user',
        since: iso(now),
        until: iso(now + 180 * D),
        actor: null,
        note: null,
      },
    });
    assert.ok(isActive(state.suppression, now));
    assert.equal(state.consecutiveSoftBounces, 0, 'a hard bounce is not a soft bounce');
    assert.equal(state.totals.hardBounced, 1);
  });
}

for (const category of NEVER) {
  test(`hard bounce ${category} never suppresses`, () => {
    assert.equal(hardBounceSuppresses(category), false);
    // Many of them, distinct ids, also after soft bounces just below the threshold.
    const steps: Step[] = [...softs(4), ...Array.from({ length: 30 }, (_, i): Step => ['hardBounced', `h${i}`, category])];
    const { state, effects } = run(steps);
    assert.equal(countEffects(effects), 0);
    assert.equal(state.suppression, null);
    assert.equal(state.totals.hardBounced, 30);
    assert.equal(state.consecutiveSoftBounces, 4);
  });
}

test('hard bounce reply text omits missing codes', () => {
  const state = initialReputationState(T0);
  const sig: ReputationSignal = { messageId: 'h', category: 'unknown_domain', reply: { code: null, enhanced: null, text: 'getaddrinfo ENOTFOUND' }, at: iso(T0) };
  const s = suppressionOf(applyOutcome(state, 'hardBounced', sig, SETTINGS, T0));
  assert.equal(s.reply, 'getaddrinfo ENOTFOUND');
});

// ---------------------------------------------------------------------------------------------
// While suppressed
// ---------------------------------------------------------------------------------------------

interface WhileSuppressedCase {
  name: string;
  first: Step[];
  then: Step[];
}

const whileSuppressed: WhileSuppressedCase[] = [
  { name: 'hard, then more hard bounces', first: [['hardBounced', 'h0']], then: [['hardBounced', 'h1'], ['hardBounced', 'h2', 'invalid_address']] },
  { name: 'hard, then soft bounces past the threshold', first: [['hardBounced', 'h0']], then: softs(7) },
  { name: 'soft threshold, then more soft bounces', first: softs(5), then: softs(6, 's', 5) },
  { name: 'soft threshold, then a suppressing hard bounce', first: softs(5), then: [['hardBounced', 'h0', 'unknown_user']] },
  { name: 'soft threshold, then delivery, then five soft', first: softs(5), then: [['delivered', 'd'], ...softs(5, 's', 5)] },
];

for (const c of whileSuppressed) {
  test(`while suppressed (${c.name}): no new suppression, totals and recent still update`, () => {
    const { state, effects: firstEffects } = run(c.first);
    const original = state.suppression;
    assert.ok(original);
    assert.equal(countEffects(firstEffects), 1);
    const totalsBefore = { ...state.totals };
    const base = c.first.length;
    c.then.forEach(([event, id, category], i) => {
      const now = T0 + (base + i) * M;
      const recentLen = state.recent.length;
      const effect = applyOutcome(state, event, signal(id, event, category, now), SETTINGS, now);
      assert.equal(effect, null, `no effect for ${event} ${id}`);
      assert.equal(state.suppression, original, 'suppression unchanged');
      const cat = category ?? DEFAULT_CATEGORY[event];
      assert.deepEqual(state.recent.at(-1), { type: event, at: iso(now), messageId: id, category: cat, scope: USUAL_SCOPE[cat], counted: true });
      assert.equal(state.recent.length, Math.min(RECENT_EVENTS, recentLen + 1));
      assert.equal(state.lastEventAtMs, now);
    });
    for (const event of ['delivered', 'softBounced', 'hardBounced'] as const) {
      assert.equal(state.totals[event], totalsBefore[event] + c.then.filter(([e]) => e === event).length, `totals.${event}`);
    }
  });
}

test('an expired suppression no longer blocks a new one', () => {
  const { state } = run([['hardBounced', 'h0']]);
  const first = state.suppression;
  assert.ok(first);
  const later = Date.parse(first.until!) + 1;
  const effect = applyOutcome(state, 'hardBounced', signal('h1', 'hardBounced', 'unknown_user', later), SETTINGS, later);
  const s = suppressionOf(effect);
  assert.notEqual(s, first);
  assert.equal(s.messageId, 'h1');
  assert.equal(s.until, iso(later + 180 * D));
});

test('an operator suppression without expiry blocks automatic ones forever', () => {
  const state = initialReputationState(T0);
  const manual: Suppression = { reason: 'manual', category: null, source: 'manual', messageId: null, reply: null, since: iso(T0), until: null, actor: 'ops@example.com', note: 'asked' };
  assert.deepEqual(suppress(state, manual), { type: 'suppress', suppression: manual });
  assert.deepEqual(state.recent.at(-1), { type: 'suppressed', at: iso(T0), reason: 'manual', messageId: undefined, category: undefined, actor: 'ops@example.com' });
  const far = T0 + 10 * 365 * D;
  assert.equal(applyOutcome(state, 'hardBounced', signal('h', 'hardBounced', 'unknown_user', far), SETTINGS, far), null);
  assert.equal(state.suppression, manual);
  assert.ok(isActive(state.suppression, far));
});

// ---------------------------------------------------------------------------------------------
// lift
// ---------------------------------------------------------------------------------------------

test('lift returns a lift effect, clears the suppression and resets the count', () => {
  const { state } = run([...softs(5), ...softs(2, 's', 5)]);
  assert.ok(state.suppression);
  assert.equal(state.consecutiveSoftBounces, 7);
  const now = T0 + D;
  const effect = lift(state, 'operator', 'ops@example.com', now);
  assert.deepEqual(effect, { type: 'lift', reason: 'operator', actor: 'ops@example.com', at: iso(now) });
  assert.equal(state.suppression, null);
  assert.equal(state.consecutiveSoftBounces, 0);
  assert.deepEqual(state.recent.at(-1), { type: 'lifted', at: iso(now), reason: 'operator', actor: 'ops@example.com' });
  assert.ok(!isActive(state.suppression, now));
  // The count starts again: four more soft bounces do not suppress, the fifth does.
  const after = softs(5, 'n').map(([e, id], i) => {
    const t = now + (i + 1) * M;
    return applyOutcome(state, e, signal(id, e, undefined, t), SETTINGS, t);
  });
  assert.deepEqual(after.slice(0, 4), [null, null, null, null]);
  assert.equal(suppressionOf(after[4]).messageId, 'n4');
});

test('lift by expiry (no actor) of an expired suppression', () => {
  const { state } = run([['hardBounced', 'h0']]);
  const until = Date.parse(state.suppression!.until!);
  assert.deepEqual(lift(state, 'expired', null, until), { type: 'lift', reason: 'expired', actor: null, at: iso(until) });
  assert.equal(state.suppression, null);
});

test('lift on an unsuppressed state returns null and changes nothing', () => {
  const { state } = run(softs(3));
  const before = structuredClone(state);
  assert.equal(lift(state, 'operator', 'ops', T0 + D), null);
  assert.deepEqual(state, before);
  assert.equal(lift(initialReputationState(T0), 'expired', null, T0), null);
});

test('a second lift returns null', () => {
  const { state } = run([['hardBounced', 'h0']]);
  assert.ok(lift(state, 'operator', null, T0 + H));
  assert.equal(lift(state, 'operator', null, T0 + 2 * H), null);
});

// ---------------------------------------------------------------------------------------------
// isActive
// ---------------------------------------------------------------------------------------------

const baseSuppression: Suppression = { reason: 'hard_bounce', category: 'unknown_user', source: 'auto', messageId: 'm', reply: null, since: iso(T0), until: iso(T0 + D), actor: null, note: null };
const activeCases: { name: string; s: Suppression | null; now: number; active: boolean }[] = [
  { name: 'null', s: null, now: T0, active: false },
  { name: 'before until', s: baseSuppression, now: T0, active: true },
  { name: '1 ms before until', s: baseSuppression, now: T0 + D - 1, active: true },
  { name: 'exactly at until', s: baseSuppression, now: T0 + D, active: false },
  { name: 'after until', s: baseSuppression, now: T0 + 2 * D, active: false },
  { name: 'until null, now', s: { ...baseSuppression, until: null }, now: T0, active: true },
  { name: 'until null, 100 years later', s: { ...baseSuppression, until: null }, now: T0 + 36500 * D, active: true },
];
for (const c of activeCases) {
  test(`isActive: ${c.name} -> ${c.active}`, () => {
    assert.equal(isActive(c.s, c.now), c.active);
  });
}

// ---------------------------------------------------------------------------------------------
// recent and totals
// ---------------------------------------------------------------------------------------------

test('recent keeps only the last 20 entries, newest last; totals count every distinct event', () => {
  const state = initialReputationState(T0);
  const events: ReputationEventType[] = ['delivered', 'softBounced', 'hardBounced'];
  const n = 50;
  const settings = { softBounceThreshold: 20, suppressionDays: 180 };
  for (let i = 0; i < n; i++) {
    const event = events[i % 3];
    // Non-suppressing hard category, so the list holds only outcome entries.
    const category: BounceCategory = event === 'hardBounced' ? 'policy_block' : DEFAULT_CATEGORY[event];
    const now = T0 + i * M;
    applyOutcome(state, event, signal(`m${i}`, event, category, now), settings, now);
    // Every duplicate is ignored.
    applyOutcome(state, event, signal(`m${i}`, event, category, now + 1), settings, now + 1);
    assert.ok(state.recent.length <= RECENT_EVENTS);
  }
  assert.equal(state.recent.length, RECENT_EVENTS);
  assert.deepEqual(
    state.recent.map((e) => e.messageId),
    Array.from({ length: 20 }, (_, i) => `m${n - 20 + i}`),
  );
  assert.deepEqual(state.recent.at(-1), { type: events[(n - 1) % 3], at: iso(T0 + (n - 1) * M), messageId: `m${n - 1}`, category: DEFAULT_CATEGORY[events[(n - 1) % 3]], scope: 'recipient', counted: true });
  assert.deepEqual(state.totals, { delivered: 17, softBounced: 17, hardBounced: 16 });
  assert.equal(state.lastEventAtMs, T0 + (n - 1) * M);
});

test('recent also records suppressed and lifted entries in order', () => {
  const { state } = run(softs(5));
  assert.deepEqual(
    state.recent.map((e) => e.type),
    ['softBounced', 'softBounced', 'softBounced', 'softBounced', 'softBounced', 'suppressed'],
  );
  assert.deepEqual(state.recent.at(-1), { type: 'suppressed', at: iso(T0 + 4 * M), reason: 'soft_bounce_threshold', messageId: 's4', category: 'mailbox_full', actor: null });
  lift(state, 'expired', null, T0 + 181 * D);
  assert.equal(state.recent.at(-1)?.type, 'lifted');
  assert.equal(state.recent.length, 7);
  assert.deepEqual(state.totals, { delivered: 0, softBounced: 5, hardBounced: 0 });
});

test('totals: duplicates never count, the same id under different events counts per event', () => {
  const { state } = run([
    ['softBounced', 'a'],
    ['softBounced', 'a'],
    ['delivered', 'a'],
    ['delivered', 'a'],
    ['hardBounced', 'a', 'policy_block'],
    ['hardBounced', 'a', 'policy_block'],
    ['softBounced', 'b'],
  ]);
  assert.deepEqual(state.totals, { delivered: 1, softBounced: 2, hardBounced: 1 });
  assert.equal(state.recent.length, 4);
});

// ---------------------------------------------------------------------------------------------
// Bounded dedup memory
// ---------------------------------------------------------------------------------------------

test(`dedup memory keeps at most DEDUP_MAX_KEYS (${DEDUP_MAX_KEYS}) keys, forgetting the oldest`, () => {
  const state = initialReputationState(T0);
  const total = DEDUP_MAX_KEYS + 10;
  for (let i = 0; i < total; i++) {
    applyOutcome(state, 'delivered', signal(`m${i}`, 'delivered', undefined, T0 + i), SETTINGS, T0 + i);
    assert.ok(state.seen.length <= DEDUP_MAX_KEYS);
  }
  assert.equal(state.seen.length, DEDUP_MAX_KEYS);
  assert.deepEqual(state.seen[0], ['delivered:m10', T0 + 10]);
  assert.deepEqual(state.seen.at(-1), [`delivered:m${total - 1}`, T0 + total - 1]);
  assert.equal(state.totals.delivered, total);
  // A remembered id is still ignored; a forgotten one counts again.
  const now = T0 + total;
  assert.equal(applyOutcome(state, 'delivered', signal('m10', 'delivered'), SETTINGS, now), null);
  assert.equal(state.totals.delivered, total);
  applyOutcome(state, 'delivered', signal('m0', 'delivered'), SETTINGS, now);
  assert.equal(state.totals.delivered, total + 1);
  assert.equal(state.seen.length, DEDUP_MAX_KEYS);
});

test('dedup memory forgets keys older than DEDUP_WINDOW_MS', () => {
  const state = initialReputationState(T0);
  applyOutcome(state, 'softBounced', signal('old', 'softBounced'), SETTINGS, T0);
  applyOutcome(state, 'softBounced', signal('mid', 'softBounced'), SETTINGS, T0 + D);
  // Within the window a repeat is ignored.
  assert.equal(applyOutcome(state, 'softBounced', signal('old', 'softBounced'), SETTINGS, T0 + DEDUP_WINDOW_MS), null);
  assert.equal(state.totals.softBounced, 2);
  // A key exactly DEDUP_WINDOW_MS old is still kept when a new event prunes.
  applyOutcome(state, 'delivered', signal('n1', 'delivered'), SETTINGS, T0 + DEDUP_WINDOW_MS);
  assert.deepEqual(state.seen.map(([k]) => k), ['softBounced:old', 'softBounced:mid', 'delivered:n1']);
  // One ms later, a new event prunes the key of `old` but keeps `mid`.
  applyOutcome(state, 'delivered', signal('n2', 'delivered'), SETTINGS, T0 + DEDUP_WINDOW_MS + 1);
  assert.deepEqual(state.seen.map(([k]) => k), ['softBounced:mid', 'delivered:n1', 'delivered:n2']);
  assert.ok(state.seen.every(([, at]) => T0 + DEDUP_WINDOW_MS + 1 - at <= DEDUP_WINDOW_MS));
  // The forgotten id counts again.
  const later = T0 + DEDUP_WINDOW_MS + 2;
  applyOutcome(state, 'softBounced', signal('old', 'softBounced'), SETTINGS, later);
  assert.equal(state.totals.softBounced, 3);
  assert.equal(state.seen.at(-1)?.[0], 'softBounced:old');
  // Far later, only the newest key survives.
  const far = later + 2 * DEDUP_WINDOW_MS;
  applyOutcome(state, 'delivered', signal('n3', 'delivered'), SETTINGS, far);
  assert.deepEqual(state.seen, [['delivered:n3', far]]);
});

test('only expired sends whose reply says the mailbox is unusable count towards the threshold', () => {
  const counting: BounceCategory[] = SOFT_CATEGORIES.filter((c) => c === 'mailbox_full' || c === 'temporary_failure');
  assert.deepEqual(counting, ['mailbox_full', 'temporary_failure']);
  for (const category of SOFT_CATEGORIES) {
    const { effects, state } = run(Array.from({ length: 5 }, (_, i): Step => ['softBounced', `${category}${i}`, category]));
    const counts = counting.includes(category);
    assert.equal(countEffects(effects), counts ? 1 : 0, category);
    assert.equal(state.consecutiveSoftBounces, counts ? 5 : 0, category);
    assert.equal(state.totals.softBounced, 5, `${category}: every expired send is heard`);
    assert.equal(state.recent.filter((e) => e.type === 'softBounced').every((e) => e.counted === counts), true, category);
  }
});

test('a rate limit about the mailbox (Gmail 4.2.1) never counts, a full mailbox about the destination neither', () => {
  const state = initialReputationState(T0);
  for (let i = 0; i < 6; i++) applyOutcome(state, 'softBounced', signal(`r${i}`, 'softBounced', 'rate_limited', T0, 'recipient'), SETTINGS, T0 + i);
  for (let i = 0; i < 6; i++) applyOutcome(state, 'softBounced', signal(`f${i}`, 'softBounced', 'mailbox_full', T0, 'destination'), SETTINGS, T0 + i);
  assert.equal(state.consecutiveSoftBounces, 0);
  assert.equal(state.suppression, null);
  assert.match(state.recent[0].why ?? '', /rate limit/);
  assert.match(state.recent[state.recent.length - 1].why ?? '', /destination scope/);
});

test('a soft bounce reported while retrying (an older worker: no scope) counts nothing, and its send still counts when it expires', () => {
  const state = initialReputationState(T0);
  const retrying = { ...signal('m1', 'softBounced'), scope: undefined };
  assert.equal(applyOutcome(state, 'softBounced', retrying, SETTINGS, T0), null);
  assert.equal(state.consecutiveSoftBounces, 0);
  assert.equal(state.totals.softBounced, 0);
  assert.equal(state.recent[0].counted, false);
  applyOutcome(state, 'softBounced', signal('m1', 'softBounced'), SETTINGS, T0 + H);
  assert.equal(state.consecutiveSoftBounces, 1);
});

test('hard bounces suppress only when the address is at fault: recipient scope, or unknown_domain', () => {
  const cases: [BounceCategory, ReplyScope, boolean][] = [
    ['unknown_user', 'recipient', true],
    ['permanent_failure', 'recipient', true],
    ['permanent_failure', 'destination', false],
    ['permanent_failure', 'sender', false],
    ['unknown_domain', 'destination', true],
    ['policy_block', 'recipient', false],
    ['message_too_large', 'message', false],
  ];
  for (const [category, scope, suppresses] of cases) {
    const state = initialReputationState(T0);
    const effect = applyOutcome(state, 'hardBounced', signal('h', 'hardBounced', category, T0, scope), SETTINGS, T0);
    assert.equal(effect?.type === 'suppress', suppresses, `${category}/${scope}`);
  }
});

test('legacy rules (histories recorded before scopes): every soft-bouncing send counted at once', () => {
  const state = initialReputationState(T0);
  const effects = [...SOFT_CATEGORIES, ...SOFT_CATEGORIES].slice(0, 5).map((c, i) => applyLegacyOutcome(state, 'softBounced', { ...signal(`c${i}`, 'softBounced', c), scope: undefined }, SETTINGS, T0 + i));
  assert.equal(suppressionOf(effects[4]).reason, 'soft_bounce_threshold');
  assert.equal(state.consecutiveSoftBounces, 5);
});

test('state survives a JSON round trip (continue-as-new) and keeps deduplicating', () => {
  const { state } = run(softs(4));
  const copy = JSON.parse(JSON.stringify(state)) as ReputationState;
  assert.deepEqual(copy, state);
  assert.equal(applyOutcome(copy, 'softBounced', signal('s3', 'softBounced'), SETTINGS, T0 + H), null);
  assert.equal(copy.consecutiveSoftBounces, 4);
  const s = suppressionOf(applyOutcome(copy, 'softBounced', signal('s4', 'softBounced'), SETTINGS, T0 + H));
  assert.equal(s.messageId, 's4');
});
