// Retry policy per recipient domain (README "Retry policy per domain"): which rule matches an
// address and how a schedule is built field by field. Tables, one row per precedence case.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  domainKeyProblem,
  matchDomainRule,
  normaliseDomainKey,
  planSchedules,
  type DomainRule,
  type ScheduleFields,
} from '../../src/domains/policy';
import { PROFILES, resolveSchedule } from '../../src/delivery/schedule';
import type { ProfileName, RetrySchedule, SchedulePlan, ScheduleSource } from '../../src/delivery/contract';

const S = 1_000;
const M = 60 * S;
const H = 60 * M;

/** A rule as the config-file loader builds it. */
function rule(key: string, given: ScheduleFields): DomainRule {
  const { schedule, profile } = resolveSchedule(given);
  return { pattern: normaliseDomainKey(key), schedule, profile, given };
}

function copy(schedule: RetrySchedule): RetrySchedule {
  return { delaysMs: [...schedule.delaysMs], deadlineMs: schedule.deadlineMs };
}

// ---------------------------------------------------------------------------------------------
// matchDomainRule

const matchRules = [
  rule('example.org', { profile: 'urgent' }),
  rule('*.example.com', { profile: 'bulk' }),
  rule('*.eu.example.com', { profile: 'urgent' }),
  rule('special.example.com', { deadline: '1h' }),
  rule('*.co.uk', { deadline: '2h' }),
  rule('münchen.de', { deadline: '3h' }),
];

const matchCases: { domain: string; expected: string | null; why: string }[] = [
  { domain: 'example.org', expected: 'example.org', why: 'exact key' },
  { domain: '  EXAMPLE.Org ', expected: 'example.org', why: 'trimmed and case-insensitive' },
  { domain: 'mail.example.org', expected: null, why: 'an exact key does not cover subdomains' },
  { domain: 'a.example.com', expected: '*.example.com', why: 'pattern, one level' },
  { domain: 'a.b.c.example.com', expected: '*.example.com', why: 'pattern, any depth' },
  { domain: 'A.Example.COM', expected: '*.example.com', why: 'pattern, case-insensitive' },
  { domain: 'example.com', expected: null, why: '*.example.com does not match example.com itself' },
  { domain: 'badexample.com', expected: null, why: 'the suffix starts at a label boundary' },
  { domain: 'x.eu.example.com', expected: '*.eu.example.com', why: 'longest suffix wins' },
  { domain: 'y.x.eu.example.com', expected: '*.eu.example.com', why: 'longest suffix wins at depth' },
  { domain: 'eu.example.com', expected: '*.example.com', why: '*.eu.example.com does not match its own suffix' },
  { domain: 'special.example.com', expected: 'special.example.com', why: 'exact beats a pattern' },
  { domain: 'sub.special.example.com', expected: '*.example.com', why: 'an exact key is not a pattern' },
  { domain: 'shop.co.uk', expected: '*.co.uk', why: 'pattern on a public suffix' },
  { domain: 'münchen.de', expected: 'münchen.de', why: 'IDN as written' },
  { domain: 'xn--mnchen-3ya.de', expected: null, why: 'no punycode conversion' },
  { domain: '', expected: null, why: 'no domain' },
];

for (const { domain, expected, why } of matchCases) {
  test(`matchDomainRule(${JSON.stringify(domain)}) -> ${expected}: ${why}`, () => {
    assert.equal(matchDomainRule(domain, matchRules)?.pattern ?? null, expected);
    // The order of the rules never matters: exact first, then the longest suffix.
    assert.equal(matchDomainRule(domain, [...matchRules].reverse())?.pattern ?? null, expected);
  });
}

test('matchDomainRule with no rules matches nothing', () => {
  assert.equal(matchDomainRule('example.org', []), null);
});

// ---------------------------------------------------------------------------------------------
// domain keys

const keyCases: { key: string; problem: RegExp | null }[] = [
  { key: 'example.org', problem: null },
  { key: '*.example.com', problem: null },
  { key: 'localhost', problem: null },
  { key: 'xn--mnchen-3ya.de', problem: null },
  { key: 'münchen.de', problem: null },
  { key: '*.例え.jp', problem: null },
  { key: 'a-b.example', problem: null },
  { key: '', problem: /empty/ },
  { key: 'exa_mple.com', problem: /"exa_mple" is not a valid label/ },
  { key: 'exa mple.com', problem: /not a valid label/ },
  { key: '-a.com', problem: /not a valid label/ },
  { key: 'a-.com', problem: /not a valid label/ },
  { key: 'example..com', problem: /empty label/ },
  { key: '.example.com', problem: /empty label/ },
  { key: 'example.com.', problem: /trailing dot/ },
  { key: '*', problem: /wildcard/ },
  { key: '*.*.example.com', problem: /wildcard/ },
  { key: 'foo.*.com', problem: /wildcard/ },
  { key: '*example.com', problem: /wildcard/ },
  { key: '*.', problem: /empty/ },
  { key: `${'a'.repeat(64)}.com`, problem: /at most 63/ },
  { key: `${'a.'.repeat(127)}com`, problem: /at most 253/ },
  { key: 'user@example.com', problem: /not a valid label/ },
];

