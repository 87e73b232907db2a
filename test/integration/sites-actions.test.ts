// Rules from the configuration file's `sites:` section against real servers (README "Traffic
// shaping", Rules): a dns2 DNS server, smtp-server MXes on 127.0.0.4x that answer what the
// rules look for, PostgreSQL for the counts, suspensions and adjustments, the direct sender the
// worker uses; and relay mode against the bounce simulator and an MX standing in for a relay.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pool } from 'pg';
import { classifyReply } from '../../src/delivery/classify';
import { createPool } from '../../src/db/pool';
import { prepareDatabase } from '../../src/db/setup';
import { activeAdjustment } from '../../src/sites/adjustments';
import { validateSites } from '../../src/sites/config-schema';
import type { ShapingConfig } from '../../src/sites/contract';
import { createSiteGate, type SiteGate } from '../../src/sites/gate';
import { activeSuspension, resumeSite, suspendSite } from '../../src/sites/store';
import { createDirectSender } from '../../src/smtp/direct/sender';
import { relaySender, relaySite, type Sender } from '../../src/smtp/sender';
import { createSmtpTransport } from '../../src/smtp/transport';
import { startSink, type BounceSink } from '../../src/sink';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server';
import { freePort } from '../helpers/mx-servers';
import { startShapingMx, type ShapingMx } from '../helpers/shaping-mx';
import { TEST_DATABASE_URL, uid } from '../helpers/stack';

const RAW = Buffer.from('From: sender@rebound.test\r\nTo: someone\r\nSubject: Shaping\r\nMessage-ID: <sites-actions@rebound.test>\r\n\r\nHello.\r\n');
const SITES = ['mx.c.test', 'mx.d.test', 'mx.e.test', 'd1.test', 'd2.test', '127.0.0.58', '127.0.0.59'];
const RELAY_HOST = '127.0.0.58';

/** The rules as an operator writes them in the configuration file, through its parser. */
function shapingOf(section: unknown): ShapingConfig {
  const { shaping, issues } = validateSites(section);
  assert.deepEqual(issues, []);
  return shaping;
}

const SHAPING = shapingOf({
  rules: [
    { name: 'c-three-slow', match: { text: 'slow down', site: 'mx.c.test' }, threshold: { count: 3, window: '1m' }, duration: '1m' },
    { name: 'd-domain-busy', match: { text: 'for this domain', site: 'mx.d.test' }, scope: 'domain', duration: '1m' },
    { name: 'e-rate', match: { text: 'too fast', site: 'mx.e.test' }, action: { rate: 30 }, duration: '1m' },
  ],
});

let pool: Pool;
let dns: TestDnsServer;
let mxC: ShapingMx;
let mxD: ShapingMx;
let mxE: ShapingMx;
let gate: SiteGate;
let sender: Sender;

async function forget(): Promise<void> {
  await pool.query('DELETE FROM site_suspensions WHERE site = ANY($1)', [SITES]);
  await pool.query('DELETE FROM site_adjustments WHERE site = ANY($1)', [SITES]);
  await pool.query('DELETE FROM site_rule_hits WHERE key = ANY($1)', [SITES]);
  await pool.query('DELETE FROM site_pacing WHERE key = ANY($1)', [SITES]);
  await pool.query('DELETE FROM site_connections WHERE site = ANY($1)', [SITES]);
}

