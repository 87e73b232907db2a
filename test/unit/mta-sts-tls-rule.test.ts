// The `tls:` field of a configuration file's domain rule (README "Direct delivery", TLS):
// accepted values, a rule with only `tls:`, and bad values named by key path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText } from '../../src/domains/config-file';
import { matchDomainRule } from '../../src/domains/policy';

const J = 'rebound.config.json';
const parse = (domains: unknown) => parseConfigText(JSON.stringify({ domains }), J);

test('tls: accepted values, alone or with a schedule, matched like any rule', () => {
  const rules = parse({ 'example.org': { tls: 'required' }, '*.example.com': { tls: 'opportunistic', profile: 'bulk' }, 'plain.net': { profile: 'urgent' } });
  const cases: [string, string | undefined][] = [
    ['example.org', 'required'],
    ['mx.example.com', 'opportunistic'],
    ['plain.net', undefined],
    ['other.org', undefined],
  ];
  for (const [domain, tls] of cases) assert.equal(matchDomainRule(domain, rules)?.tls, tls, domain);
  assert.deepEqual(matchDomainRule('example.org', rules)?.given, {}, 'tls: alone sets no schedule field');
});

test('tls: bad values are named by key path', () => {
  const cases: [unknown, string][] = [
    ['encrypt', `${J}: domains["example.org"].tls: expected "opportunistic" or "required", got "encrypt"`],
    [true, `${J}: domains["example.org"].tls: expected "opportunistic" or "required", got true`],
  ];
  for (const [value, message] of cases) assert.throws(() => parse({ 'example.org': { tls: value } }), (err: Error) => (assert.equal(err.message, message), true));
});
