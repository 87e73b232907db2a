// Direct delivery against real servers (README "Direct delivery"): a dns2 DNS server for the
// test domains and smtp-server MXes on 127.0.0.x, all on one high port. The sender is the one
// the worker uses in direct mode; the replies are classified as the send activity does.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyReply } from '../../src/delivery/classify';
import { createDirectSender } from '../../src/smtp/direct/sender';
import type { Sender } from '../../src/smtp/sender';
import { TransactionAbandoned } from '../../src/smtp/pool';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server';
import { freePort, selfSignedCertificate, startMx, type TestMx } from '../helpers/mx-servers';

const RAW = Buffer.from('From: sender@rebound.test\r\nTo: someone\r\nSubject: Direct\r\nMessage-ID: <direct-test@rebound.test>\r\n\r\nHello from the direct sender.\r\n');

let dns: TestDnsServer;
let port: number;
const mxes: TestMx[] = [];
let sender: Sender & { pools: { hosts(): string[] } };

/** MX 1..n on 127.0.0.(10+i): 127.0.0.15 is never started (a dead host). */
const ip = (i: number) => `127.0.0.${10 + i}`;
const mxAt = (i: number) => mxes.find((m) => m.address === ip(i))!;
const total = () => mxes.reduce((n, m) => n + m.connections, 0);

before(async () => {
  port = await freePort();
  const tls = selfSignedCertificate();
  mxes.push(await startMx(ip(1), port));
  mxes.push(await startMx(ip(2), port));
  mxes.push(await startMx(ip(3), port, { tls, rejectRecipients: { nobody: '550 5.1.1 no such user here' } }));
  mxes.push(await startMx(ip(4), port, { greeting: '421 4.3.2 too busy, try another MX' }));
  dns = await startDnsServer({
    'mx1.test': { a: [ip(1)] },
    'mx2.test': { a: [ip(2)] },
    'mx3.test': { a: [ip(3)] },
    'busy.mx.test': { a: [ip(4)] },
    'dead.mx.test': { a: [ip(5)] },
    'ordered.test': { mx: [[20, 'mx2.test'], [10, 'mx1.test']] },
    'failover.test': { mx: [[10, 'dead.mx.test'], [20, 'mx2.test']] },
    'busy.test': { mx: [[10, 'busy.mx.test'], [20, 'mx1.test']] },
    'down.test': { mx: [[10, 'dead.mx.test'], [20, 'busy.mx.test']] },
    'nomail.test': { mx: [[0, '']] },
    'implicit.test': { a: [ip(2)] },
    'tls.test': { mx: [[10, 'mx3.test']] },
    'broken.test': { servfail: true },
  });
  sender = createDirectSender({ dnsServers: [dns.server], port, heloName: 'rebound.test', random: () => 0 });
});

after(async () => {
  sender?.close();
  await Promise.all(mxes.map((m) => m.close()));
  await dns?.close();
});

const send = (recipients: string[], beforeData?: () => Promise<void>) => sender.send({ from: 'sender@rebound.test', recipients, raw: RAW, ...(beforeData ? { beforeData } : {}) });
const classified = async (recipients: string[]) => (await send(recipients)).map((r) => ({ address: r.address, ...classifyReply(r.reply) }));
const took = (mx: TestMx, address: string) => mx.transactions.filter((t) => t.to.includes(address)).length;

