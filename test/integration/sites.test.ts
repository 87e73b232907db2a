// Site suspensions against real servers (README "Traffic shaping"): a dns2 DNS server, an MX on
// a Google-named host that starts answering "421 4.7.28" after a few messages, another MX on
// another site, PostgreSQL for the suspensions, and the direct sender the worker uses.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Pool } from 'pg';
import { classifyReply } from '../../src/delivery/classify';
import { createPool } from '../../src/db/pool';
import { prepareDatabase } from '../../src/db/setup';
import { createSiteGate } from '../../src/sites/gate';
import { activeSuspensions, resumeSite } from '../../src/sites/store';
import { createDirectSender } from '../../src/smtp/direct/sender';
import type { Sender } from '../../src/smtp/sender';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server';
import { freePort } from '../helpers/mx-servers';
import { startLimitedMx, type LimitedMx } from '../helpers/limited-mx';
import { TEST_DATABASE_URL } from '../helpers/stack';

const RAW = Buffer.from('From: sender@rebound.test\r\nTo: someone\r\nSubject: Sites\r\nMessage-ID: <sites-test@rebound.test>\r\n\r\nHello.\r\n');
const RATE_LIMIT = '421 4.7.28 [127.0.0.21] Our system has detected an unusual rate of unsolicited mail: rate limited';
// As the README's test list says: the MX takes 20 messages, then rate-limits the sending IP.
const ACCEPTED_BEFORE_LIMIT = 20;
const OTHER_SITE_BATCH = 20;

let dns: TestDnsServer;
let pool: Pool;
let google: LimitedMx;
let other: LimitedMx;
let sender: Sender;

before(async () => {
  await prepareDatabase(TEST_DATABASE_URL);
  pool = createPool(TEST_DATABASE_URL);
  await pool.query("DELETE FROM site_suspensions WHERE site IN ('google', 'mx.b.example')");
  const port = await freePort();
  google = await startLimitedMx('127.0.0.21', port, ACCEPTED_BEFORE_LIMIT, RATE_LIMIT);
  other = await startLimitedMx('127.0.0.22', port, 1_000, '421 4.3.2 never');
  dns = await startDnsServer({
    'mx.a.google.com': { a: [google.address] },
    'mx.b.example': { a: [other.address] },
    'a.test': { mx: [[10, 'mx.a.google.com.']] },
    'b.test': { mx: [[10, 'mx.b.example.']] },
  });
  sender = createDirectSender({ dnsServers: [dns.server], port, heloName: 'rebound.test', random: () => 0, sites: createSiteGate(pool, { random: () => 0 }) });
});

after(async () => {
  sender?.close();
  await Promise.all([google?.close(), other?.close(), dns?.close()]);
  await pool?.query("DELETE FROM site_suspensions WHERE site IN ('google', 'mx.b.example')");
  await pool?.end();
});

const sendTo = async (address: string) => {
  const [r] = await sender.send({ from: 'sender@rebound.test', recipients: [address], raw: RAW });
  return { raw: r.reply, ...classifyReply(r.reply) };
};

/** `rebound sites --json` against the test database. */
async function sitesCli(args: string[]): Promise<unknown> {
  const main = path.resolve(__dirname, '../../src/cli/main.js');
  const script = `require(${JSON.stringify(main)}).main(process.argv)`;
  const { stdout } = await promisify(execFile)(process.execPath, ['-e', script, 'rebound', 'sites', ...args, '--json'], {
    env: { ...process.env, DATABASE_URL: TEST_DATABASE_URL, REBOUND_LOG_LEVEL: 'silent' },
  });
  return JSON.parse(stdout);
}

