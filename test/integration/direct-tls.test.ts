// TLS of direct delivery against real servers (README "Direct delivery", TLS): smtp-server MXes
// on 127.0.0.2x, a dns2 DNS server with the `_mta-sts` TXT records, and a node:https server
// serving the MTA-STS policies with certificates from a test CA made with openssl. The replies
// are classified as the send activity does.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyReply } from '../../src/delivery/classify';
import { parseConfigText } from '../../src/domains/config-file';
import { createDirectSender } from '../../src/smtp/direct/sender';
import { createMtaSts } from '../../src/smtp/direct/mta-sts';
import { trustedCas } from '../../src/smtp/direct/tls-trust';
import type { Sender } from '../../src/smtp/sender';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server';
import { freePort, selfSignedCertificate, startMx, type TestMx } from '../helpers/mx-servers';
import { createTestCa } from '../helpers/test-ca';
import { policyText, startPolicyServer, type TestPolicyServer } from '../helpers/mta-sts-server';

const RAW = Buffer.from('From: sender@rebound.test\r\nTo: someone\r\nSubject: TLS\r\nMessage-ID: <direct-tls@rebound.test>\r\n\r\nHello over TLS, or not at all.\r\n');

const ip = (i: number) => `127.0.0.${20 + i}`;
const POLICY_HOST = ip(9);

let dns: TestDnsServer;
let policies: TestPolicyServer;
let sender: Sender;
const mx: Record<'valid' | 'selfSigned' | 'plain' | 'outside', TestMx> = {} as never;

/** A domain that publishes MTA-STS: the TXT record and the policy host's address. */
const sts = (domain: string, id: string) => ({ [`_mta-sts.${domain}`]: { txt: [`v=STSv1; id=${id};`] }, [`mta-sts.${domain}`]: { a: [POLICY_HOST] } });

before(async () => {
  const ca = createTestCa();
  const port = await freePort();
  mx.valid = await startMx(ip(1), port, { tls: ca.issue('mx.good.test') });
  mx.selfSigned = await startMx(ip(2), port, { tls: selfSignedCertificate() });
  mx.plain = await startMx(ip(3), port);
  mx.outside = await startMx(ip(4), port, { tls: ca.issue('mx.outside.test') });
  policies = await startPolicyServer(POLICY_HOST, ca, {
    'good.test': policyText('enforce', ['mx.good.test']),
    'wild.test': policyText('enforce', ['*.good.test']),
    'selfsigned.test': policyText('enforce', ['mx.selfsigned.test']),
    'filtered.test': policyText('enforce', ['mx.good.test']),
    'nomatch.test': policyText('enforce', ['*.elsewhere.test']),
    'testing.test': policyText('testing', ['mx.elsewhere.test']),
    'plain-enforce.test': policyText('enforce', ['mx.plain.test']),
    'misnamed.test': policyText('enforce', ['mx.misnamed.test']),
  });
  dns = await startDnsServer({
    'mx.good.test': { a: [ip(1)] },
    'mx.selfsigned.test': { a: [ip(2)] },
    'mx.plain.test': { a: [ip(3)] },
    'mx.outside.test': { a: [ip(4)] },
    'mx.misnamed.test': { a: [ip(4)] },
    'misnamed.test': { mx: [[10, 'mx.misnamed.test']] },
    ...sts('misnamed.test', 'm1'),
    'good.test': { mx: [[10, 'mx.good.test']] },
    'wild.test': { mx: [[10, 'mx.good.test']] },
    'selfsigned.test': { mx: [[10, 'mx.selfsigned.test']] },
    'filtered.test': { mx: [[10, 'mx.outside.test'], [20, 'mx.good.test']] },
    'nomatch.test': { mx: [[10, 'mx.good.test']] },
    'testing.test': { mx: [[10, 'mx.selfsigned.test']] },
    'plain-enforce.test': { mx: [[10, 'mx.plain.test']] },
    'required.test': { mx: [[10, 'mx.plain.test']] },
    'required-self.test': { mx: [[10, 'mx.selfsigned.test']] },
    'plain.test': { mx: [[10, 'mx.plain.test']] },
    ...sts('good.test', 'g1'),
    ...sts('wild.test', 'w1'),
    ...sts('selfsigned.test', 's1'),
    ...sts('filtered.test', 'f1'),
    ...sts('nomatch.test', 'n1'),
    ...sts('testing.test', 't1'),
    ...sts('plain-enforce.test', 'p1'),
  });
  const domains = parseConfigText(JSON.stringify({ domains: { 'required.test': { tls: 'required' }, 'required-self.test': { tls: 'required' } } }), 'rebound.config.json');
  sender = createDirectSender({
    dnsServers: [dns.server],
    port,
    heloName: 'rebound.test',
    random: () => 0,
    domains,
    tlsCaFile: ca.certFile,
    // The policy server's own port: MTA-STS fetches go to 443 otherwise.
    mtaSts: createMtaSts({ dnsServers: [dns.server], ca: trustedCas(ca.certFile), port: policies.port }),
  });
});

after(async () => {
  sender?.close();
  await Promise.all(Object.values(mx).map((m) => m.close()));
  await policies?.close();
  await dns?.close();
});