before(async () => {
  await prepareDatabase(TEST_DATABASE_URL);
  pool = createPool(TEST_DATABASE_URL);
  await forget();
  const port = await freePort();
  mxC = await startShapingMx('127.0.0.42', port, { reply: (to) => (to.startsWith('slow') ? '451 4.7.1 slow down, please' : null) });
  mxD = await startShapingMx('127.0.0.43', port, { reply: (to) => (to.startsWith('busy') ? '451 4.7.1 too many messages for this domain' : null) });
  mxE = await startShapingMx('127.0.0.44', port, { reply: (to) => (to.startsWith('fast') ? '421 4.7.0 you are sending too fast' : null) });
  dns = await startDnsServer({
    'mx.c.test': { a: [mxC.address] },
    'mx.d.test': { a: [mxD.address] },
    'mx.e.test': { a: [mxE.address] },
    'c.test': { mx: [[10, 'mx.c.test.']] },
    'd1.test': { mx: [[10, 'mx.d.test.']] },
    'd2.test': { mx: [[10, 'mx.d.test.']] },
    'e.test': { mx: [[10, 'mx.e.test.']] },
  });
  gate = createSiteGate(pool, { shaping: SHAPING, random: () => 0 });
  sender = createDirectSender({ dnsServers: [dns.server], port, heloName: 'rebound.test', random: () => 0, sites: gate });
});

after(async () => {
  sender?.close();
  await Promise.all([mxC?.close(), mxD?.close(), mxE?.close(), dns?.close()]);
  if (pool) await forget();
  await pool?.end();
});

async function sendVia(s: Sender, address: string) {
  const [r] = await s.send({ from: 'sender@rebound.test', recipients: [address], raw: RAW });
  return { raw: r.reply, site: r.site, ...classifyReply(r.reply) };
}
const sendTo = (address: string) => sendVia(sender, address);

describe('rules from the configuration file', () => {
  test('threshold {count: 3, window}: the site is suspended at the third matching reply, not before', async () => {
    for (const n of [1, 2]) {
      const r = await sendTo(`slow${n}@c.test`);
      assert.equal(r.code, 451);
      assert.equal(r.site, 'mx.c.test');
      assert.equal(await activeSuspension(pool, 'mx.c.test'), null, `not suspended after ${n} matching replies`);
      assert.equal((await sendTo(`ok${n}@c.test`)).kind, 'delivered', 'the site still takes mail');
    }
    assert.equal((await sendTo('slow3@c.test')).code, 451);
    const s = await activeSuspension(pool, 'mx.c.test');
    assert.ok(s, 'suspended at the third');
    assert.equal(s.rule, 'c-three-slow');
    assert.match(s.reply ?? '', /^451 4\.7\.1 slow down/);

    const connections = mxC.connections;
    const held = await sendTo('ok3@c.test');
    assert.equal(held.raw.errorCode, 'ESITESUSPENDED');
    assert.equal(held.scope, 'destination');
    assert.equal(held.site, 'mx.c.test');
    assert.equal(mxC.connections, connections, 'no connection to the suspended site');
  });

  test('scope domain: one domain is held while another domain at the same site goes on', async () => {
    assert.equal((await sendTo('busy@d1.test')).code, 451);
    const s = await activeSuspension(pool, 'd1.test', 'domain');
    assert.ok(s, 'd1.test suspended');
    assert.equal(s.rule, 'd-domain-busy');
    assert.equal(await activeSuspension(pool, 'mx.d.test'), null, 'the site is not');

    const held = await sendTo('x@d1.test');
    assert.equal(held.raw.errorCode, 'ESITESUSPENDED');
    assert.match(held.text, /^domain d1\.test suspended until .* by rule d-domain-busy; try again in \d+ seconds/);
    const other = await sendTo('y@d2.test');
    assert.equal(other.kind, 'delivered');
    assert.ok(mxD.arrivals.some((a) => a.to.includes('y@d2.test')));
    assert.ok(!mxD.arrivals.some((a) => a.to.includes('x@d1.test')), 'nothing for the held domain reached the MX');
  });

  test('action rate: after the matching reply the site is paced at the lower rate, measured at the MX', async () => {
    assert.equal((await sendTo('fast@e.test')).code, 421);
    const a = await activeAdjustment(pool, 'mx.e.test');
    assert.ok(a, 'an adjustment is in force');
    assert.equal(a.messagesPerMinute, 30);
    assert.equal(a.rule, 'e-rate');
    const before = mxE.arrivals.length;
    for (let i = 0; i < 4; i++) assert.equal((await sendTo(`paced${i}@e.test`)).kind, 'delivered');
    assert.equal(gate.limits('mx.e.test').messagesPerMinute, 30, 'the pools see the lowered limit too');
    const times = mxE.arrivals.slice(before).map((x) => x.at);
    assert.equal(times.length, 4);
    // 30 per minute: one every 2 s, less a tenth for the jitter between a slot and the MX's
    // record of the message (the transaction's own round trips).
    for (let i = 1; i < times.length; i++) assert.ok(times[i] - times[i - 1] >= 1_800, `gap ${i}: ${times[i] - times[i - 1]} ms`);
  });
});

