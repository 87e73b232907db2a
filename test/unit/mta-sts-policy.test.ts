// The pure TLS decisions of direct delivery (README "Direct delivery", TLS): MTA-STS mx
// patterns, which hosts a domain's mail may use and with what demand, the reasons given when a
// demand fails, and how those replies classify.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyReply } from '../../src/delivery/classify';
import { isTlsFailure, mxMatches, planTls, tlsFailureText, tlsRequiredReply, type MtaStsPolicy, type TlsLevel } from '../../src/smtp/direct/tls-policy';

const policy = (mode: MtaStsPolicy['mode'], mx: string[]): MtaStsPolicy => ({ id: '1', mode, mx, maxAgeSeconds: 86400 });

test('mxMatches: exact names and one-label wildcards (RFC 8461 section 4.1)', () => {
  const cases: [string, string, boolean][] = [
    ['mx1.example.org', 'mx1.example.org', true],
    ['MX1.Example.ORG.', 'mx1.example.org', true],
    ['mx2.example.org', 'mx1.example.org', false],
    ['mx1.example.org', '*.example.org', true],
    ['a.mx1.example.org', '*.example.org', false],
    ['example.org', '*.example.org', false],
    ['mx1.badexample.org', '*.example.org', false],
    ['mx1.example.org', '*.EXAMPLE.org', true],
  ];
  for (const [host, pattern, expected] of cases) assert.equal(mxMatches(host, pattern), expected, `${host} vs ${pattern}`);
});

test('planTls: hosts and demand from the rule and the policy', () => {
  const hosts = ['mx1.example.org', 'backup.other.net'];
  const cases: { name: string; level: TlsLevel; policy: MtaStsPolicy | null; hosts: string[] | null; demand: string | null; notes: number }[] = [
    { name: 'nothing: opportunistic, every host', level: 'opportunistic', policy: null, hosts, demand: 'opportunistic', notes: 0 },
    { name: 'tls: required: encrypted, every host', level: 'required', policy: null, hosts, demand: 'encrypted', notes: 0 },
    { name: 'policy none: as without', level: 'opportunistic', policy: policy('none', []), hosts, demand: 'opportunistic', notes: 0 },
    { name: 'testing: as without, the unlisted host noted', level: 'opportunistic', policy: policy('testing', ['*.example.org']), hosts, demand: 'opportunistic', notes: 1 },
    { name: 'testing and tls: required: encrypted', level: 'required', policy: policy('testing', ['*.example.org']), hosts, demand: 'encrypted', notes: 1 },
    { name: 'enforce: verified, only listed hosts', level: 'opportunistic', policy: policy('enforce', ['*.example.org']), hosts: ['mx1.example.org'], demand: 'verified', notes: 1 },
    { name: 'enforce wins over tls: required', level: 'required', policy: policy('enforce', ['mx1.example.org', 'backup.other.net']), hosts, demand: 'verified', notes: 0 },
    { name: 'enforce, no host listed: settled', level: 'opportunistic', policy: policy('enforce', ['*.elsewhere.net']), hosts: null, demand: null, notes: 0 },
  ];
  for (const c of cases) {
    const plan = planTls('example.org', hosts, c.level, c.policy);
    if (c.hosts === null) {
      assert.equal(plan.kind, 'settled', c.name);
      continue;
    }
    assert.equal(plan.kind, 'hosts', c.name);
    if (plan.kind !== 'hosts') continue;
    assert.deepEqual({ hosts: plan.hosts, demand: plan.demand.kind, notes: plan.notes.length }, { hosts: c.hosts, demand: c.demand, notes: c.notes }, c.name);
  }
});

test('the replies of a failed demand are soft, destination scope, and say why', () => {
  const enforce = { kind: 'verified', because: 'MTA-STS policy of example.org (enforce)' } as const;
  const required = { kind: 'encrypted', because: "configuration file's rule for example.org (tls: required)" } as const;
  const settled = planTls('example.org', ['mx.other.net'], 'opportunistic', policy('enforce', ['*.example.org']));
  assert.equal(settled.kind, 'settled');
  const cases: [string, string | RegExp][] = [
    [tlsFailureText(enforce, 'mx1.example.org', { response: '502 5.5.1 no STARTTLS here\r\n', message: 'x' }), 'MTA-STS policy of example.org (enforce) requires TLS: mx1.example.org offered no STARTTLS (it answered "502 5.5.1 no STARTTLS here"); retried later'],
    [tlsFailureText(enforce, 'mx1.example.org', { message: 'Error initiating TLS - self-signed certificate' }), 'MTA-STS policy of example.org (enforce) requires TLS: the TLS handshake with mx1.example.org failed (self-signed certificate); retried later'],
    [tlsFailureText(required, 'mx1.example.org', { response: '500 Error: command not recognized', message: 'x' }), /^configuration file's rule for example\.org \(tls: required\) requires TLS: mx1\.example\.org offered no STARTTLS/],
    [settled.kind === 'settled' ? settled.reply.text : '', /requires TLS to \*\.example\.org, and none of its MX hosts \(mx\.other\.net\) matches/],
  ];
  for (const [text, expected] of cases) {
    if (typeof expected === 'string') assert.equal(text, expected);
    else assert.match(text, expected);
    const c = classifyReply(tlsRequiredReply(text));
    assert.deepEqual({ kind: c.kind, scope: c.scope }, { kind: 'soft', scope: 'destination' }, text);
  }
});

test('isTlsFailure: STARTTLS and handshake errors, not SMTP replies or connection errors', () => {
  const cases: [{ code?: string; originalCode?: string; command?: string }, boolean][] = [
    [{ code: 'ETLS', command: 'CONN' }, true],
    [{ code: 'EPROTOCOL', command: 'STARTTLS' }, true],
    [{ code: 'ESOCKET', originalCode: 'DEPTH_ZERO_SELF_SIGNED_CERT', command: 'CONN' }, true],
    [{ code: 'ERR_TLS_CERT_ALTNAME_INVALID' }, true],
    [{ code: 'ESOCKET', originalCode: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }, true],
    [{ code: 'ESOCKET', originalCode: 'ECONNREFUSED', command: 'CONN' }, false],
    [{ code: 'EENVELOPE', command: 'RCPT TO' }, false],
    [{ code: 'ETIMEDOUT', command: 'CONN' }, false],
  ];
  for (const [err, expected] of cases) assert.equal(isTlsFailure(err), expected, JSON.stringify(err));
});