describe('direct delivery', () => {
  test('MX hosts in preference order: the lowest preference gets the message', async () => {
    const [r] = await classified(['a@ordered.test']);
    assert.equal(r.kind, 'delivered');
    assert.equal(took(mxAt(1), 'a@ordered.test'), 1);
    assert.equal(took(mxAt(2), 'a@ordered.test'), 0);
    assert.match(r.text, new RegExp(`Queued as ${ip(1).replace(/\./g, '\\.')}`));
  });

  test('primary down: the secondary takes it within the same attempt', async () => {
    const [r] = await classified(['b@failover.test']);
    assert.equal(r.kind, 'delivered');
    assert.equal(took(mxAt(2), 'b@failover.test'), 1);
  });

  test('a 421 greeting: the next MX within the same attempt', async () => {
    const before = mxAt(4).connections;
    const [r] = await classified(['c@busy.test']);
    assert.equal(r.kind, 'delivered');
    assert.ok(mxAt(4).connections > before, 'the busy MX was tried first');
    assert.equal(took(mxAt(1), 'c@busy.test'), 1);
  });

  test('every MX down: soft, network or server trouble at the destination, and nothing delivered', async () => {
    const [r] = await classified(['d@down.test']);
    assert.equal(r.kind, 'soft');
    assert.equal(r.scope, 'destination');
    assert.ok(['network_error', 'server_unavailable'].includes(r.category), r.category);
    for (const mx of mxes) assert.equal(took(mx, 'd@down.test'), 0);
  });

  test('null MX: hard unknown_domain without any connection', async () => {
    const before = total();
    const [r] = await classified(['e@nomail.test']);
    assert.deepEqual({ kind: r.kind, category: r.category }, { kind: 'hard', category: 'unknown_domain' });
    assert.equal(total(), before, 'no MX was connected to');
  });

  test('NXDOMAIN: hard unknown_domain without any connection', async () => {
    const before = total();
    const [r] = await classified(['f@no-such-domain.test']);
    assert.deepEqual({ kind: r.kind, category: r.category }, { kind: 'hard', category: 'unknown_domain' });
    assert.equal(total(), before);
  });

  test('SERVFAIL: soft network_error at the destination', async () => {
    const [r] = await classified(['g@broken.test']);
    assert.deepEqual({ kind: r.kind, category: r.category, scope: r.scope }, { kind: 'soft', category: 'network_error', scope: 'destination' });
  });

  test('no MX records: the domain\'s own A record (implicit MX)', async () => {
    const [r] = await classified(['h@implicit.test']);
    assert.equal(r.kind, 'delivered');
    assert.equal(took(mxAt(2), 'h@implicit.test'), 1);
  });

  test('STARTTLS with a self-signed certificate is used opportunistically; a RCPT reply is final', async () => {
    const replies = await classified(['i@tls.test', 'nobody@tls.test']);
    assert.equal(replies[0].kind, 'delivered');
    assert.deepEqual({ kind: replies[1].kind, category: replies[1].category }, { kind: 'hard', category: 'unknown_user' });
    const [t] = mxAt(3).transactions.filter((x) => x.to.includes('i@tls.test'));
    assert.equal(t.secure, true, 'the transaction ran over TLS');
    assert.deepEqual(t.to, ['i@tls.test']);
  });

  test('two domains: two transactions, each recipient with its own MX\'s reply', async () => {
    const replies = await send(['j@ordered.test', 'k@implicit.test', 'l@ordered.test']);
    assert.deepEqual(replies.map((r) => r.address), ['j@ordered.test', 'k@implicit.test', 'l@ordered.test']);
    assert.match(replies[0].reply.text, new RegExp(ip(1).replace(/\./g, '\\.')));
    assert.match(replies[1].reply.text, new RegExp(ip(2).replace(/\./g, '\\.')));
    const one = mxAt(1).transactions.filter((t) => t.to.includes('j@ordered.test'));
    assert.deepEqual(one.map((t) => t.to), [['j@ordered.test', 'l@ordered.test']], 'one transaction for both recipients of the domain');
    assert.deepEqual(mxAt(2).transactions.filter((t) => t.to.includes('k@implicit.test')).map((t) => t.to), [['k@implicit.test']]);
  });

  test('the data gate is asked before each domain\'s DATA, and a refusal abandons the transaction', async () => {
    let asked = 0;
    await send(['m@ordered.test', 'n@implicit.test'], async () => void asked++);
    assert.equal(asked, 2);
    await assert.rejects(send(['o@ordered.test'], async () => { throw new Error('lease lost'); }), TransactionAbandoned);
    assert.equal(took(mxAt(1), 'o@ordered.test'), 0);
  });

  test('connections are pooled per MX address and reused across messages', async () => {
    const before = mxAt(1).connections;
    await send(['p@ordered.test']);
    await send(['q@ordered.test']);
    assert.ok(mxAt(1).connections - before <= 1, 'at most one new connection for two messages');
    assert.ok(sender.pools.hosts().includes(`${ip(1)}:${port}`));
  });

  test('pools are capped: past the cap the least recently used idle one is closed', async () => {
    const capped = createDirectSender({ dnsServers: [dns.server], port, heloName: 'rebound.test', random: () => 0, maxHosts: 2 });
    try {
      await capped.send({ from: 'sender@rebound.test', recipients: ['r@ordered.test'], raw: RAW });
      await capped.send({ from: 'sender@rebound.test', recipients: ['s@implicit.test'], raw: RAW });
      await capped.send({ from: 'sender@rebound.test', recipients: ['t@ordered.test'], raw: RAW });
      await capped.send({ from: 'sender@rebound.test', recipients: ['u@tls.test'], raw: RAW });
      assert.deepEqual(capped.pools.hosts(), [`${ip(1)}:${port}`, `${ip(3)}:${port}`], 'mx2, least recently used, was closed');
    } finally {
      capped.close();
    }
  });
});
