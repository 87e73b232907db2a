// The configuration file (README "Retry policy per domain"): every accepted form and every
// rejected one with its exact message and position. Long because it is cases, one per rule.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ConfigFileError, loadConfigFile, parseConfigText, type DomainRule } from '../../src/domains/config-file';
import { PROFILES } from '../../src/delivery/schedule';
import { DEFAULT_SIGNED_HEADERS } from '../../src/message/dkim';
import { makeDkimKey } from '../helpers/dkim';
import { DEFAULT_SHAPING } from '../../src/sites/config-schema';

const M = 60_000;
const H = 60 * M;

/** Runs `fn` in a fresh temporary directory holding `files` (name -> text), then removes it. */
function withDir<T>(files: Record<string, string>, fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'rebound-config-'));
  try {
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, name)), { recursive: true });
      writeFileSync(join(dir, name), text);
    }
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function loadError(files: Record<string, string>, env: NodeJS.ProcessEnv = {}): ConfigFileError {
  return withDir(files, (dir) => {
    try {
      loadConfigFile(env, dir);
    } catch (err) {
      assert.ok(err instanceof ConfigFileError, `expected ConfigFileError, got ${String(err)}`);
      assert.equal(err.name, 'ConfigFileError');
      return err;
    }
    assert.fail('expected a ConfigFileError');
  });
}

const EXAMPLE_JSON = `{
  "domains": {
    "example.org":      { "profile": "urgent" },
    "*.example.com":    { "delays": ["1m", "10m", "1h"], "deadline": "24h" },
    "yahoo.com":        { "profile": "bulk", "deadline": "48h" }
  }
}
`;

const EXAMPLE_YAML = `# retry rules per recipient domain
domains:
  example.org: { profile: urgent }
  "*.example.com":
    delays: [1m, 10m, 1h]
    deadline: 24h
  yahoo.com:
    profile: bulk
    deadline: 48h
`;

const EXAMPLE_RULES: DomainRule[] = [
  {
    pattern: 'example.org',
    schedule: { delaysMs: [...PROFILES.urgent.delaysMs], deadlineMs: PROFILES.urgent.deadlineMs },
    profile: 'urgent',
    given: { profile: 'urgent' },
  },
  {
    pattern: '*.example.com',
    schedule: { delaysMs: [1 * M, 10 * M, 1 * H], deadlineMs: 24 * H },
    profile: 'custom',
    given: { delays: ['1m', '10m', '1h'], deadline: '24h' },
  },
  {
    pattern: 'yahoo.com',
    schedule: { delaysMs: [...PROFILES.bulk.delaysMs], deadlineMs: 48 * H },
    profile: 'custom',
    given: { profile: 'bulk', deadline: '48h' },
  },
];

// ---------------------------------------------------------------------------------------------
// Finding and loading the file

