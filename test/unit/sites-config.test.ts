// The configuration file's `sites:` section (README "Traffic shaping"): what it becomes, and
// every problem named by its key path, through the file parser as an operator meets them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigFileError, parseConfigSections } from '../../src/domains/config-file';
import { DEFAULT_SHAPING, validateSites } from '../../src/sites/config-schema';
import { DEFAULT_SITE_RULES } from '../../src/sites/rules';

const Y = 'rebound.config.yaml';

test('the agreed example parses into limits and rules (the file\'s first, replacing a shipped one by name)', () => {
  const text = `
sites:
  limits:
    google: { connections: 20, initialConnections: 5, messagesPerConnection: 100, messagesPerMinute: 600 }
    mx.example.net: { messagesPerMinute: 60 }
    "*": { connections: 10 }
  rules:
    - name: gmail-421-4.7.28
      match: { enhanced: '^4\\.7\\.28$', site: google }
      scope: site
      threshold: immediate
      action: suspend
      duration: 20s
    - name: slow-domain
      match: { text: 'slow down', code: 451 }
      scope: domain
      threshold: { count: 3, window: 5m }
      action: { rate: 60 }
      duration: 10m
    - name: fewer-connections
      match: { text: 'too many connections' }
      action: { connections: 2 }
      duration: 1h
`;
  const { shaping } = parseConfigSections(text, Y);
  assert.deepEqual(shaping.limits, {
    google: { connections: 20, initialConnections: 5, messagesPerConnection: 100, messagesPerMinute: 600 },
    'mx.example.net': { messagesPerMinute: 60 },
    '*': { connections: 10 },
  });
  assert.deepEqual(shaping.rules.map((r) => r.name), ['gmail-421-4.7.28', 'slow-domain', 'fewer-connections', ...DEFAULT_SITE_RULES.slice(1).map((r) => r.name)]);
  const [gmail, slow, fewer] = shaping.rules;
  assert.equal(gmail.durationMs, 20_000);
  assert.ok(gmail.match.enhanced?.test('4.7.28') && !gmail.match.enhanced.test('4.7.280'));
  assert.equal(gmail.match.site, 'google');
  assert.deepEqual(slow.threshold, { kind: 'count', count: 3, windowMs: 300_000 });
  assert.deepEqual(slow.action, { kind: 'rate', messagesPerMinute: 60 });
  assert.equal(slow.scope, 'domain');
  assert.equal(slow.match.code, 451);
  assert.ok(slow.match.text?.test('451 SLOW DOWN'), 'text is matched case-insensitively');
  assert.deepEqual(fewer.action, { kind: 'connections', connections: 2 });
  assert.deepEqual(fewer.threshold, { kind: 'immediate' });
  assert.equal(fewer.scope, 'site');
});

test('defaults: no sites section, an empty one, shippedRules false', () => {
  const cases: Array<[section: unknown, rules: string[]]> = [
    [undefined, DEFAULT_SITE_RULES.map((r) => r.name)],
    [null, DEFAULT_SITE_RULES.map((r) => r.name)],
    [{}, DEFAULT_SITE_RULES.map((r) => r.name)],
    [{ shippedRules: false }, []],
    [{ shippedRules: false, rules: [{ name: 'mine', match: { code: 421 }, duration: '1m' }] }, ['mine']],
    [{ shippedRules: true, rules: [{ name: 'mine', match: { code: 421 }, duration: 60000 }] }, ['mine', ...DEFAULT_SITE_RULES.map((r) => r.name)]],
  ];
  for (const [section, rules] of cases) {
    const { shaping, issues } = validateSites(section);
    assert.deepEqual(issues, [], JSON.stringify(section));
    assert.deepEqual(shaping.rules.map((r) => r.name), rules, JSON.stringify(section));
  }
  assert.deepEqual(validateSites(undefined).shaping, DEFAULT_SHAPING);
  assert.deepEqual(validateSites({ limits: { ' MX.Example.NET. ': { connections: 3 } } }).shaping.limits, { 'mx.example.net': { connections: 3 } });
  assert.deepEqual(validateSites({ limits: { google: { messagesPerMinute: null } } }).shaping.limits, { google: { messagesPerMinute: null } });
});

