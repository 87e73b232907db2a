// Domain health as pure logic: windows, rates, verdict boundaries (README "Domain health"), ranking, and the
// checks of what callers ask for.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DomainHealth } from '../../src/domains/contract';
import {
  checkedDomain,
  domainHealth,
  HEALTH_THRESHOLDS,
  listQuery,
  messageIdOfWorkflow,
  parseWindow,
  rankDomains,
  rate,
  retryingQuery,
  verdictOf,
  worseVerdict,
  zeroCounts,
  type DomainCounts,
} from '../../src/domains/health';
import { ValidationError } from '../../src/errors';

const fails = (fn: () => unknown, field: string): void => {
  assert.throws(fn, (err: unknown) => err instanceof ValidationError && err.field === field);
};

test('parseWindow takes whole hours or days up to 30 days', () => {
  const cases: [string, string, number][] = [
    ['1h', '1h', 1],
    ['24h', '24h', 24],
    ['7d', '7d', 168],
    [' 7D ', '7d', 168],
    ['036h', '36h', 36],
    ['30d', '30d', 720],
    ['720h', '720h', 720],
  ];
  for (const [input, label, hours] of cases) assert.deepEqual(parseWindow(input), { label, hours }, input);
});

test('parseWindow rejects anything else with a ValidationError naming window', () => {
  for (const bad of ['', '0h', '0d', '31d', '721h', '1.5h', '-1h', '1w', '90m', 'h', '24', '1h30m', 24, null, undefined]) {
    fails(() => parseWindow(bad), 'window');
  }
  assert.throws(() => parseWindow('31d'), /^ValidationError: Invalid field "window": .*30d.*got "31d"$/);
});

test('rates are 0 when there is nothing to divide by', () => {
  assert.equal(rate(0, 0), 0);
  assert.equal(rate(5, 0), 0);
  assert.equal(rate(1, 4), 0.25);
});

test('verdict boundaries: under 2 % healthy, 2 % to 5 % inclusive watch, over 5 % bad', () => {
  const cases: [number, number, string][] = [
    [0, 10_000, 'healthy'],
    [199, 10_000, 'healthy'],
    [200, 10_000, 'watch'],
    [2, 100, 'watch'],
    [1, 50, 'watch'],
    [350, 10_000, 'watch'],
    [500, 10_000, 'watch'],
    [5, 100, 'watch'],
    [501, 10_000, 'bad'],
    [1, 1, 'bad'],
  ];
  for (const [part, whole, verdict] of cases) assert.equal(verdictOf(rate(part, whole)), verdict, `${part}/${whole}`);
  assert.deepEqual(HEALTH_THRESHOLDS, { watch: 0.02, bad: 0.05 });
});

test('worseVerdict picks the worse of two', () => {
  assert.equal(worseVerdict('healthy', 'healthy'), 'healthy');
  assert.equal(worseVerdict('healthy', 'watch'), 'watch');
  assert.equal(worseVerdict('bad', 'watch'), 'bad');
  assert.equal(worseVerdict('watch', 'bad'), 'bad');
});

const counts = (domain: string, c: Partial<DomainCounts>): DomainCounts => ({ ...zeroCounts(domain), ...c });

test('domainHealth: soft rate over attempts, hard rate over sends, the worse verdict wins', () => {
  const h = domainHealth(counts('example.org', { attempts: 1000, sends: 400, delivered: 950, softRecipient: 10, softDestination: 5, softSender: 3, softMessage: 1, hard: 21, expired: 2 }), '24h');
  assert.deepEqual(h.softBounces, { recipient: 10, destination: 5, sender: 3, message: 1, total: 19 });
  assert.equal(h.softBounceRate, 0.019);
  assert.equal(h.hardBounceRate, 21 / 400);
  assert.deepEqual([h.softVerdict, h.hardVerdict, h.verdict], ['healthy', 'bad', 'bad']);
  assert.deepEqual([h.domain, h.window, h.attempts, h.sends, h.delivered, h.hardBounces, h.expired], ['example.org', '24h', 1000, 400, 950, 21, 2]);

  const empty = domainHealth(zeroCounts('quiet.example'), '1h');
  assert.deepEqual([empty.softBounceRate, empty.hardBounceRate, empty.verdict], [0, 0, 'healthy']);
});