const loadCases: {
  name: string;
  files: Record<string, string>;
  env?: NodeJS.ProcessEnv;
  file: string | null;
  rules: DomainRule[];
}[] = [
  { name: 'JSON in the working directory', files: { 'rebound.config.json': EXAMPLE_JSON }, file: 'rebound.config.json', rules: EXAMPLE_RULES },
  { name: 'YAML in the working directory', files: { 'rebound.config.yaml': EXAMPLE_YAML }, file: 'rebound.config.yaml', rules: EXAMPLE_RULES },
  { name: '.yml in the working directory', files: { 'rebound.config.yml': EXAMPLE_YAML }, file: 'rebound.config.yml', rules: EXAMPLE_RULES },
  {
    name: 'lookup order: .json before .yaml before .yml',
    files: { 'rebound.config.json': EXAMPLE_JSON, 'rebound.config.yaml': 'domains: {}\n', 'rebound.config.yml': 'nonsense: [' },
    file: 'rebound.config.json',
    rules: EXAMPLE_RULES,
  },
  {
    name: 'lookup order: .yaml before .yml',
    files: { 'rebound.config.yaml': EXAMPLE_YAML, 'rebound.config.yml': 'nonsense: [' },
    file: 'rebound.config.yaml',
    rules: EXAMPLE_RULES,
  },
  {
    name: 'REBOUND_CONFIG, relative to the working directory, wins over the default files',
    files: { 'conf/rules.yaml': EXAMPLE_YAML, 'rebound.config.json': '{"domains": {}}' },
    env: { REBOUND_CONFIG: 'conf/rules.yaml' },
    file: 'conf/rules.yaml',
    rules: EXAMPLE_RULES,
  },
  {
    name: 'REBOUND_CONFIG with an upper-case extension',
    files: { 'RULES.JSON': EXAMPLE_JSON },
    env: { REBOUND_CONFIG: 'RULES.JSON' },
    file: 'RULES.JSON',
    rules: EXAMPLE_RULES,
  },
  {
    name: 'an empty REBOUND_CONFIG is unset',
    files: { 'rebound.config.json': EXAMPLE_JSON },
    env: { REBOUND_CONFIG: '  ' },
    file: 'rebound.config.json',
    rules: EXAMPLE_RULES,
  },
  { name: 'no file', files: { 'other.json': EXAMPLE_JSON }, file: null, rules: [] },
  { name: 'an empty YAML file', files: { 'rebound.config.yaml': '' }, file: 'rebound.config.yaml', rules: [] },
  { name: 'a YAML file of comments', files: { 'rebound.config.yaml': '# nothing yet\n' }, file: 'rebound.config.yaml', rules: [] },
  {
    name: 'YAML domains with every entry commented out',
    files: { 'rebound.config.yaml': 'domains:\n  # example.org: { profile: urgent }\n' },
    file: 'rebound.config.yaml',
    rules: [],
  },
  { name: 'JSON without domains', files: { 'rebound.config.json': '{}' }, file: 'rebound.config.json', rules: [] },
  {
    name: 'a byte-order mark is ignored',
    files: { 'rebound.config.json': `\uFEFF${EXAMPLE_JSON}` },
    file: 'rebound.config.json',
    rules: EXAMPLE_RULES,
  },
];

for (const { name, files, env = {}, file, rules } of loadCases) {
  test(`loadConfigFile: ${name}`, () => {
    withDir(files, (dir) => {
      const config = loadConfigFile(env, dir);
      assert.equal(config.path, file === null ? null : join(dir, file));
      assert.deepEqual(config.domains, rules);
    });
  });
}

test('loadConfigFile: an absolute REBOUND_CONFIG', () => {
  withDir({ 'x/rules.json': EXAMPLE_JSON }, (dir) => {
    const path = join(dir, 'x/rules.json');
    withDir({}, (cwd) => assert.deepEqual(loadConfigFile({ REBOUND_CONFIG: path }, cwd), { path, domains: EXAMPLE_RULES, dkim: [], shaping: DEFAULT_SHAPING }));
  });
});

test('loadConfigFile: keys are trimmed and lower-cased, IDNs kept as written, numbers are milliseconds', () => {
  const text = JSON.stringify({
    domains: { ' Mail.Example.ORG ': { deadline: 3_600_000 }, 'MÜNCHEN.de': { delays: [60_000, '2m'] } },
  });
  const rules = withDir({ 'rebound.config.json': text }, (dir) => loadConfigFile({}, dir).domains);
  assert.deepEqual(
    rules.map((r) => [r.pattern, r.schedule.delaysMs, r.schedule.deadlineMs]),
    [
      ['mail.example.org', [...PROFILES.standard.delaysMs], 1 * H],
      ['münchen.de', [1 * M, 2 * M], PROFILES.standard.deadlineMs],
    ],
  );
  assert.deepEqual(rules[1].given, { delays: [60_000, '2m'] });
});

test('loadConfigFile: a YAML anchor may serve several domains', () => {
  const text = 'domains:\n  a.com: &slow { profile: bulk, deadline: 96h }\n  b.com: *slow\n  "*.c.com": *slow\n';
  const rules = withDir({ 'rebound.config.yaml': text }, (dir) => loadConfigFile({}, dir).domains);
  assert.deepEqual(
    rules.map((r) => [r.pattern, r.schedule.deadlineMs]),
    [
      ['a.com', 96 * H],
      ['b.com', 96 * H],
      ['*.c.com', 96 * H],
    ],
  );
});

// ---------------------------------------------------------------------------------------------
// Errors: every one names the file and the key path (or the position)

const one = (rule: unknown, key = 'x.com'): string => JSON.stringify({ domains: { [key]: rule } }, null, 2);
const J = 'rebound.config.json';
const Y = 'rebound.config.yaml';

