// Property tests of the configuration loader (README "Configuration") and the configuration
// file parser (README "Retry policy per domain"): any environment gives a configuration or an
// Error naming the variable at fault; any file text gives the sections or a ConfigFileError
// naming the file, with a reason — never another exception, never a crash, however deep or
// large the text. Seeds: see test/helpers/properties.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { CONFIG_VARIABLES, loadConfig } from '../../src/config';
import { ConfigFileError, parseConfigSections } from '../../src/domains/config-file';
import { hostileString, runs } from '../helpers/properties';

// REBOUND_CONFIG names a file: it is the file parser's part, below (an unset one reads none).
const NAMES = CONFIG_VARIABLES.map((v) => v.name).filter((n) => n !== 'REBOUND_CONFIG');

const SECRETS = ['REBOUND_IMAP_URL', 'REBOUND_POSTMARK_WEBHOOK_AUTH', 'REBOUND_BOUNCE_SECRET', 'REBOUND_ADDRESS_ID_KEY', 'REBOUND_PAYLOAD_KEYS'].filter((n) => NAMES.includes(n));

const value = fc.oneof(
  hostileString(40),
  fc.constantFrom('off', 'OFF', 'forever', 'system', '0', '1', '-1', '1e3', '0x10', 'NaN', 'Infinity', '', ' ', 'true', 'yes', 'relay', 'direct', 'debug', '127.0.0.1:0', '[::1]:99999', 'host:', ':25', '1.5'),
  fc.integer().map(String),
  fc.tuple(fc.ipV4(), fc.integer({ min: -1, max: 70_000 })).map(([h, p]) => `${h}:${p}`),
  // Key-shaped values, so key checks past the first are reached.
  fc.tuple(fc.stringMatching(/^[a-z0-9]{1,8}$/), fc.base64String({ minLength: 4, maxLength: 60 })).map(([id, key]) => `${id}:${key}`),
);

test('loadConfig: any environment gives a configuration or an Error naming the variable at fault', () => {
  fc.assert(
    fc.property(fc.dictionary(fc.constantFrom(...NAMES), value, { maxKeys: 6 }), (entries) => {
      const env = { ...entries };
      try {
        const config = loadConfig(env);
        assert.equal(typeof config.databaseUrl, 'string');
        assert.ok(config.apiTimeouts.headersMs <= config.apiTimeouts.requestMs);
      } catch (err) {
        assert.ok(err instanceof Error, `not an Error: ${String(err)}`);
        assert.ok(!(err instanceof ConfigFileError), 'no file is read without REBOUND_CONFIG');
        const named = Object.keys(env).filter((n) => err.message.includes(n));
        assert.ok(named.length > 0, `the error names one of ${Object.keys(env).join(', ')}: ${err.message}`);
        // These hold passwords or keys: their errors never show them.
        for (const secret of SECRETS) {
          const v = env[secret]?.trim();
          if (v && v.length > 3 && named.includes(secret) && !/^off$/i.test(v)) assert.ok(!err.message.includes(v), `${secret}'s value in ${err.message}`);
        }
      }
    }),
    runs(400),
  );
});

const FILES = ['rebound.config.json', 'rebound.config.yaml', 'rebound.config.yml', 'rebound.config.txt'];

/** Data shaped like a configuration file, with random values where the rules go. */
const configData = fc.record(
  {
    domains: fc.oneof(fc.dictionary(fc.oneof(fc.domain(), fc.domain().map((d) => `*.${d}`), hostileString(20)), fc.oneof(fc.record({ profile: fc.oneof(fc.constantFrom('standard', 'urgent', 'bulk'), hostileString(8)), delays: fc.array(fc.oneof(fc.constantFrom('1m', '10m', '1h'), fc.integer(), hostileString(6)), { maxLength: 4 }), deadline: fc.oneof(fc.constantFrom('1d', '72h'), fc.integer()), tls: hostileString(10) }, { requiredKeys: [] }), fc.jsonValue()), { maxKeys: 4 }), fc.jsonValue()),
    dkim: fc.oneof(fc.dictionary(fc.domain(), fc.record({ selector: hostileString(12), keyFile: hostileString(20) }, { requiredKeys: [] }), { maxKeys: 2 }), fc.jsonValue()),
    sites: fc.jsonValue({ maxDepth: 4 }),
  },
  { requiredKeys: [] },
);

function parse(text: string, file: string): void {
  try {
    const sections = parseConfigSections(text, file);
    assert.ok(Array.isArray(sections.domains) && Array.isArray(sections.dkim) && typeof sections.shaping === 'object');
  } catch (err) {
    assert.ok(err instanceof ConfigFileError, `not a ConfigFileError: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
    assert.equal(err.file, file);
    assert.ok(err.reason.length > 0 && err.issues.length > 0);
    assert.ok(err.message.startsWith(`${file}: `), err.message);
  }
}

test('parseConfigSections: any text gives the sections or a ConfigFileError naming the file', () => {
  const text = fc.oneof(hostileString(400), fc.json(), configData.map((d) => JSON.stringify(d)), configData.map((d) => JSON.stringify(d, null, 2).replace(/"([^"]+)":/g, '$1:')));
  fc.assert(
    fc.property(text, fc.constantFrom(...FILES), (t, file) => parse(t, file)),
    runs(400),
  );
});

test('parseConfigSections: text nested thousands of levels deep, or megabytes long, is a ConfigFileError, not a crash', () => {
  const open = fc.constantFrom('[', '{"a":', '{a: ', '- ', '  ', 'a:\n  - ', '&x [', '*x, ');
  fc.assert(
    fc.property(open, fc.integer({ min: 200, max: 20_000 }), fc.constantFrom(...FILES.slice(0, 3)), (unit, times, file) => parse(`domains:\n  ${unit.repeat(times)}x`, file)),
    runs(40),
  );
});

test('parseConfigSections: YAML nested thousands of levels deep is refused before the parser recurses into it', () => {
  // Outside the test runner, these two in a row once made V8 abort the process (config-syntax.ts, MAX_YAML_NESTING).
  for (const text of ['['.repeat(100_000), `a:\n  ${'- '.repeat(20_000)}x`, `${'{a: '.repeat(5_000)}x`]) {
    assert.throws(() => parseConfigSections(text, 'rebound.config.yaml'), (err: unknown) => err instanceof ConfigFileError && /nested more than 256 levels deep/.test(err.reason));
  }
});