const classified = async (address: string) => {
  const [r] = await sender.send({ from: 'sender@rebound.test', recipients: [address], raw: RAW });
  return { ...r.reply, ...classifyReply(r.reply) };
};
const transactionsTo = (m: TestMx, address: string) => m.transactions.filter((t) => t.to.includes(address));
const delivered = (address: string) => Object.values(mx).flatMap((m) => transactionsTo(m, address));

describe('direct delivery: TLS', () => {
  test('MTA-STS enforce, the MX has a certificate from a trusted CA for its name: delivered over TLS', async () => {
    const r = await classified('a@good.test');
    assert.equal(r.kind, 'delivered', r.text);
    const [t] = transactionsTo(mx.valid, 'a@good.test');
    assert.equal(t.secure, true);
  });

  test('the policy is cached by id: a second message does not fetch it again', async () => {
    const before = policies.fetches.get('good.test');
    assert.equal(before, 1);
    assert.equal((await classified('b@good.test')).kind, 'delivered');
    assert.equal(policies.fetches.get('good.test'), 1);
  });

  test('a wildcard mx pattern matches one label', async () => {
    assert.equal((await classified('c@wild.test')).kind, 'delivered');
  });

  test('MTA-STS enforce, the MX certificate is self-signed: soft destination bounce with the reason, nothing delivered', async () => {
    const r = await classified('d@selfsigned.test');
    assert.deepEqual({ kind: r.kind, scope: r.scope, errorCode: r.errorCode }, { kind: 'soft', scope: 'destination', errorCode: 'ETLSREQUIRED' });
    assert.match(r.text, /^MTA-STS policy of selfsigned\.test \(enforce\) requires TLS: the TLS handshake with mx\.selfsigned\.test failed/);
    assert.deepEqual(delivered('d@selfsigned.test'), []);
  });

  test('MTA-STS enforce, the MX certificate is from the trusted CA but for another name: soft, nothing delivered', async () => {
    const r = await classified('d2@misnamed.test');
    assert.deepEqual({ kind: r.kind, scope: r.scope, errorCode: r.errorCode }, { kind: 'soft', scope: 'destination', errorCode: 'ETLSREQUIRED' });
    assert.match(r.text, /^MTA-STS policy of misnamed\.test \(enforce\) requires TLS: the TLS handshake with mx\.misnamed\.test failed/);
    assert.deepEqual(delivered('d2@misnamed.test'), []);
  });

  test('MTA-STS enforce, the MX offers no STARTTLS: soft with the reason, nothing delivered', async () => {
    const r = await classified('e@plain-enforce.test');
    assert.deepEqual({ kind: r.kind, scope: r.scope }, { kind: 'soft', scope: 'destination' });
    assert.match(r.text, /^MTA-STS policy of plain-enforce\.test \(enforce\) requires TLS: mx\.plain\.test offered no STARTTLS/);
    assert.deepEqual(delivered('e@plain-enforce.test'), []);
  });

  test('MTA-STS enforce: an MX host not matching the policy is not used, the matching one is', async () => {
    const before = mx.outside.connections;
    assert.equal((await classified('f@filtered.test')).kind, 'delivered');
    assert.equal(mx.outside.connections, before, 'the MX outside the policy was never connected to');
    assert.equal(transactionsTo(mx.valid, 'f@filtered.test').length, 1);
  });

  test('MTA-STS enforce and no MX matches: soft without any connection', async () => {
    const before = Object.values(mx).reduce((n, m) => n + m.connections, 0);
    const r = await classified('g@nomatch.test');
    assert.deepEqual({ kind: r.kind, scope: r.scope }, { kind: 'soft', scope: 'destination' });
    assert.match(r.text, /MTA-STS policy of nomatch\.test \(enforce\) requires TLS to \*\.elsewhere\.test, and none of its MX hosts \(mx\.good\.test\) matches/);
    assert.equal(Object.values(mx).reduce((n, m) => n + m.connections, 0), before);
  });

  test('MTA-STS testing: delivered as without a policy (self-signed, not in the policy)', async () => {
    assert.equal((await classified('h@testing.test')).kind, 'delivered');
    assert.equal(transactionsTo(mx.selfSigned, 'h@testing.test')[0].secure, true);
  });

  test('tls: required and the MX offers no STARTTLS: soft with the reason, nothing delivered', async () => {
    const r = await classified('i@required.test');
    assert.deepEqual({ kind: r.kind, scope: r.scope, errorCode: r.errorCode }, { kind: 'soft', scope: 'destination', errorCode: 'ETLSREQUIRED' });
    assert.match(r.text, /^configuration file's rule for required\.test \(tls: required\) requires TLS: mx\.plain\.test offered no STARTTLS/);
    assert.deepEqual(delivered('i@required.test'), []);
  });

  test('tls: required encrypts without verifying the certificate (like Postfix encrypt)', async () => {
    assert.equal((await classified('j@required-self.test')).kind, 'delivered');
    assert.equal(transactionsTo(mx.selfSigned, 'j@required-self.test')[0].secure, true);
  });

  test('no policy, no rule: opportunistic as before, plaintext when the MX offers no TLS', async () => {
    assert.equal((await classified('k@plain.test')).kind, 'delivered');
    assert.equal(transactionsTo(mx.plain, 'k@plain.test')[0].secure, false);
  });
});
