// The pure parts of site visibility (README "Traffic shaping", visibility), table-driven: state
// and adjusted limits from what is in force, per-site metric increments, the checks of an
// operator's input, the webhook event types and the CLI's text.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkedMinutes, checkedScope } from '../../src/client/sites';
import { limitsText, sitesText } from '../../src/cli/sites';
import { ValidationError } from '../../src/errors';
import { siteIncrements } from '../../src/metrics/sites';
import { SITE_EVENT_TYPES } from '../../src/sites/contract';
import { adjustedLimits, checkedSiteName, FALLBACK_SITE_LIMITS, siteState, type SiteView } from '../../src/sites/view';
import { WEBHOOK_EVENT_TYPES } from '../../src/webhooks/contract';
import { validateWebhookRegistration } from '../../src/webhooks/validate';

test('a site is suspended by a site-wide suspension, throttled by a site-wide adjustment, else open', () => {
  const cases: [Parameters<typeof siteState>[0], Parameters<typeof siteState>[1], string][] = [
    [[], [], 'open'],
    [[{ scope: 'domain' }], [], 'open'],
    [[], [{ scope: 'domain' }], 'open'],
    [[], [{ scope: 'site' }], 'throttled'],
    [[{ scope: 'site' }], [{ scope: 'site' }], 'suspended'],
  ];
  for (const [s, a, want] of cases) assert.equal(siteState(s, a), want, JSON.stringify([s, a]));
});

test('adjusted limits take the lowest of each, site-wide adjustments only', () => {
  const base = { ...FALLBACK_SITE_LIMITS, messagesPerMinute: 600 };
  const cases: [Parameters<typeof adjustedLimits>[1], Partial<typeof base>][] = [
    [[], {}],
    [[{ scope: 'site', connections: 2, messagesPerMinute: null }], { connections: 2, initialConnections: 2 }],
    [[{ scope: 'site', connections: null, messagesPerMinute: 60 }], { messagesPerMinute: 60 }],
    [[{ scope: 'site', connections: 8, messagesPerMinute: 60 }, { scope: 'site', connections: 30, messagesPerMinute: 10 }], { connections: 8, messagesPerMinute: 10 }],
    [[{ scope: 'domain', connections: 1, messagesPerMinute: 1 }], {}],
  ];
  for (const [adjustments, change] of cases) assert.deepEqual(adjustedLimits(base, adjustments), { ...base, ...change }, JSON.stringify(adjustments));
  assert.deepEqual(adjustedLimits(FALLBACK_SITE_LIMITS, [{ scope: 'site', connections: null, messagesPerMinute: 30 }]).messagesPerMinute, 30, 'a cap where there was none');
});

test('per-site increments: replies at a site by kind, held-back deferrals by reason, nothing without a site', () => {
  const replies = [
    { address: 'a@x.test', kind: 'delivered' as const },
    { address: 'b@x.test', kind: 'soft' as const },
    { address: 'c@x.test', kind: 'soft' as const },
    { address: 'd@x.test', kind: 'soft' as const },
    { address: 'e@x.test', kind: 'hard' as const },
  ];
  const sites = {
    'a@x.test': { site: 'google' },
    'b@x.test': { site: 'google', errorCode: 'ESITESUSPENDED' },
    'c@x.test': { site: 'yahoo', errorCode: 'ESITETHROTTLED' },
    'd@x.test': { site: 'mx.x.test', errorCode: 'ECONNREFUSED' },
    // e has none: an acceptance of an earlier run, or a sender that does not know its site.
  };
  assert.deepEqual(siteIncrements(replies, sites, (s) => (s === 'mx.x.test' ? 'other' : s)), [
    { metric: 'siteAttempts', labels: { site: 'google', kind: 'delivered' } },
    { metric: 'siteHeldBack', labels: { site: 'google', reason: 'suspended' } },
    { metric: 'siteHeldBack', labels: { site: 'yahoo', reason: 'throttled' } },
    { metric: 'siteAttempts', labels: { site: 'other', kind: 'soft' } },
  ]);
});