describe('site suspensions', () => {
  test('a 421 4.7.28 suspends the site: no more connections, a deferral with a wait hint, other sites keep delivering', async () => {
    for (let i = 0; i < ACCEPTED_BEFORE_LIMIT; i++) assert.equal((await sendTo(`r${i}@a.test`)).kind, 'delivered');
    const limited = await sendTo('limited@a.test');
    assert.equal(limited.kind, 'soft');
    assert.equal(limited.code, 421);
    // At least once: the pool gives a 421 on a reused connection one fresh connection.
    assert.ok(google.refused.length >= 1 && google.refused.every((a) => a === 'limited@a.test'), google.refused.join(','));

    const [suspension] = (await activeSuspensions(pool)).filter((s) => s.site === 'google');
    assert.ok(suspension, 'google is suspended');
    assert.equal(suspension.rule, 'gmail-421-4.7.28');
    assert.match(suspension.reply ?? '', /^421 4\.7\.28 .*rate limited/);

    const connections = google.connections;
    const rcpts = google.refused.length + google.accepted.length;
    const held = await Promise.all(['h1@a.test', 'h2@a.test'].map(sendTo));
    for (const h of held) {
      assert.equal(h.kind, 'soft');
      assert.equal(h.scope, 'destination');
      assert.equal(h.raw.errorCode, 'ESITESUSPENDED');
      assert.match(h.text, /^site google suspended until .* by rule gmail-421-4\.7\.28; try again in \d+ seconds; after: 421 4\.7\.28/);
      const untilMs = suspension.until.getTime() - Date.now();
      assert.ok(h.retryAfterMs !== null && h.retryAfterMs >= untilMs - 1_000, `wait hint ${h.retryAfterMs} ms reaches the reopening`);
    }
    assert.equal(google.connections, connections, 'no connection to a suspended site');
    assert.equal(google.refused.length + google.accepted.length, rcpts, 'no RCPT reached it either');

    // The other site keeps its full rate: a concurrent batch during the suspension all goes
    // through at once, none held back.
    const batch = await Promise.all(Array.from({ length: OTHER_SITE_BATCH }, (_, i) => sendTo(`b${i}@b.test`)));
    assert.deepEqual(batch.map((b) => b.kind), Array(OTHER_SITE_BATCH).fill('delivered'));
    assert.ok(batch.every((b) => !b.raw.errorCode), 'nothing held back at the other site');
    assert.equal(other.accepted.length, OTHER_SITE_BATCH, 'the other site is not slowed');
    assert.equal(google.connections, connections, 'still no connection to the suspended site');
  });

  test('rebound sites shows the suspension; an operator resumes it and the site delivers again', async () => {
    const listed = (await sitesCli([])) as { sites: Array<{ site: string; state: string; suspensions: Array<{ rule: string; reply: string; until: string }> }> };
    const shown = listed.sites.find((s) => s.site === 'google');
    assert.ok(shown, 'listed');
    assert.equal(shown.state, 'suspended');
    const [row] = shown.suspensions;
    assert.equal(row.rule, 'gmail-421-4.7.28');
    assert.match(row.reply, /421 4\.7\.28/);
    assert.ok(Date.parse(row.until) > Date.now());

    assert.deepEqual(await sitesCli(['resume', 'google']), { site: 'google', scope: 'site', resumed: true });
    google.reset(10);
    const r = await sendTo('after-resume@a.test');
    assert.equal(r.kind, 'delivered');
    assert.ok(google.accepted.includes('after-resume@a.test'));
  });

  test('an operator suspends a site by hand, and resuming an open site says so', async () => {
    const s = (await sitesCli(['suspend', 'mx.b.example', '--minutes', '5'])) as { site: string; rule: string; until: string };
    assert.equal(s.site, 'mx.b.example');
    assert.equal(s.rule, 'manual');
    const connections = other.connections;
    const held = await sendTo('held@b.test');
    assert.equal(held.raw.errorCode, 'ESITESUSPENDED');
    assert.equal(other.connections, connections);
    assert.equal(await resumeSite(pool, 'mx.b.example'), true);
    assert.equal(await resumeSite(pool, 'mx.b.example'), false);
    assert.equal((await sendTo('open@b.test')).kind, 'delivered');
  });
});