const errorCases: { name: string; file: string; text: string; path: string; message: string | RegExp }[] = [
  {
    name: 'a delay of zero',
    file: J,
    text: one({ delays: ['1m', '0s', '1h'] }, '*.example.com'),
    path: 'domains["*.example.com"].delays[1]',
    message: `${J}: domains["*.example.com"].delays[1]: duration must be positive, got "0s"`,
  },
  {
    name: 'a delay under the 1 s minimum',
    file: J,
    text: one({ delays: ['1m', '500ms'] }),
    path: 'domains["x.com"].delays[1]',
    message: `${J}: domains["x.com"].delays[1]: 500ms is shorter than the minimum delay of 1s`,
  },
  {
    name: 'a delay without a unit',
    file: J,
    text: one({ delays: ['90'] }),
    path: 'domains["x.com"].delays[0]',
    message: /^rebound\.config\.json: domains\["x\.com"\]\.delays\[0\]: "90" has no unit/,
  },
  {
    name: 'a delay that is not a duration at all',
    file: J,
    text: one({ delays: ['1m', true] }),
    path: 'domains["x.com"].delays[1]',
    message: `${J}: domains["x.com"].delays[1]: expected a duration such as "10m" or a whole number of milliseconds, got true`,
  },
  {
    name: 'delays that are not a list',
    file: J,
    text: one({ delays: '1m' }),
    path: 'domains["x.com"].delays',
    message: `${J}: domains["x.com"].delays: expected a list of durations such as ["1m", "10m", "1h"], got "1m"`,
  },
  {
    name: 'no delays in the list',
    file: J,
    text: one({ delays: [] }),
    path: 'domains["x.com"].delays',
    message: `${J}: domains["x.com"].delays: at least one delay is required`,
  },
  {
    name: 'more than 50 delays',
    file: J,
    text: one({ delays: Array.from({ length: 51 }, () => '1m') }),
    path: 'domains["x.com"].delays',
    message: /^rebound\.config\.json: domains\["x\.com"\]\.delays: at most 50 delays are allowed/,
  },
  {
    name: 'a delay longer than the deadline',
    file: J,
    text: one({ delays: ['2h'], deadline: '1h' }),
    path: 'domains["x.com"].delays[0]',
    message: `${J}: domains["x.com"].delays[0]: 2h is longer than the deadline of 1h`,
  },
  {
    name: 'a deadline over 30 days',
    file: J,
    text: one({ deadline: '31d' }),
    path: 'domains["x.com"].deadline',
    message: `${J}: domains["x.com"].deadline: 31d is longer than the maximum of 30 days`,
  },
  {
    name: 'an unknown key in a rule (a typo)',
    file: J,
    text: one({ delay: ['1m'] }),
    path: 'domains["x.com"].delay',
    message: `${J}: domains["x.com"].delay: unknown key (expected profile, delays, deadline or tls)`,
  },
  {
    name: 'an unknown profile',
    file: J,
    text: one({ profile: 'fast' }),
    path: 'domains["x.com"].profile',
    message: `${J}: domains["x.com"].profile: unknown profile "fast"; use one of standard, urgent, bulk`,
  },
  {
    name: 'a rule with no fields',
    file: J,
    text: one({}),
    path: 'domains["x.com"]',
    message: `${J}: domains["x.com"]: empty rule: give a profile, delays, a deadline and/or tls`,
  },
  {
    name: 'a rule that is not an object',
    file: J,
    text: one('urgent'),
    path: 'domains["x.com"]',
    message: `${J}: domains["x.com"]: expected a rule such as { "profile": "bulk" }, got "urgent"`,
  },
  {
    name: 'a bad domain key',
    file: J,
    text: one({ profile: 'bulk' }, 'exa_mple.com'),
    path: 'domains["exa_mple.com"]',
    message: /^rebound\.config\.json: domains\["exa_mple\.com"\]: not a valid domain name: "exa_mple" is not a valid label/,
  },
  {
    name: 'a wildcard that is not the first label',
    file: J,
    text: one({ profile: 'bulk' }, 'mail.*.com'),
    path: 'domains["mail.*.com"]',
    message: `${J}: domains["mail.*.com"]: a wildcard is only allowed as the whole first label, as in "*.example.com"`,
  },
  {
    name: 'a "__proto__" key is just a bad domain key',
    file: J,
    text: '{"domains": {"__proto__": {"profile": "bulk"}}}',
    path: 'domains["__proto__"]',
    message: /^rebound\.config\.json: domains\["__proto__"\]: not a valid domain name/,
  },
  {
    name: 'keys that differ only in case and spaces',
    file: J,
    text: '{"domains": {"Example.com": {"profile": "bulk"}, " example.COM": {"profile": "urgent"}}}',
    path: 'domains[" example.COM"]',
    message: `${J}: domains[" example.COM"]: the same domain as "Example.com" (keys are compared trimmed and case-insensitively)`,
  },
  {
    name: 'an unknown top-level key',
    file: J,
    text: '{"domain": {}}',
    path: 'domain',
    message: `${J}: domain: unknown key (expected domains, dkim or sites)`,
  },
  {
    name: 'a top level that is not an object',
    file: J,
    text: '[]',
    path: '',
    message: `${J}: expected an object with a "domains" mapping, got an array`,
  },
  {
    name: 'JSON null',
    file: J,
    text: 'null',
    path: '',
    message: `${J}: expected an object with a "domains" mapping, got null`,
  },
  {
    name: 'domains that are not a mapping',
    file: J,
    text: '{"domains": ["example.org"]}',
    path: 'domains',
    message: `${J}: domains: expected a mapping from domain to rule, got an array`,
  },
  {
    name: 'invalid JSON: a missing value',
    file: J,
    text: '{"domains": }',
    path: '',
    message: `${J}: line 1, column 13: expected a value, found "}"`,
  },
  {
    name: 'invalid JSON: a trailing comma',
    file: J,
    text: '{\n  "domains": {\n    "a.com": { "profile": "bulk", }\n  }\n}\n',
    path: '',
    message: `${J}: line 3, column 35: trailing comma before "}" (not allowed in JSON)`,
  },
  {
    name: 'invalid JSON: a missing comma',
    file: J,
    text: '{\n  "domains": {\n    "a.com": { "profile": "bulk" }\n    "b.com": { "profile": "bulk" }\n  }\n}\n',
    path: '',
    message: `${J}: line 4, column 5: expected "," or "}", found "\\""`,
  },
  {
    name: 'invalid JSON: a comment',
    file: J,
    text: '// rules\n{}',
    path: '',
    message: `${J}: line 1, column 1: expected a value, found "/"`,
  },
  {
    name: 'invalid JSON: cut short',
    file: J,
    text: '{"domains": {"a.com": {"profile": "bulk"}',
    path: '',
    message: `${J}: line 1, column 42: expected "," or "}", found the end of the file`,
  },
  {
    name: 'invalid JSON: an unterminated string',
    file: J,
    text: '{"domains": {"a.com\n": {}}}',
    path: '',
    message: /^rebound\.config\.json: line 1, column 14: invalid string/,
  },
  {
    name: 'invalid JSON: an empty file',
    file: J,
    text: '',
    path: '',
    message: `${J}: line 1, column 1: expected a value, found the end of the file`,
  },
  {
    name: 'invalid JSON: nested too deeply',
    file: J,
    text: '['.repeat(100_000),
    path: '',
    message: /^rebound\.config\.json: line 1, column 66: nested more than 64 levels deep/,
  },
  {
    name: 'a duplicate key in JSON (JSON.parse would keep the last silently)',
    file: J,
    text: '{\n  "domains": {\n    "a.com": { "profile": "bulk" },\n    "a.com": { "profile": "urgent" }\n  }\n}\n',
    path: 'domains["a.com"]',
    message: `${J}: domains["a.com"] (line 4, column 5): duplicated key (first at line 3, column 5)`,
  },
  {
    name: 'a duplicate key in YAML',
    file: Y,
    text: 'domains:\n  a.com:\n    profile: bulk\n  a.com:\n    profile: urgent\n',
    path: '',
    message: `${Y}: line 4, column 3: duplicated mapping key`,
  },
  {
    name: 'a YAML syntax error',
    file: Y,
    text: 'domains:\n  a.com: [1m, 2m\n',
    path: '',
    message: `${Y}: line 3, column 1: Flow sequence in block collection must be sufficiently indented and end with a ]`,
  },
  {
    name: 'an unquoted wildcard key in YAML',
    file: Y,
    text: 'domains:\n  *.example.com:\n    profile: bulk\n',
    path: '',
    message: `${Y}: line 2, column 3: the key *.example.com must be quoted in YAML ("*" starts an alias): write "*.example.com": (and 2 more problems)`,
  },
  {
    name: 'several YAML documents',
    file: Y,
    text: 'domains: {}\n---\ndomains: {}\n',
    path: '',
    message: /^rebound\.config\.yaml: line 2, column 1: Source contains multiple documents/,
  },
  {
    name: 'an unknown YAML tag',
    file: Y,
    text: 'domains:\n  a.com: { deadline: !days 3 }\n',
    path: '',
    message: `${Y}: line 2, column 22: Unresolved tag: !days`,
  },
  {
    name: 'a YAML alias bomb',
    file: Y,
    text: ['a: &a [x, x, x, x, x, x, x, x, x, x]', ...'bcdef'.split('').map((k, i) => `${k}: &${k} [${Array(10).fill(`*${'abcdef'[i]}`).join(', ')}]`)].join('\n'),
    path: '',
    message: `${Y}: too many alias (*name) expansions; at most 1000 are allowed`,
  },
  {
    name: 'an unknown key in YAML',
    file: Y,
    text: 'domains:\n  "*.example.com":\n    delays: [1m]\n    dedline: 24h\n',
    path: 'domains["*.example.com"].dedline',
    message: `${Y}: domains["*.example.com"].dedline: unknown key (expected profile, delays, deadline or tls)`,
  },
  {
    name: 'a YAML delay of zero',
    file: Y,
    text: 'domains:\n  "*.example.com":\n    delays: [1m, 0s]\n',
    path: 'domains["*.example.com"].delays[1]',
    message: `${Y}: domains["*.example.com"].delays[1]: duration must be positive, got "0s"`,
  },
  {
    name: 'YAML null as a rule',
    file: Y,
    text: 'domains:\n  a.com:\n',
    path: 'domains["a.com"]',
    message: `${Y}: domains["a.com"]: expected a rule such as { "profile": "bulk" }, got null`,
  },
];