test("an operator's input is checked and the field named", () => {
  const bad: [() => unknown, string][] = [
    [() => checkedMinutes(0), 'minutes'],
    [() => checkedMinutes(43_201), 'minutes'],
    [() => checkedMinutes('1.5'), 'minutes'],
    [() => checkedMinutes(undefined), 'minutes'],
    [() => checkedScope('mx'), 'scope'],
    [() => checkedSiteName(''), 'site'],
    [() => checkedSiteName('two words'), 'site'],
    [() => checkedSiteName('x'.repeat(256)), 'site'],
  ];
  for (const [fn, field] of bad) assert.throws(fn, (err: unknown) => err instanceof ValidationError && err.field === field, fn.toString());
  assert.equal(checkedMinutes('30'), 30);
  assert.equal(checkedMinutes(43_200), 43_200);
  assert.equal(checkedScope(undefined), 'site');
  assert.equal(checkedScope('domain'), 'domain');
  assert.equal(checkedSiteName(' MX.Example.NET '), 'mx.example.net');
});

test('site.suspended and site.resumed are webhook event types an endpoint can subscribe to', () => {
  for (const t of SITE_EVENT_TYPES) assert.ok((WEBHOOK_EVENT_TYPES as readonly string[]).includes(t), t);
  assert.deepEqual(validateWebhookRegistration({ url: 'https://hooks.example.com/x', events: ['site.suspended', 'site.resumed'] }, false).events, ['site.suspended', 'site.resumed']);
});

test("rebound sites' text: state, limits, the suspension with its reply, the queue", () => {
  assert.equal(limitsText({ initialConnections: 5, connections: 20, messagesPerConnection: 100, messagesPerMinute: null }), 'conn 5→20, 100/conn, no rate cap');
  const site: SiteView = {
    site: 'google',
    state: 'suspended',
    limits: { initialConnections: 5, connections: 20, messagesPerConnection: 100, messagesPerMinute: 600 },
    effectiveLimits: { initialConnections: 5, connections: 20, messagesPerConnection: 100, messagesPerMinute: 600 },
    configured: true,
    suspensions: [{ scope: 'site', site: 'google', until: '2026-12-02T11:00:00.000Z', rule: 'gmail-421-4.7.28', reply: '421 4.7.28 unusual rate', since: '2026-12-02T10:00:00.000Z' }],
    adjustments: [],
    queue: { total: 2, recipients: [{ messageId: 'm-1', recipient: 'a@gmail.com', attempt: 2, at: '2026-12-02T10:01:00.000Z', reply: { code: null, enhanced: null, text: 'site google suspended until ...' }, category: 'network_error', retryAfterMs: 3_600_000, heldBack: true }] },
    lastHour: { delivered: 20, soft: 1, hard: 0, heldBack: 2 },
    lastAttemptAt: '2026-12-02T10:01:00.000Z',
  };
  const text = sitesText({ at: '2026-12-02T10:02:00.000Z', sites: [site], unplaced: { suspensions: [], adjustments: [] } });
  assert.deepEqual(text.split('\n').slice(0, 4), [
    'google  SUSPENDED  conn 5→20, 100/conn, 600/min',
    '  last hour: 20 delivered, 1 deferred, 0 bounced, 2 held back; last attempt 2026-12-02T10:01:00.000Z',
    '  suspended until 2026-12-02T11:00:00.000Z by gmail-421-4.7.28: 421 4.7.28 unusual rate',
    '  queue: 2 recipients deferred (the first 1)',
  ]);
  assert.match(text.split('\n')[4], /^ {4}a@gmail\.com {2}m-1 {2}attempt 2 {2}2026-12-02T10:01:00\.000Z {2}held: site google suspended/);
  assert.match(sitesText({ at: '', sites: [], unplaced: { suspensions: [], adjustments: [] } }), /^no site to show/);
});