for (const { key, problem } of keyCases) {
  test(`domain key ${JSON.stringify(key.length > 40 ? `${key.slice(0, 20)}...` : key)} is ${problem ? 'rejected' : 'accepted'}`, () => {
    const found = domainKeyProblem(key);
    if (problem === null) assert.equal(found, null);
    else assert.match(found ?? '', problem);
  });
}

// ---------------------------------------------------------------------------------------------
// planSchedules: precedence, one recipient at a time

const rules = [
  rule('example.org', { profile: 'urgent' }),
  rule('*.example.com', { delays: ['1m', '10m', '1h'], deadline: '24h' }),
  rule('yahoo.com', { profile: 'bulk', deadline: '48h' }),
  rule('deadline.test', { deadline: '12h' }),
  rule('delays.test', { delays: ['4h'] }),
];

interface Expected {
  delaysMs: number[];
  deadlineMs: number;
  profile: ProfileName | 'custom';
  source: ScheduleSource;
  rule: string | null;
}

const { standard, urgent, bulk } = PROFILES;
const precedence: { name: string; message: ScheduleFields; to: string; expected: Expected }[] = [
  {
    name: 'no message fields, no rule: the standard profile',
    message: {},
    to: 'a@gmail.com',
    expected: { ...copy(standard), profile: 'standard', source: 'default', rule: null },
  },
  {
    name: 'a rule naming a profile',
    message: {},
    to: 'a@example.org',
    expected: { ...copy(urgent), profile: 'urgent', source: 'domain', rule: 'example.org' },
  },
  {
    name: 'a rule with delays and a deadline',
    message: {},
    to: 'a@mx.example.com',
    expected: { delaysMs: [1 * M, 10 * M, 1 * H], deadlineMs: 24 * H, profile: 'custom', source: 'domain', rule: '*.example.com' },
  },
  {
    name: "a rule's deadline overrides its profile's",
    message: {},
    to: 'a@yahoo.com',
    expected: { delaysMs: [...bulk.delaysMs], deadlineMs: 48 * H, profile: 'custom', source: 'domain', rule: 'yahoo.com' },
  },
  {
    name: 'a rule with only a deadline keeps the standard delays',
    message: {},
    to: 'a@deadline.test',
    expected: { delaysMs: [...standard.delaysMs], deadlineMs: 12 * H, profile: 'custom', source: 'domain', rule: 'deadline.test' },
  },
  {
    name: "the message's profile beats the domain's delays and deadline",
    message: { profile: 'bulk' },
    to: 'a@mx.example.com',
    expected: { ...copy(bulk), profile: 'bulk', source: 'message', rule: null },
  },
  {
    name: "the message's profile beats the domain's profile",
    message: { profile: 'standard' },
    to: 'a@example.org',
    expected: { ...copy(standard), profile: 'standard', source: 'message', rule: null },
  },
  {
    name: "the message's profile without a rule",
    message: { profile: 'urgent' },
    to: 'a@gmail.com',
    expected: { ...copy(urgent), profile: 'urgent', source: 'message', rule: null },
  },
  {
    name: 'message deadline only: the delays still come from the domain rule',
    message: { deadline: '6h' },
    to: 'a@mx.example.com',
    expected: { delaysMs: [1 * M, 10 * M, 1 * H], deadlineMs: 6 * H, profile: 'custom', source: 'domain', rule: '*.example.com' },
  },
  {
    name: "message deadline only: the delays come from the rule's profile",
    message: { deadline: '6h' },
    to: 'a@example.org',
    expected: { delaysMs: [...urgent.delaysMs], deadlineMs: 6 * H, profile: 'custom', source: 'domain', rule: 'example.org' },
  },
  {
    name: 'message deadline shorter than a domain delay: allowed (last attempt at the deadline)',
    message: { deadline: '1h' },
    to: 'a@delays.test',
    expected: { delaysMs: [4 * H], deadlineMs: 1 * H, profile: 'custom', source: 'domain', rule: 'delays.test' },
  },
  {
    name: 'message deadline only, no rule: standard delays, source message',
    message: { deadline: '6h' },
    to: 'a@gmail.com',
    expected: { delaysMs: [...standard.delaysMs], deadlineMs: 6 * H, profile: 'custom', source: 'message', rule: null },
  },
  {
    name: "message delays only: the deadline comes from the rule",
    message: { delays: ['2m'] },
    to: 'a@yahoo.com',
    expected: { delaysMs: [2 * M], deadlineMs: 48 * H, profile: 'custom', source: 'domain', rule: 'yahoo.com' },
  },
  {
    name: "message delays only: the deadline comes from the rule's profile",
    message: { delays: [30_000] },
    to: 'a@example.org',
    expected: { delaysMs: [30 * S], deadlineMs: urgent.deadlineMs, profile: 'custom', source: 'domain', rule: 'example.org' },
  },
  {
    name: 'message delays only, a rule with delays only: nothing comes from the rule, so no rule',
    message: { delays: ['2m'] },
    to: 'a@delays.test',
    expected: { delaysMs: [2 * M], deadlineMs: standard.deadlineMs, profile: 'custom', source: 'message', rule: null },
  },
  {
    name: 'message delays and deadline: no rule applies',
    message: { delays: ['2m'], deadline: '2h' },
    to: 'a@mx.example.com',
    expected: { delaysMs: [2 * M], deadlineMs: 2 * H, profile: 'custom', source: 'message', rule: null },
  },
  {
    name: "message profile and deadline: the message's own deadline wins over its profile's",
    message: { profile: 'urgent', deadline: '1h' },
    to: 'a@yahoo.com',
    expected: { delaysMs: [...urgent.delaysMs], deadlineMs: 1 * H, profile: 'custom', source: 'message', rule: null },
  },
  {
    name: "message profile and delays: the profile's deadline wins over the rule's",
    message: { profile: 'bulk', delays: ['3m'] },
    to: 'a@mx.example.com',
    expected: { delaysMs: [3 * M], deadlineMs: bulk.deadlineMs, profile: 'custom', source: 'message', rule: null },
  },
  {
    name: 'the address domain is matched case-insensitively',
    message: {},
    to: 'Bob@Example.ORG',
    expected: { ...copy(urgent), profile: 'urgent', source: 'domain', rule: 'example.org' },
  },
];