for (const { name, file, text, path, message } of errorCases) {
  test(`config file error: ${name}`, () => {
    const err = loadError({ [file]: text });
    assert.equal(err.file, file);
    assert.equal(err.path, path);
    assert.ok(err.message.startsWith(`${file}: ${path}`), err.message);
    assert.ok(!/[\r\n]/.test(err.message), `one line: ${err.message}`);
    if (typeof message === 'string') assert.equal(err.message, message);
    else assert.match(err.message, message);
    assert.ok(err.issues.length >= 1);
    assert.deepEqual([err.issues[0].path, err.issues[0].reason], [err.path, err.reason]);
  });
}

test('config file error: every problem is collected, the first in the message', () => {
  const text = JSON.stringify({
    domains: {
      'a.com': { delay: ['1m'] },
      'bad_key.com': { profile: 'bulk' },
      'c.com': { profile: 'fast', delays: 'often' },
      'd.com': { deadline: '40d' },
      'ok.com': { profile: 'urgent' },
    },
  });
  const err = loadError({ [J]: text });
  assert.deepEqual(
    err.issues.map((i) => i.path),
    ['domains["a.com"].delay', 'domains["bad_key.com"]', 'domains["c.com"].profile', 'domains["c.com"].delays', 'domains["d.com"].deadline'],
  );
  assert.equal(err.message, `${J}: domains["a.com"].delay: unknown key (expected profile, delays, deadline or tls) (and 4 more problems)`);
});