describe('relay mode: the relay is one site', () => {
  let sink: BounceSink;
  let relayMx: ShapingMx;
  let relayPort: number;

  before(async () => {
    sink = await startSink({ host: RELAY_HOST, port: 0, log: () => undefined });
    relayPort = await freePort();
    relayMx = await startShapingMx('127.0.0.59', relayPort);
  });
  after(async () => {
    await sink?.close();
    await relayMx?.close();
  });

  const relayTo = (url: string, shaping?: ShapingConfig) => {
    const site = relaySite(url);
    return relaySender(createSmtpTransport(url, { site }), { gate: createSiteGate(pool, { shaping, random: () => 0 }), site });
  };

  test('the sink\'s 421 4.7.28 does not suspend the relay (the shipped rules are Gmail\'s), unless the operator writes a rule for the relay', async () => {
    const relay = relayTo(sink.url);
    try {
      const r = await sendVia(relay, `ratelimit-ip+${uid()}@example.test`);
      assert.equal(r.code, 421);
      assert.equal(r.enhanced, '4.7.28');
      assert.equal(r.site, RELAY_HOST);
      assert.equal(await activeSuspension(pool, RELAY_HOST), null, 'the relay is not suspended');
      assert.equal((await sendVia(relay, `ok+${uid()}@example.test`)).kind, 'delivered');
    } finally {
      relay.close();
    }

    const own = relayTo(sink.url, shapingOf({ rules: [{ name: 'relay-4.7.28', match: { enhanced: '^4\\.7\\.28$', site: RELAY_HOST }, duration: '1m' }] }));
    try {
      assert.equal((await sendVia(own, `ratelimit-ip+${uid()}@example.test`)).code, 421);
      const s = await activeSuspension(pool, RELAY_HOST);
      assert.equal(s?.rule, 'relay-4.7.28');
      assert.equal((await sendVia(own, `ok+${uid()}@example.test`)).raw.errorCode, 'ESITESUSPENDED');
    } finally {
      own.close();
      await resumeSite(pool, RELAY_HOST);
    }
  });

  test('an operator\'s suspension of the relay site defers every recipient without connecting', async () => {
    const url = `smtp://${relayMx.address}:${relayPort}?starttls=never`;
    const relay = relayTo(url);
    try {
      assert.equal((await sendVia(relay, 'before@example.net')).kind, 'delivered');
      await suspendSite(pool, { site: relaySite(url), durationMs: 60_000, rule: 'manual', reply: 'maintenance of the relay' });
      const connections = relayMx.connections;
      const arrivals = relayMx.arrivals.length;
      const [a, b] = await relay.send({ from: 'sender@rebound.test', recipients: ['one@example.net', 'two@example.org'], raw: RAW });
      for (const r of [a, b]) {
        assert.equal(r.reply.errorCode, 'ESITESUSPENDED');
        assert.equal(r.site, '127.0.0.59');
        assert.match(r.reply.text, /^site 127\.0\.0\.59 suspended until .* by rule manual; try again in \d+ seconds; after: maintenance of the relay/);
      }
      assert.equal(relayMx.connections, connections, 'no connection to the suspended relay');
      assert.equal(relayMx.arrivals.length, arrivals);
      assert.equal(await resumeSite(pool, '127.0.0.59'), true);
      assert.equal((await sendVia(relay, 'after@example.net')).kind, 'delivered');
    } finally {
      relay.close();
    }
  });
});
