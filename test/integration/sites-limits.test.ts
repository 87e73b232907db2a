// Per-site limits shared by worker processes (README "Traffic shaping", Limits): the Temporal
// dev server, TWO `rebound worker` processes in direct mode with a configuration file whose
// `sites.limits` cap one site's messages per minute and another's connections, a dns2 DNS
// server and smtp-server MXes on 127.0.0.4x that record when each message arrived, from which
// worker (its EHLO name), and how many sessions were open at once.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { Pool } from 'pg';
import { ReboundClient } from '../../src/client/rebound-client';
import { createPool } from '../../src/db/pool';
import { prepareDatabase } from '../../src/db/setup';
import { freePort as freeTemporalPort, startDevServer, type DevServer } from '../../src/dev/temporal-server';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server';
import { freePort } from '../helpers/mx-servers';
import { mostInWindow, startShapingMx, type ShapingMx } from '../helpers/shaping-mx';
import { TEST_DATABASE_URL, testMessage, uid } from '../helpers/stack';
import { startWorkerProcess } from '../helpers/worker-process';

const PACED = 'mx.paced.test';
const CAPPED = 'mx.capped.test';
const PER_MINUTE = 60;
const CONNECTIONS = 2;

let server: DevServer;
let dns: TestDnsServer;
let paced: ShapingMx;
let capped: ShapingMx;
let pool: Pool;
let connection: Connection;
let rebound: ReboundClient;
const workers: ChildProcess[] = [];

async function forget(): Promise<void> {
  await pool.query('DELETE FROM site_pacing WHERE key = ANY($1)', [[PACED, CAPPED]]);
  await pool.query('DELETE FROM site_connections WHERE site = ANY($1)', [[PACED, CAPPED]]);
}

const startWorker = (env: NodeJS.ProcessEnv): Promise<ChildProcess> => startWorkerProcess(env, workers);

before(async () => {
  await prepareDatabase(TEST_DATABASE_URL);
  pool = createPool(TEST_DATABASE_URL);
  await forget();
  const mxPort = await freePort();
  paced = await startShapingMx('127.0.0.40', mxPort);
  // Each message holds its connection a while, so the two workers' sends overlap.
  capped = await startShapingMx('127.0.0.41', mxPort, { dataDelayMs: 300 });
  dns = await startDnsServer({
    [PACED]: { a: [paced.address] },
    [CAPPED]: { a: [capped.address] },
    'paced.test': { mx: [[10, `${PACED}.`]] },
    'capped.test': { mx: [[10, `${CAPPED}.`]] },
  });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rebound-sites-limits-'));
  const configFile = path.join(dir, 'rebound.config.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      sites: {
        limits: {
          [PACED]: { messagesPerMinute: PER_MINUTE },
          // A connection serves 3 messages, then its slot goes back to whichever worker asks first.
          [CAPPED]: { connections: CONNECTIONS, initialConnections: CONNECTIONS, messagesPerConnection: 3 },
        },
      },
    }),
  );
  server = await startDevServer({ port: await freeTemporalPort(), uiPort: null, dbFile: null });
  const taskQueue = `sites-limits-${uid()}`;
  const env = {
    ...process.env,
    TEMPORAL_ADDRESS: server.address,
    REBOUND_TASK_QUEUE: taskQueue,
    DATABASE_URL: TEST_DATABASE_URL,
    REBOUND_DELIVERY: 'direct',
    REBOUND_DNS_SERVERS: dns.server,
    REBOUND_MX_PORT: String(mxPort),
    REBOUND_CONFIG: configFile,
    REBOUND_LOG_LEVEL: 'info',
    REBOUND_BOUNCE_DOMAIN: 'off',
  };
  await Promise.all([startWorker({ ...env, REBOUND_HELO_NAME: 'w1.rebound.test' }), startWorker({ ...env, REBOUND_HELO_NAME: 'w2.rebound.test' })]);
  connection = await Connection.connect({ address: server.address });
  rebound = new ReboundClient({ client: new Client({ connection }), pool, taskQueue });
});

after(async () => {
  await Promise.all(
    workers.map(async (w) => {
      if (w.exitCode !== null) return;
      const exited = new Promise((r) => w.once('exit', r));
      w.kill('SIGKILL');
      await exited;
    }),
  );
  await connection?.close();
  await server?.stop();
  await Promise.all([paced?.close(), capped?.close(), dns?.close()]);
  if (pool) await forget();
  await pool?.end();
});

/**
 * Sends one message per address at once and waits until each is delivered. A recipient whose
 * pace slot is more than a few seconds away is deferred (ESITETHROTTLED) and retried at
 * max(the schedule's delay, its wait hint): a 1 s schedule keeps the test short, where the
 * standard profile would retry 5 minutes later.
 */
async function sendAll(addresses: string[]): Promise<void> {
  const receipts = await Promise.all(addresses.map((to) => rebound.send(testMessage([to], { id: `sites-limits-${uid()}`, delays: ['1s'] }))));
  const finals = await Promise.all(receipts.map((r) => rebound.result(r.messageId)));
  for (const f of finals) assert.equal(f.state, 'delivered', JSON.stringify(f.recipients[0]?.lastReply));
}

describe('limits shared by two worker processes', () => {
  test(`messagesPerMinute ${PER_MINUTE} holds across both workers, measured at the MX`, async (t) => {
    const n = 24;
    await sendAll(Array.from({ length: n }, (_, i) => `p${i}+${uid()}@paced.test`));
    const times = paced.arrivals.map((a) => a.at);
    assert.equal(times.length, n);
    const clients = new Set(paced.arrivals.map((a) => a.client));
    assert.deepEqual([...clients].sort(), ['w1.rebound.test', 'w2.rebound.test'], 'both workers sent');
    // One message a second, no burst beyond the first: in any 10 s at most 10 (+1 for the
    // window's edges, and the jitter between a slot and the MX's record of the message).
    const most = mostInWindow(times, 10_000);
    assert.ok(most <= 11, `${most} messages within 10 s`);
    const throttled = await pool.query("SELECT count(*)::int AS n FROM attempts WHERE recipient LIKE '%@paced.test' AND reply_text LIKE '%throttled to 60 per minute%'");
    t.diagnostic(`deferred as throttled: ${throttled.rows[0].n}`);
  });

  test(`connections ${CONNECTIONS} hold across both workers: the MX never sees more sessions at once`, async () => {
    const n = 14;
    await sendAll(Array.from({ length: n }, (_, i) => `c${i}+${uid()}@capped.test`));
    assert.equal(capped.arrivals.length, n);
    assert.ok(capped.maxSessions <= CONNECTIONS, `${capped.maxSessions} sessions at once`);
    const clients = new Set(capped.arrivals.map((a) => a.client));
    assert.deepEqual([...clients].sort(), ['w1.rebound.test', 'w2.rebound.test'], 'both workers sent');
    // Connections were reused up to messagesPerConnection, then replaced.
    assert.ok(capped.connections >= Math.ceil(n / 3), `${capped.connections} connections for ${n} messages`);
  });
});