test('config file error: two unknown keys in one rule are two issues', () => {
  const err = loadError({ [J]: one({ delay: ['1m'], dedline: '1h' }) });
  assert.deepEqual(err.issues.map((i) => i.path), ['domains["x.com"].delay', 'domains["x.com"].dedline']);
});

test('config file error: a file REBOUND_CONFIG names must exist', () => {
  const err = loadError({ 'rebound.config.json': EXAMPLE_JSON }, { REBOUND_CONFIG: 'missing.json' });
  assert.equal(err.file, 'missing.json');
  assert.equal(err.message, 'missing.json: no such file (named by REBOUND_CONFIG)');
});

test('config file error: REBOUND_CONFIG naming a directory', () => {
  const err = loadError({ 'conf.json/inner': '' }, { REBOUND_CONFIG: 'conf.json' });
  assert.equal(err.message, 'conf.json: is a directory, not a file');
});

test('config file error: an unknown extension', () => {
  const err = loadError({ 'rebound.toml': 'domains = {}' }, { REBOUND_CONFIG: 'rebound.toml' });
  assert.equal(err.message, 'rebound.toml: unknown file type: the name must end in .json, .yaml or .yml');
});

test('parseConfigText never throws anything but ConfigFileError for bad content', () => {
  const inputs = [
    '"a string"',
    '42',
    '{"domains": {"a.com": {"delays": [1e400]}}}',
    '{"domains": {"a.com": {"delays": [1.5]}}}',
    '{"domains": {"a.com": {"deadline": -1}}}',
    '{"domains": {"a.com": {"deadline": "1h1h"}}}',
    '{"domains": {"a.com": {"profile": null}}}',
    '{"domains": {"": {"profile": "bulk"}}}',
    '\u0000',
    '{"a": "\\x"}',
    '{"a": 01}',
  ];
  for (const text of inputs) {
    for (const file of [J, Y]) {
      assert.throws(() => parseConfigText(text, file), ConfigFileError, `${file}: ${JSON.stringify(text)}`);
    }
  }
});