function health(domain: string, attempts: number, soft: number, sends: number, hard: number): DomainHealth {
  return domainHealth(counts(domain, { attempts, sends, softRecipient: soft, hard }), '24h');
}

const LIST = [
  health('b.example', 100, 1, 100, 0), // 1 %
  health('a.example', 100, 10, 100, 0), // 10 % soft
  health('c.example', 5000, 100, 4000, 0), // 2 %
  health('d.example', 50, 0, 50, 5), // 10 % hard
  health('e.example', 5000, 0, 5000, 0), // 0 %
];
const names = (l: DomainHealth[]): string[] => l.map((h) => h.domain);

test('rankDomains sorts by volume, worst rate or name, with stable tie-breaks', () => {
  const all = { limit: 100, verdict: null };
  assert.deepEqual(names(rankDomains([...LIST], { sort: 'volume', ...all })), ['c.example', 'e.example', 'a.example', 'b.example', 'd.example']);
  // Equal worst rates (10 %): more attempts first.
  assert.deepEqual(names(rankDomains([...LIST], { sort: 'rate', ...all })), ['a.example', 'd.example', 'c.example', 'b.example', 'e.example']);
  assert.deepEqual(names(rankDomains([...LIST], { sort: 'domain', ...all })), ['a.example', 'b.example', 'c.example', 'd.example', 'e.example']);
});

test('rankDomains filters by verdict before the limit', () => {
  assert.deepEqual(names(rankDomains([...LIST], { sort: 'volume', limit: 1, verdict: 'bad' })), ['a.example']);
  assert.deepEqual(names(rankDomains([...LIST], { sort: 'rate', limit: 10, verdict: 'watch' })), ['c.example']);
  assert.deepEqual(names(rankDomains([...LIST], { sort: 'volume', limit: 2, verdict: null })), ['c.example', 'e.example']);
});

test('listQuery fills in the defaults and names the bad option', () => {
  assert.deepEqual(listQuery({}), { window: { label: '24h', hours: 24 }, sort: 'volume', limit: 100, verdict: null });
  assert.deepEqual(listQuery({ window: '7d', sort: 'rate', limit: 10_000, verdict: 'bad' }), { window: { label: '7d', hours: 168 }, sort: 'rate', limit: 10_000, verdict: 'bad' });
  fails(() => listQuery({ limit: 0 }), 'limit');
  fails(() => listQuery({ limit: 10_001 }), 'limit');
  fails(() => listQuery({ limit: 1.5 }), 'limit');
  fails(() => listQuery({ limit: NaN }), 'limit');
  fails(() => listQuery({ sort: 'worst' as never }), 'sort');
  fails(() => listQuery({ verdict: 'ok' as never }), 'verdict');
  fails(() => listQuery({ window: '2w' }), 'window');
});

test('checkedDomain normalises a domain and rejects what cannot be one', () => {
  assert.equal(checkedDomain('  Example.ORG '), 'example.org');
  assert.equal(checkedDomain('mx.bücher.example'), 'mx.bücher.example');
  for (const bad of ['', '   ', 'alice@example.org', 'example', 'exa mple.org', 'example..org', '-x.org', 'a"b.org', 'a\\b.org', 'example.123', 42]) {
    fails(() => checkedDomain(bad), 'domain');
  }
});

test('retryingQuery asks visibility for the domain\'s retrying deliveries, quoted', () => {
  assert.equal(retryingQuery('example.org'), 'WorkflowType = "deliveryWorkflow" AND RecipientDomains = "example.org" AND DeliveryState = "retrying"');
  // Validated domains cannot hold quotes; the literal is escaped anyway.
  assert.equal(retryingQuery('a"b\\c'), 'WorkflowType = "deliveryWorkflow" AND RecipientDomains = "a\\"b\\\\c" AND DeliveryState = "retrying"');
  assert.equal(messageIdOfWorkflow('delivery:order-1'), 'order-1');
  assert.equal(messageIdOfWorkflow('other'), 'other');
});