for (const { name, message, to, expected } of precedence) {
  test(`planSchedules: ${name}`, () => {
    const plans = planSchedules(message, [to], rules);
    const { delaysMs, deadlineMs, ...rest } = expected;
    assert.deepEqual(plans, [{ recipients: [to], schedule: { delaysMs, deadlineMs }, ...rest }]);
  });
}

// ---------------------------------------------------------------------------------------------
// planSchedules: grouping

function summary(plans: SchedulePlan[]): { recipients: string[]; rule: string | null; source: ScheduleSource }[] {
  return plans.map(({ recipients, rule: r, source }) => ({ recipients, rule: r, source }));
}

test('planSchedules groups recipients by schedule, in the order of the first recipient', () => {
  const plans = planSchedules(
    {},
    ['a@gmail.com', 'b@x.example.com', 'c@example.org', 'd@y.example.com', 'e@hotmail.com', 'f@example.org'],
    rules,
  );
  assert.deepEqual(summary(plans), [
    { recipients: ['a@gmail.com', 'e@hotmail.com'], rule: null, source: 'default' },
    { recipients: ['b@x.example.com', 'd@y.example.com'], rule: '*.example.com', source: 'domain' },
    { recipients: ['c@example.org', 'f@example.org'], rule: 'example.org', source: 'domain' },
  ]);
});

test('planSchedules keeps two rules with the same schedule apart (the rule differs)', () => {
  const twins = [rule('one.test', { profile: 'bulk' }), rule('two.test', { profile: 'bulk' })];
  const plans = planSchedules({}, ['a@one.test', 'b@two.test', 'c@one.test'], twins);
  assert.deepEqual(summary(plans), [
    { recipients: ['a@one.test', 'c@one.test'], rule: 'one.test', source: 'domain' },
    { recipients: ['b@two.test'], rule: 'two.test', source: 'domain' },
  ]);
  assert.deepEqual(plans[0].schedule, plans[1].schedule);
});

test("planSchedules: a message profile overrides every domain, so one plan", () => {
  const plans = planSchedules({ profile: 'urgent' }, ['a@gmail.com', 'b@x.example.com', 'c@yahoo.com'], rules);
  assert.deepEqual(plans, [
    {
      recipients: ['a@gmail.com', 'b@x.example.com', 'c@yahoo.com'],
      schedule: copy(urgent),
      profile: 'urgent',
      source: 'message',
      rule: null,
    },
  ]);
});

test('planSchedules: a message deadline splits by domain delays', () => {
  const plans = planSchedules({ deadline: '2h' }, ['a@gmail.com', 'b@x.example.com', 'c@delays.test'], rules);
  assert.deepEqual(
    plans.map((p) => [p.recipients, p.schedule.delaysMs, p.schedule.deadlineMs, p.source]),
    [
      [['a@gmail.com'], [...standard.delaysMs], 2 * H, 'message'],
      [['b@x.example.com'], [1 * M, 10 * M, 1 * H], 2 * H, 'domain'],
      [['c@delays.test'], [4 * H], 2 * H, 'domain'],
    ],
  );
});

test('planSchedules with no recipients has no plans', () => {
  assert.deepEqual(planSchedules({}, [], rules), []);
});

test('planSchedules returns fresh schedules: changing one changes neither the profiles nor the rules', () => {
  const plans = planSchedules({}, ['a@gmail.com', 'b@x.example.com'], rules);
  plans[0].schedule.delaysMs.push(1);
  plans[1].schedule.delaysMs.push(1);
  assert.deepEqual(PROFILES.standard.delaysMs, [5 * M, 15 * M, 1 * H, 4 * H]);
  assert.deepEqual(rules[1].schedule.delaysMs, [1 * M, 10 * M, 1 * H]);
  assert.deepEqual(planSchedules({}, ['a@gmail.com'], rules)[0].schedule.delaysMs, [...standard.delaysMs]);
});