// ---------------------------------------------------------------------------------------------
// The dkim: section (README "DKIM")

const KEY = makeDkimKey('example.com', 's2026', { bits: 1024 });
const SHORT_KEY = makeDkimKey('example.com', 's1', { bits: 512 });

test('loadConfigFile: dkim keys, relative keyFile paths relative to the configuration file', () => {
  const yaml = `dkim:
  Example.COM:
    selector: S2026
    keyFile: keys/example.pem
  other.test:
    selector: mail.2026
    keyFile: keys/other.pem
    headers: [From, To, Subject]
`;
  const files = { 'conf/rebound.yaml': yaml, 'conf/keys/example.pem': KEY.privatePem, 'conf/keys/other.pem': KEY.privatePem };
  const config = withDir(files, (dir) => loadConfigFile({ REBOUND_CONFIG: 'conf/rebound.yaml' }, dir));
  assert.deepEqual(config.domains, []);
  assert.deepEqual(
    config.dkim.map((k) => ({ domain: k.domain, selector: k.selector, headers: k.headers, type: k.privateKey.asymmetricKeyType })),
    [
      { domain: 'example.com', selector: 's2026', headers: DEFAULT_SIGNED_HEADERS, type: 'rsa' },
      { domain: 'other.test', selector: 'mail.2026', headers: ['From', 'To', 'Subject'], type: 'rsa' },
    ],
  );
});

test('loadConfigFile: an absolute keyFile, next to domains rules', () => {
  withDir({ 'k.pem': KEY.privatePem }, (keyDir) => {
    const text = JSON.stringify({ domains: { 'example.org': { profile: 'urgent' } }, dkim: { 'example.com': { selector: 's1', keyFile: join(keyDir, 'k.pem') } } });
    const config = withDir({ [J]: text }, (dir) => loadConfigFile({}, dir));
    assert.equal(config.domains.length, 1);
    assert.deepEqual(config.dkim.map((k) => k.domain), ['example.com']);
  });
});

test('loadConfigFile: YAML dkim with every entry commented out has no keys', () => {
  const config = withDir({ [Y]: 'dkim:\n  # example.com: { selector: s1, keyFile: k.pem }\n' }, (dir) => loadConfigFile({}, dir));
  assert.deepEqual(config.dkim, []);
});

const dkimFile = (entry: unknown, domain = 'example.com'): string => JSON.stringify({ dkim: { [domain]: entry } });
const good = { selector: 's1', keyFile: 'k.pem' };

