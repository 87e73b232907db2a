// End to end on the Temporal dev server: the `rebound` CLI in its own processes, a worker in
// a child process that the test kills and restarts, and the bounce simulator.
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { prepareDatabase } from '../../src/db/setup';
import { freePort, startDevServer, type DevServer } from '../../src/dev/temporal-server';
import { startSink, type BounceSink } from '../../src/sink';
import type { DeliveryStatus } from '../../src/delivery/contract';
import { TEST_DATABASE_URL, uid } from '../helpers/stack';

const BIN = path.resolve(__dirname, '../../../bin/rebound.js');
const run = promisify(execFile);

let server: DevServer;
let sink: BounceSink;
let env: NodeJS.ProcessEnv;
let worker: ChildProcess | null = null;

function startWorker(): Promise<ChildProcess> {
  const child = spawn(process.execPath, [BIN, 'worker'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('"worker ready"')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`worker exited with ${code} before it was ready:\n${out}`)));
  });
}

async function killWorker(): Promise<void> {
  if (!worker || worker.exitCode !== null) return;
  const exited = new Promise((r) => worker!.once('exit', r));
  worker.kill('SIGKILL');
  await exited;
  worker = null;
}

async function cli<T = unknown>(...args: string[]): Promise<T> {
  const { stdout } = await run(process.execPath, [BIN, ...args, '--json'], { env });
  return JSON.parse(stdout.trim().split('\n').pop()!) as T;
}

before(async () => {
  await prepareDatabase(TEST_DATABASE_URL);
  const port = await freePort();
  server = await startDevServer({ port, uiPort: null, dbFile: null });
  sink = await startSink({ port: 0, log: () => undefined });
  env = {
    ...process.env,
    TEMPORAL_ADDRESS: server.address,
    REBOUND_TASK_QUEUE: `e2e-${uid()}`,
    DATABASE_URL: TEST_DATABASE_URL,
    REBOUND_SMTP_URL: sink.url,
    REBOUND_LOG_LEVEL: 'info',
  };
  worker = await startWorker();
});

after(async () => {
  await killWorker();
  await sink?.close();
  await server?.stop();
});

async function messageIdHeaderOf(id: string): Promise<string> {
  const received = sink.received().find((m) => m.messageId?.startsWith(`<${id}@`));
  assert.ok(received, `the simulator received ${id}`);
  return received.messageId!;
}

describe('end to end on the dev server', () => {
  test('the CLI sends to the simulator and status shows each recipient\'s state', async () => {
    const tag = uid();
    const id = `e2e-${tag}`;
    const to = [`ok+${tag}@example.test`, `unknown+${tag}@example.test`, `soft-1+${tag}@example.test`];
    const receipt = await cli<{ messageId: string; created: boolean }>(
      'send', '--from', 'sender@rebound.test', '--to', to.join(','), '--subject', 'Hello', '--text', 'Hi there',
      '--id', id, '--delays', '1s', '--deadline', '30s',
    );
    assert.deepEqual([receipt.messageId, receipt.created], [id, true]);
    const final = await cli<DeliveryStatus>('wait', id, '--timeout', '60s');
    assert.equal(final.state, 'partially_delivered');
    const states = Object.fromEntries(final.recipients.map((r) => [r.address, r.state]));
    assert.deepEqual(states, { [to[0]]: 'delivered', [to[1]]: 'bounced', [to[2]]: 'delivered' });
    const status = await cli<DeliveryStatus>('status', id);
    assert.equal(status.state, 'partially_delivered');
    assert.equal(status.attempts, 2);
    assert.equal(status.recipients.find((r) => r.address === to[1])!.lastReply!.category, 'unknown_user');
  });

  test('the same --id twice sends once', async () => {
    const tag = uid();
    const id = `e2e-dup-${tag}`;
    const args = ['send', '--from', 'sender@rebound.test', '--to', `once+${tag}@example.test`, '--subject', 'Once', '--text', 'Only once', '--id', id];
    const [first, second] = await Promise.all([cli<{ created: boolean }>(...args), cli<{ created: boolean }>(...args)]);
    assert.deepEqual([first.created, second.created].sort(), [false, true]);
    const final = await cli<DeliveryStatus>('wait', id, '--timeout', '60s');
    assert.equal(final.state, 'delivered');
    const again = await cli<{ created: boolean }>(...args);
    assert.equal(again.created, false);
    assert.equal(sink.deliveries(await messageIdHeaderOf(id), `once+${tag}@example.test`), 1);
  });

  test('a worker killed while a message sleeps is restarted and finishes it with no duplicate', async () => {
    const tag = uid();
    const id = `e2e-crash-${tag}`;
    const to = [`first+${tag}@example.test`, `soft-1+${tag}@example.test`];
    await cli('send', '--from', 'sender@rebound.test', '--to', to.join(','), '--subject', 'Crash', '--text', 'Survive it', '--id', id, '--delays', '4s', '--deadline', '60s');
    let status: DeliveryStatus | null = null;
    for (let i = 0; i < 100 && status?.state !== 'retrying'; i++) {
      status = await cli<DeliveryStatus>('status', id).catch(() => null);
      if (status?.state !== 'retrying') await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(status?.state, 'retrying', 'the message sleeps before its second attempt');
    await killWorker();
    // The durable timer fires while no worker runs; the next worker picks the delivery up.
    await new Promise((r) => setTimeout(r, 5000));
    worker = await startWorker();
    const final = await cli<DeliveryStatus>('wait', id, '--timeout', '60s');
    assert.equal(final.state, 'delivered');
    const header = await messageIdHeaderOf(id);
    assert.equal(sink.deliveries(header, to[0]), 1, 'the first recipient was not sent again');
    assert.equal(sink.deliveries(header, to[1]), 1);
    assert.deepEqual(sink.duplicates(), []);
  });

  test('classify reads replies from stdin, one JSON object per line', async () => {
    const child = spawn(process.execPath, [BIN, 'classify'], { env, stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    child.stdin!.end('552 5.2.2 The email account that you tried to reach is over quota\n550 5.1.1 User unknown\n450 4.2.0 Greylisted, try again in 300 seconds\n');
    await new Promise((r) => child.once('exit', r));
    const lines = out.trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(
      lines.map((l) => [l.kind, l.category, l.code, l.enhanced, l.retryAfterMs]),
      [
        ['soft', 'mailbox_full', 552, '5.2.2', null],
        ['hard', 'unknown_user', 550, '5.1.1', null],
        ['soft', 'greylisted', 450, '4.2.0', 300_000],
      ],
    );
  });
});
