// A worker stopped (SIGSTOP) in the middle of a local-activity attempt, past the workflow task
// timeout (README "Performance" and "Reliability"): Temporal runs the workflow task, attempt
// included, again on the other worker. The send lease keeps that second run from sending while
// the first may still be alive, and the first, once continued, finds its lease gone and abandons
// its transaction before the body. One SMTP transaction reaches the end of DATA, never two.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import type { Pool } from 'pg';
import { ReboundClient } from '../../src/client/rebound-client';
import { createPool } from '../../src/db/pool';
import { prepareDatabase } from '../../src/db/setup';
import { localActivityType } from '../../src/delivery/attempt-events';
import { freePort, startDevServer, type DevServer } from '../../src/dev/temporal-server';
import { startSink, type BounceSink } from '../../src/sink';
import { TEST_DATABASE_URL, testMessage, uid } from '../helpers/stack';
import { eventually } from '../helpers/wait';
import { startWorkerProcess } from '../helpers/worker-process';


let server: DevServer;
let sink: BounceSink;
let pool: Pool;
let connection: Connection;
let rebound: ReboundClient;
const workers: ChildProcess[] = [];

const startWorker = (env: NodeJS.ProcessEnv): Promise<ChildProcess> => startWorkerProcess(env, workers);

before(async () => {
  await prepareDatabase(TEST_DATABASE_URL);
  server = await startDevServer({ port: await freePort(), uiPort: null, dbFile: null });
  sink = await startSink({ port: 0, log: () => undefined });
  pool = createPool(TEST_DATABASE_URL);
  const taskQueue = `stall-${uid()}`;
  const env = { ...process.env, TEMPORAL_ADDRESS: server.address, REBOUND_TASK_QUEUE: taskQueue, DATABASE_URL: TEST_DATABASE_URL, REBOUND_SMTP_URL: sink.url, REBOUND_LOG_LEVEL: 'info' };
  await Promise.all([startWorker(env), startWorker(env)]);
  connection = await Connection.connect({ address: server.address });
  rebound = new ReboundClient({ client: new Client({ connection }), pool, taskQueue });
});

after(async () => {
  for (const w of workers) {
    w.kill('SIGCONT');
    w.kill('SIGKILL');
  }
  await connection?.close();
  await pool?.end();
  await sink?.close();
  await server?.stop();
});

describe('a worker stopped inside a local-activity attempt', () => {
  test('past the workflow task timeout: the other worker delivers once, the stopped one sends no body', { timeout: 180_000 }, async () => {
    const tag = uid();
    // The relay holds the RCPT reply for 4 s: the attempt is mid-transaction when the worker stops.
    const to = `slow-4000+${tag}@example.test`;
    const { messageId } = await rebound.send(testMessage([to], { id: `stall-${tag}` }));

    // The send lease names the process whose run holds it (src/delivery/leases.ts).
    const holder = await eventually('an attempt holds the send lease', async () => (await pool.query('SELECT holder FROM send_leases WHERE message_id = $1', [messageId])).rows[0]?.holder as string | undefined, (h) => h !== undefined, 30_000);
    const pid = Number(/:(\d+)\//.exec(holder!)![1]);
    const stopped = workers.find((w) => w.pid === pid);
    assert.ok(stopped, `the lease holder ${holder} is one of the two workers`);
    // The lease is taken with the message read; then connect, MAIL, and the RCPT held 4 s.
    await new Promise((r) => setTimeout(r, 1500));
    stopped.kill('SIGSTOP');
    const stoppedAt = Date.now();

    // Stays stopped until the other worker has delivered: well past the workflow task timeout (10 s)
    // and the lease's 20 s.
    const final = await rebound.result(messageId);
    const stoppedForMs = Date.now() - stoppedAt;
    stopped.kill('SIGCONT');
    assert.equal(final.state, 'delivered');
    assert.equal(final.recipients[0].attempts, 1, 'one attempt: the rerun of the workflow task is the same attempt');

    // The continued worker reaches its check before the body, finds the lease gone, and drops the connection.
    const header = (await pool.query('SELECT message_id_header FROM messages WHERE id = $1', [messageId])).rows[0].message_id_header;
    const mine = () => sink.transactions().filter((t) => t.rcpt.some((r) => r.address === to));
    const txs = await eventually('both transactions ended', async () => mine(), (t) => t.length === 2 && t.every((x) => x.outcome !== undefined), 30_000);
    assert.equal(txs.filter((t) => t.data !== undefined).length, 1, `one transaction reached the end of DATA: ${JSON.stringify(txs)}`);
    assert.equal(sink.deliveries(header, to), 1, 'delivered once');

    const events = (await rebound.handle(messageId).fetchHistory()).events ?? [];
    assert.ok(events.some((e) => e.workflowTaskTimedOutEventAttributes), `the stop outlasted the workflow task timeout (stopped ${stoppedForMs} ms)`);
    assert.ok(!events.some((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'sendAttempt'), 'no regular send activity');
    assert.equal(events.filter((e) => localActivityType(e) === 'sendAttempt' && !e.markerRecordedEventAttributes?.failure).length, 1, 'one local attempt recorded');
    const logged = await pool.query('SELECT count(*)::int AS n FROM attempts WHERE message_id = $1', [messageId]);
    assert.equal(logged.rows[0].n, 1, 'one attempt in the attempt log');
  });
});
