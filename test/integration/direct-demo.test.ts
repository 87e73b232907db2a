// `rebound demo --direct` end to end (README "Direct demo"): the demo's own run, in this process,
// on the test's addresses (127.0.0.70-72) and free ports — a dns2 DNS server, two bounce
// simulators as MX hosts (one Google-named, rate-limiting with 421 4.7.28), the Temporal dev
// server, PostgreSQL, the worker in direct mode and the API. The run checks each step itself;
// this test asserts on what it found. A database of its own: site `google` is also what
// sites.test.ts suspends, and test files run in parallel.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../src/config';
import { freePort } from '../../src/dev/temporal-server';
import { runDirectDemo, type DirectDemoResult } from '../../src/dev/demo-direct';
import { DEMO_SUSPENSION_SECONDS } from '../../src/dev/direct-demo-config';
import { TEST_DATABASE_URL } from '../helpers/stack';

const ADDRESSES = { google: '127.0.0.70', other: '127.0.0.71', dns: '127.0.0.72' };

function ownDatabase(url: string): string {
  const u = new URL(url);
  u.pathname = `${u.pathname}_direct_demo`;
  return u.toString();
}

let result: DirectDemoResult;
let commentary = '';

before(async () => {
  // The defaults, on free ports and this test's database: what `rebound demo --direct` starts from.
  const base = loadConfig({
    DATABASE_URL: ownDatabase(TEST_DATABASE_URL),
    TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}`,
    REBOUND_API_LISTEN: `127.0.0.1:${await freePort()}`,
    REBOUND_INBOUND_LISTEN: `127.0.0.1:${await freePort()}`,
    REBOUND_LOG_LEVEL: 'silent',
  });
  result = await runDirectDemo(base, { exit: true, json: false }, { addresses: ADDRESSES, stack: { uiPort: null, dbFile: null }, write: (t) => (commentary += t) });
});

describe('the direct demo', () => {
  test('every step went as the demo expects', () => {
    assert.deepEqual(result.mismatches, [], commentary);
  });

  test("the Google-named MX's 421 4.7.28 suspended site google, by the rule the demo's file replaces", () => {
    assert.equal(result.suspension.site, 'google');
    assert.equal(result.suspension.rule, 'gmail-421-4.7.28');
    assert.match(result.suspension.reply ?? '', /^421 4\.7\.28 /);
    assert.ok(result.googleMx.refused >= 1, 'the MX refused at least one recipient for rate');
    assert.equal(result.googleMx.transactionsWhileSuspended, 0, 'no transaction reached the MX while its site was suspended');
    // Until the configuration file's sites: section is read, the shipped hour-long rule applies and the demo resumes the site by hand.
    if (result.reopening === 'expiry') assert.ok(Math.abs(result.suspension.seconds - DEMO_SUSPENSION_SECONDS) < 2, `suspended for ${result.suspension.seconds} s`);
    else assert.equal(result.suspension.seconds, 3600);
  });

  test('a held recipient was deferred with the reason and the reopening time, without a connection', () => {
    assert.match(result.deferral ?? '', /^site google suspended until \S+ by rule gmail-421-4\.7\.28; try again in \d+ seconds; after: 421 4\.7\.28/);
  });

  test("the other site's messages ended while google was still suspended", () => {
    assert.equal(result.otherSiteFinishedWhileSuspended, true);
    const other = result.messages.filter((m) => m.site === 'other');
    assert.deepEqual(other.map((m) => m.status?.state), other.map((m) => m.expected));
  });

  test('after the reopening every message to Google was delivered, the held ones on a later attempt', () => {
    const google = result.messages.filter((m) => m.site === 'google');
    assert.ok(google.every((m) => m.status?.state === 'delivered'), JSON.stringify(google.map((m) => m.status?.state)));
    assert.ok(google.filter((m) => (m.status?.recipients[0]?.attempts ?? 0) > 1).length >= 2);
  });
});

