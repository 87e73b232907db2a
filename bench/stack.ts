// What the bench starts and stops: the bounce simulator (child process), a Temporal dev server
// per persistence mode, a worker child process per mode, and its own PostgreSQL database.
// Everything started is registered with `Cleanup`, which stops it on success, on error and on
// SIGINT/SIGTERM; a last synchronous SIGKILL on process exit catches anything left.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { Pool } from 'pg';
import { createPool } from '../src/db/pool';
import { prepareDatabase } from '../src/db/setup';
import { freePort, startDevServer, type DevServer } from '../src/dev/temporal-server';
import { PROJECT_ROOT } from '../src/dev/tools';
import type { ReceivedMessage, SinkTransactionLog } from '../src/sink/server';
import { WORKER_NODE_FLAGS } from '../src/worker/worker';
import { findPid, sleep } from './measure';

// ---------------------------------------------------------------- cleanup

export class Cleanup {
  private readonly steps: { name: string; fn: () => Promise<void> }[] = [];
  private readonly pids = new Set<number>();

  constructor() {
    process.on('exit', () => {
      for (const pid of this.pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    });
  }

  /** Registers an async stop step; steps run last-in first-out. Returns a function that runs it now. */
  add(name: string, fn: () => Promise<void>): () => Promise<void> {
    const step = { name, fn };
    this.steps.push(step);
    return async () => {
      const i = this.steps.indexOf(step);
      if (i < 0) return;
      this.steps.splice(i, 1);
      await fn();
    };
  }

  /** A pid SIGKILLed on exit if it is still registered then. */
  trackPid(pid: number): void {
    this.pids.add(pid);
  }

  untrackPid(pid: number): void {
    this.pids.delete(pid);
  }

  async runAll(log: (msg: string) => void): Promise<void> {
    while (this.steps.length > 0) {
      const step = this.steps.pop()!;
      try {
        await Promise.race([step.fn(), sleep(20_000).then(() => Promise.reject(new Error('timed out after 20 s')))]);
      } catch (err) {
        log(`cleanup: ${step.name} failed: ${(err as Error).message}`);
      }
    }
  }
}

function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

// ---------------------------------------------------------------- sink (child process)

export interface RemoteSink {
  url: string;
  pid: number;
  received(): Promise<ReceivedMessage[]>;
  transactions(): Promise<SinkTransactionLog[]>;
  duplicates(): Promise<{ messageId: string; recipient: string; count: number }[]>;
}

function getJson<T>(port: number, route: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: route, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as T);
        } catch (err) {
          reject(err);
        }
      });
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

export async function startSinkChild(cleanup: Cleanup): Promise<RemoteSink> {
  const child = spawn(process.execPath, [path.join(__dirname, 'sink-child.js')], { stdio: ['pipe', 'pipe', 'pipe'] });
  cleanup.trackPid(child.pid!);
  cleanup.add('sink', async () => {
    await stopChild(child, 5_000);
    cleanup.untrackPid(child.pid!);
  });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
  const ready = await new Promise<{ smtp: string; controlPort: number }>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(JSON.parse(out.slice(0, nl)));
    });
    child.once('exit', (code) => reject(new Error(`the sink exited with code ${code}: ${stderr}`)));
  });
  return {
    url: ready.smtp,
    pid: child.pid!,
    received: () => getJson(ready.controlPort, '/received'),
    transactions: () => getJson(ready.controlPort, '/transactions'),
    duplicates: () => getJson(ready.controlPort, '/duplicates'),
  };
}

// ---------------------------------------------------------------- Temporal dev server

export type PersistenceMode = 'file' | 'memory';

export interface BenchServer {
  mode: PersistenceMode;
  address: string;
  pid: number;
  dbFile: string | null;
  stop(): Promise<void>;
}