const dkimErrorCases: { name: string; files: Record<string, string>; path: string; reason: string | RegExp }[] = [
  { name: 'dkim not a mapping', files: { [J]: '{"dkim": ["example.com"]}' }, path: 'dkim', reason: 'expected a mapping from sending domain to key, got an array' },
  { name: 'a key that is not an object', files: { [J]: dkimFile('k.pem') }, path: 'dkim["example.com"]', reason: 'expected a key such as { "selector": "s2026", "keyFile": "dkim.pem" }, got "k.pem"' },
  { name: 'no selector', files: { [J]: dkimFile({ keyFile: 'k.pem' }) }, path: 'dkim["example.com"].selector', reason: 'expected a selector such as "s2026", got undefined' },
  { name: 'no keyFile', files: { [J]: dkimFile({ selector: 's1' }) }, path: 'dkim["example.com"].keyFile', reason: 'expected the path of a PEM private key file, got undefined' },
  { name: 'an empty keyFile', files: { [J]: dkimFile({ selector: 's1', keyFile: ' ' }) }, path: 'dkim["example.com"].keyFile', reason: 'the path is empty' },
  {
    name: 'a selector that is not DNS labels',
    files: { [J]: dkimFile({ selector: 's_1;x', keyFile: 'k.pem' }) },
    path: 'dkim["example.com"].selector',
    reason: 'not a selector: DNS labels of letters, digits and hyphens, such as "s2026"',
  },
  { name: 'an unknown key', files: { [J]: dkimFile({ ...good, algorithm: 'rsa' }) }, path: 'dkim["example.com"].algorithm', reason: 'unknown key (expected selector, keyFile or headers)' },
  {
    name: 'headers without From',
    files: { [J]: dkimFile({ ...good, headers: ['To', 'Subject'] }) },
    path: 'dkim["example.com"].headers',
    reason: 'must include From (RFC 6376 5.4: the From field is always signed)',
  },
  {
    name: 'X-Rebound-Ref among the headers',
    files: { [J]: dkimFile({ ...good, headers: ['From', 'x-rebound-ref'] }) },
    path: 'dkim["example.com"].headers[1]',
    reason: 'is added after signing (README "DKIM") and cannot be signed',
  },
  {
    name: 'a header name with a colon',
    files: { [J]: dkimFile({ ...good, headers: ['From', 'Subject:'] }) },
    path: 'dkim["example.com"].headers[1]',
    reason: 'not a header field name (printable ASCII, no colon or space)',
  },
  {
    name: 'a wildcard domain',
    files: { [J]: dkimFile(good, '*.example.com') },
    path: 'dkim["*.example.com"]',
    reason: 'a key signs for one From domain: wildcards are not allowed, list each domain',
  },
  { name: 'a bad domain', files: { [J]: dkimFile(good, 'exa mple.com') }, path: 'dkim["exa mple.com"]', reason: /^not a valid domain name: / },
  {
    name: 'two keys for one domain',
    files: { [J]: '{"dkim": {"example.com": {"selector": "a", "keyFile": "k.pem"}, "EXAMPLE.com": {"selector": "b", "keyFile": "k.pem"}}}' },
    path: 'dkim["EXAMPLE.com"]',
    reason: 'the same domain as "example.com" (keys are compared trimmed and case-insensitively)',
  },
  { name: 'a missing key file', files: { [J]: dkimFile(good) }, path: 'dkim["example.com"].keyFile', reason: /^cannot read \/.*\/k\.pem \(ENOENT\)$/ },
  { name: 'a key file that is a directory', files: { [J]: dkimFile(good), 'k.pem/x': '' }, path: 'dkim["example.com"].keyFile', reason: /^cannot read \/.*\/k\.pem \(EISDIR\)$/ },
  {
    name: 'a public key as key file',
    files: { [J]: dkimFile(good), 'k.pem': KEY.key.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString().replace(/PRIVATE/g, 'PUBLIC') },
    path: 'dkim["example.com"].keyFile',
    reason: /^\/.*\/k\.pem holds a public key, not a private key$/,
  },
  {
    name: 'an RSA key under 1024 bits',
    files: { [J]: dkimFile(good), 'k.pem': SHORT_KEY.privatePem },
    path: 'dkim["example.com"].keyFile',
    reason: /^\/.*\/k\.pem is an RSA key of 512 bits: at least 1024 \(2048 recommended\)$/,
  },
];

for (const { name, files, path, reason } of dkimErrorCases) {
  test(`config file error, dkim: ${name}`, () => {
    const err = loadError(files);
    assert.equal(err.file, J);
    assert.equal(err.path, path);
    if (typeof reason === 'string') assert.equal(err.reason, reason);
    else assert.match(err.reason, reason);
    assert.equal(err.message, `${J}: ${path}: ${err.reason}`);
  });
}

test('config file error, dkim: no error quotes the key file', () => {
  const body = SHORT_KEY.privatePem.split('\n')[1];
  const err = loadError({ [J]: dkimFile(good), 'k.pem': SHORT_KEY.privatePem });
  assert.ok(!err.message.includes(body) && !JSON.stringify(err.issues).includes(body));
});

test('config file error, dkim: problems in domains and dkim are all collected', () => {
  const text = JSON.stringify({ domains: { 'a.com': { profile: 'fast' } }, dkim: { 'b.com': { selector: 's1' } } });
  const err = loadError({ [J]: text });
  assert.deepEqual(err.issues.map((i) => i.path), ['domains["a.com"].profile', 'dkim["b.com"].keyFile']);
});