test('each problem is named by its key path', () => {
  const rule = { name: 'r', match: { code: 421 }, duration: '1m' };
  const cases: Array<[section: unknown, path: string, reason: RegExp]> = [
    ['yes', 'sites', /expected an object with limits, rules and\/or shippedRules/],
    [{ limit: {} }, 'sites.limit', /unknown key \(expected limits, rules, shippedRules\)/],
    [{ limits: [] }, 'sites.limits', /expected a mapping from site name to limits/],
    [{ limits: { 'mx.example.net': { connections: 0 } } }, 'sites.limits["mx.example.net"].connections', /expected a whole number from 1 to 10000, got 0/],
    [{ limits: { 'mx.example.net': { connections: '5' } } }, 'sites.limits["mx.example.net"].connections', /got "5"/],
    [{ limits: { 'mx.example.net': { messagesPerMinute: 1.5 } } }, 'sites.limits["mx.example.net"].messagesPerMinute', /whole number/],
    [{ limits: { 'mx.example.net': { connection: 5 } } }, 'sites.limits["mx.example.net"].connection', /unknown key \(expected connections, initialConnections, messagesPerConnection, messagesPerMinute\)/],
    [{ limits: { 'mx.example.net': { connections: 2, initialConnections: 5 } } }, 'sites.limits["mx.example.net"].initialConnections', /more than connections \(2\)/],
    [{ limits: { 'mx.example.net': {} } }, 'sites.limits["mx.example.net"]', /empty limits/],
    [{ limits: { 'mx.example.net': 5 } }, 'sites.limits["mx.example.net"]', /expected limits such as/],
    [{ limits: { 'bad host!': { connections: 1 } } }, 'sites.limits["bad host!"]', /expected a site name/],
    [{ limits: { google: { connections: 1 }, ' Google ': { connections: 2 } } }, 'sites.limits[" Google "]', /the same site as an earlier key/],
    [{ rules: {} }, 'sites.rules', /expected a list of rules/],
    [{ rules: ['x'] }, 'sites.rules[0]', /expected a rule such as/],
    [{ rules: [{ ...rule, name: 'manual' }] }, 'sites.rules[0].name', /not "manual"/],
    [{ rules: [rule, rule] }, 'sites.rules[1].name', /the same name as an earlier rule/],
    [{ rules: [{ ...rule, match: { enhanced: '^4\\.7\\.(28' } }] }, 'sites.rules[0].match.enhanced', /^not a valid regular expression: /],
    [{ rules: [{ ...rule, match: { text: '[' } }] }, 'sites.rules[0].match.text', /^not a valid regular expression: /],
    [{ rules: [{ ...rule, match: { code: 42 } }] }, 'sites.rules[0].match.code', /from 200 to 599/],
    [{ rules: [{ ...rule, match: { site: 'google' } }] }, 'sites.rules[0].match', /needs enhanced, text or code/],
    [{ rules: [{ ...rule, match: { code: 421, site: '*' } }] }, 'sites.rules[0].match.site', /expected a site name/],
    [{ rules: [{ ...rule, match: { code: 421, enhancd: 'x' } }] }, 'sites.rules[0].match.enhancd', /unknown key/],
    [{ rules: [{ ...rule, scope: 'host' }] }, 'sites.rules[0].scope', /expected "site" or "domain", got "host"/],
    [{ rules: [{ ...rule, threshold: 3 }] }, 'sites.rules[0].threshold', /expected "immediate" or \{ "count": 3, "window": "5m" \}/],
    [{ rules: [{ ...rule, threshold: { count: 3 } }] }, 'sites.rules[0].threshold.window', /required/],
    [{ rules: [{ ...rule, threshold: { count: 0, window: '1m' } }] }, 'sites.rules[0].threshold.count', /whole number/],
    [{ rules: [{ ...rule, threshold: { count: 3, window: '2d' } }] }, 'sites.rules[0].threshold.window', /at most 1d, got "2d"/],
    [{ rules: [{ ...rule, action: 'pause' }] }, 'sites.rules[0].action', /expected "suspend", \{ "rate": 60 \}/],
    [{ rules: [{ ...rule, action: { rate: 0 } }] }, 'sites.rules[0].action.rate', /whole number/],
    [{ rules: [{ ...rule, action: { rate: 5, connections: 2 } }] }, 'sites.rules[0].action', /expected "suspend"/],
    [{ rules: [{ ...rule, scope: 'domain', action: { connections: 2 } }] }, 'sites.rules[0].scope', /connections are the site's/],
    [{ rules: [{ name: 'r', match: { code: 421 } }] }, 'sites.rules[0].duration', /required/],
    [{ rules: [{ ...rule, duration: '90' }] }, 'sites.rules[0].duration', /has no unit/],
    [{ rules: [{ ...rule, duration: '31d' }] }, 'sites.rules[0].duration', /at most 30 days/],
    [{ rules: [{ ...rule, durtion: '1m' }] }, 'sites.rules[0].durtion', /unknown key/],
    [{ shippedRules: 'no' }, 'sites.shippedRules', /expected true or false/],
  ];
  for (const [section, path, reason] of cases) {
    const { issues } = validateSites(section);
    const found = issues.find((i) => i.path === path);
    assert.ok(found, `${JSON.stringify(section)}: no issue at ${path}; got ${JSON.stringify(issues)}`);
    assert.match(found.reason, reason, path);
  }
});

test('through the file: the first problem in the message, with the file name and key path', () => {
  const text = JSON.stringify({ sites: { rules: [{ name: 'a', match: { code: 421 }, duration: '1m' }, { name: 'b', match: { enhanced: '(' }, duration: '1m' }] } });
  assert.throws(
    () => parseConfigSections(text, 'rebound.config.json'),
    (err: unknown) => err instanceof ConfigFileError && err.path === 'sites.rules[1].match.enhanced' && /^rebound\.config\.json: sites\.rules\[1\]\.match\.enhanced: not a valid regular expression/.test(err.message),
  );
  assert.throws(
    () => parseConfigSections('sites:\n  limits:\n    mx.example.net: { connections: -1 }\n', Y),
    (err: unknown) => err instanceof ConfigFileError && err.path === 'sites.limits["mx.example.net"].connections',
  );
});