export async function startServer(mode: PersistenceMode, tmpDir: string, cleanup: Cleanup): Promise<BenchServer> {
  const port = await freePort();
  const dbFile = mode === 'file' ? path.join(tmpDir, `temporal-${port}.db`) : null;
  const server: DevServer = await startDevServer({ port, uiPort: null, dbFile });
  if (!server.started) throw new Error(`something was already listening on ${server.address}`);
  const pid = findPid(['start-dev', '--port', String(port)]);
  if (pid === null) {
    await server.stop();
    throw new Error('the Temporal dev server started but its process was not found in /proc');
  }
  cleanup.trackPid(pid);
  const stop = cleanup.add(`temporal dev server (${mode})`, async () => {
    await server.stop();
    cleanup.untrackPid(pid);
  });
  return { mode, address: server.address, pid, dbFile, stop };
}

// ---------------------------------------------------------------- worker (child process)

export interface WorkerChild {
  pid: number;
  logFile: string;
  stop(): Promise<void>;
}

export async function startWorkerChild(
  opts: { temporalAddress: string; databaseUrl: string; smtpUrl: string; taskQueue: string; logFile: string },
  cleanup: Cleanup,
): Promise<WorkerChild> {
  const fd = openSync(opts.logFile, 'a');
  const child = spawn(process.execPath, [...WORKER_NODE_FLAGS, path.join(PROJECT_ROOT, 'bin/rebound.js'), 'worker'], {
    cwd: PROJECT_ROOT,
    stdio: ['ignore', fd, fd],
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: opts.temporalAddress,
      DATABASE_URL: opts.databaseUrl,
      REBOUND_SMTP_URL: opts.smtpUrl,
      REBOUND_TASK_QUEUE: opts.taskQueue,
    },
  });
  closeSync(fd);
  cleanup.trackPid(child.pid!);
  const stop = cleanup.add(`worker ${child.pid}`, async () => {
    await stopChild(child, 15_000);
    cleanup.untrackPid(child.pid!);
  });
  const until = Date.now() + 90_000;
  for (;;) {
    const log = readFileSync(opts.logFile, 'utf8');
    if (log.includes('"worker ready"')) break;
    if (child.exitCode !== null) throw new Error(`the worker exited with code ${child.exitCode}:\n${log.slice(-3000)}`);
    if (Date.now() > until) throw new Error(`the worker was not ready within 90 s:\n${log.slice(-3000)}`);
    await sleep(200);
  }
  child.once('exit', (code, signal) => {
    if (code !== 0 && signal !== 'SIGTERM') process.stderr.write(`[bench] worker ${child.pid} exited (code ${code}, signal ${signal}); log: ${opts.logFile}\n`);
  });
  return { pid: child.pid!, logFile: opts.logFile, stop };
}

/** The worker for the ceiling workflows (bench/ceiling-child.ts), in a process of its own. */
export async function startCeilingChild(address: string, taskQueue: string, cleanup: Cleanup): Promise<{ pid: number; stop(): Promise<void> }> {
  const child = spawn(process.execPath, [path.join(__dirname, 'ceiling-child.js'), address, taskQueue], { stdio: ['pipe', 'pipe', 'pipe'] });
  cleanup.trackPid(child.pid!);
  const stop = cleanup.add(`ceiling worker ${child.pid}`, async () => {
    await stopChild(child, 10_000);
    cleanup.untrackPid(child.pid!);
  });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`the ceiling worker exited with code ${code}: ${stderr}`)));
  });
  return { pid: child.pid!, stop };
}

// ---------------------------------------------------------------- database

/** The bench's own database: REBOUND_BENCH_DATABASE_URL, else DATABASE_URL's server with /rebound_bench. */
export function benchDatabaseUrl(env: NodeJS.ProcessEnv = process.env): string {
  if (env.REBOUND_BENCH_DATABASE_URL) return env.REBOUND_BENCH_DATABASE_URL;
  const u = new URL(env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/rebound');
  u.pathname = '/rebound_bench';
  return u.toString();
}

/** Creates and migrates the bench database and empties it, so every run starts from the same state. */
export async function prepareBenchDatabase(url: string, cleanup: Cleanup): Promise<Pool> {
  await prepareDatabase(url);
  const pool = createPool(url, { max: 16 });
  cleanup.add('database pool', () => pool.end());
  await pool.query('TRUNCATE accepted_recipients, attempts, suppressions, messages');
  return pool;
}
