// What the bench starts and stops: the bounce simulator (child process), a Temporal dev server
// per persistence mode, a worker child process per mode, and its own PostgreSQL database.
// Everything started is registered with `Cleanup`, which stops it on success, on error and on
// SIGINT/SIGTERM; a last synchronous SIGKILL on process exit catches any child left (the dev
// server's own exit hook in startDevServer does the same for the server).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { startInboundListener } from '../src/bounces/listener';
import { configDefault } from '../src/config';
import { createPool } from '../src/db/pool';
import { Cleanup as StackCleanup } from '../src/dev/cleanup';
import { prepareDatabase } from '../src/db/setup';
import { freePort, startDevServer, type DevServer, type DevServerExit } from '../src/dev/temporal-server';
import { PROJECT_ROOT } from '../src/dev/tools';
import type { LateReport, ReceivedMessage, SinkTransactionLog } from '../src/sink/server';
import { WORKER_NODE_FLAGS } from '../src/worker/worker';
import { sleep } from './measure';
import type { StatementCounts } from './pg-count-preload';

// ---------------------------------------------------------------- cleanup

/** The shared cleanup (src/dev/cleanup.ts), plus the bench's child processes. */
export class Cleanup extends StackCleanup {
  constructor() {
    super(20_000);
  }

  /**
   * A child process of the bench: SIGKILLed on exit if still running then, and stopped (SIGTERM,
   * then SIGKILL after `graceMs`) by a step registered under `name`. Returns that step.
   */
  child(name: string, child: ChildProcess, graceMs: number): () => Promise<void> {
    const forget = this.onExitSync(() => child.kill('SIGKILL'));
    return this.add(name, async () => {
      await stopChild(child, graceMs);
      forget();
    });
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
  /** The late reports the sink owes or mailed, with each try (scenario 8). */
  reports(): Promise<LateReport[]>;
}

async function getJson<T>(port: number, route: string): Promise<T> {
  const res = await fetch(`http://127.0.0.1:${port}${route}`);
  if (!res.ok) throw new Error(`the sink answered ${res.status} to GET ${route}`);
  return (await res.json()) as T;
}

/** `reportTo`: host:port the sink mails its late reports to (the bench's inbound listener), or "" for none; `port`: 0 for any. */
export async function startSinkChild(cleanup: Cleanup, reportTo: string, port = 0, name = 'sink'): Promise<RemoteSink> {
  const child = spawn(process.execPath, [path.join(__dirname, 'sink-child.js'), reportTo, String(port)], { stdio: ['pipe', 'pipe', 'pipe'] });
  cleanup.child(name, child, 5_000);
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
    reports: () => getJson(ready.controlPort, '/reports'),
  };
}

// ---------------------------------------------------------------- inbound listener (this process)

/** The return path every worker of the bench sends with (README "Late outcomes"). */
export interface ReturnPath {
  domain: string;
  secret: string;
}

export interface BenchInbound {
  returnPath: ReturnPath;
  /** host:port of the listener, for the sink's reportTo. Stopped by the cleanup, before its pool. */
  reportTo: string;
}

/**
 * `rebound inbound`'s SMTP listener in the bench process, on a free port, with its own pool: the
 * sink mails its late reports (scenario 8) to it. A return path of its own for the run: a
 * domain under .test and a fresh key, which the worker children are given too. Its CPU is the
 * bench process's. Its limits are the defaults (README "Configuration"): the 600 messages a
 * minute per client address are above the 300 reports scenario 8 has the one sink mail at most.
 */
export async function startBenchInbound(databaseUrl: string, cleanup: Cleanup): Promise<BenchInbound> {
  const returnPath: ReturnPath = { domain: 'bounces.bench.test', secret: randomBytes(32).toString('base64url') };
  const pool = createPool(databaseUrl, { max: 4 });
  cleanup.add('inbound listener pool', () => pool.end());
  // Warnings and errors only, to stderr: stdout is the bench's table or JSON.
  const logger = pino({ level: 'warn', base: { service: 'rebound-bench', component: 'inbound' } }, pino.destination({ fd: 2 }));
  const listener = await startInboundListener({
    pool,
    logger,
    config: {
      listen: { host: '127.0.0.1', port: 0 },
      bounceDomain: returnPath.domain,
      bounceSecret: returnPath.secret,
      maxBytes: Number(configDefault('REBOUND_INBOUND_MAX_BYTES')),
      maxConnections: Number(configDefault('REBOUND_INBOUND_MAX_CONNECTIONS')),
      ratePerMinute: Number(configDefault('REBOUND_INBOUND_RATE_LIMIT')),
    },
  });
  cleanup.add('inbound listener', () => listener.close());
  return { returnPath, reportTo: `${listener.host}:${listener.port}` };
}

// ---------------------------------------------------------------- Temporal dev server

export type PersistenceMode = 'file' | 'memory';

export interface BenchServer {
  mode: PersistenceMode;
  address: string;
  pid: number;
  dbFile: string | null;
  /** Resolves when the server process exits (stopped or not), with its code, signal and stderr's end. */
  exited: Promise<DevServerExit>;
  stop(): Promise<void>;
}

export async function startServer(mode: PersistenceMode, tmpDir: string, cleanup: Cleanup): Promise<BenchServer> {
  const port = await freePort();
  const dbFile = mode === 'file' ? path.join(tmpDir, `temporal-${port}.db`) : null;
  let onExit: (exit: DevServerExit) => void = () => undefined;
  const exited = new Promise<DevServerExit>((resolve) => (onExit = resolve));
  const server: DevServer = await startDevServer({ port, uiPort: null, dbFile, onExit });
  if (!server.started || server.pid === null) {
    await server.stop();
    throw new Error(`something was already listening on ${server.address}`);
  }
  // startDevServer SIGKILLs the server it started when this process exits.
  const stop = cleanup.add(`temporal dev server (${mode})`, () => server.stop());
  return { mode, address: server.address, pid: server.pid, dbFile, exited, stop };
}

// ---------------------------------------------------------------- worker (child process)

export interface WorkerChild {
  pid: number;
  logFile: string;
  /**
   * What the worker has sent to PostgreSQL so far (bench/pg-count-preload.ts): statements, those
   * naming a site table, and their time. Null for a worker started without the counter.
   */
  statements(): Promise<StatementCounts | null>;
  /**
   * Records a span of the run (Date.now() values) in windows.json of the worker's profile
   * directory, as milliseconds after the worker was spawned, so bench/profile-top.ts can read
   * that span alone. Does nothing for a worker started without `cpuProfDir`.
   */
  window(name: string, fromMs: number, toMs: number): void;
  stop(): Promise<void>;
}

export interface WorkerChildOptions {
  temporalAddress: string;
  databaseUrl: string;
  smtpUrl: string;
  taskQueue: string;
  logFile: string;
  returnPath: ReturnPath;
  /** Loads bench/pg-count-preload.ts into the worker, for statements() (scenario 9). */
  countStatements?: boolean;
  /** More of the environment, e.g. REBOUND_DELIVERY=direct and its DNS servers (scenario 9). */
  env?: Record<string, string>;
  /** Runs the worker with `node --cpu-prof` writing into this directory (created). */
  cpuProfDir?: string | null;
}

export async function startWorkerChild(opts: WorkerChildOptions, cleanup: Cleanup): Promise<WorkerChild> {
  const fd = openSync(opts.logFile, 'a');
  const preload = opts.countStatements ? ['-r', path.join(__dirname, 'pg-count-preload.js')] : [];
  // The profile is written when the process exits, which the SIGTERM of stop() lets it do.
  if (opts.cpuProfDir) mkdirSync(opts.cpuProfDir, { recursive: true });
  const profile = opts.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', opts.cpuProfDir] : [];
  const spawnedAt = Date.now();
  const child = spawn(process.execPath, [...WORKER_NODE_FLAGS, ...profile, ...preload, path.join(PROJECT_ROOT, 'bin/rebound.js'), 'worker'], {
    cwd: PROJECT_ROOT,
    stdio: opts.countStatements ? ['ignore', fd, fd, 'ipc'] : ['ignore', fd, fd],
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: opts.temporalAddress,
      DATABASE_URL: opts.databaseUrl,
      REBOUND_SMTP_URL: opts.smtpUrl,
      REBOUND_TASK_QUEUE: opts.taskQueue,
      // Scenario 7 registers its webhook receiver on 127.0.0.1 (README "Webhooks", URLs).
      REBOUND_WEBHOOKS_ALLOW_PRIVATE: '1',
      // Every attempt's envelope sender is b+<token>@<domain>, so scenario 8's DSNs name their
      // message; on for every scenario (a header and an HMAC per attempt: see returnPathMicrosPerAttempt).
      REBOUND_BOUNCE_DOMAIN: opts.returnPath.domain,
      REBOUND_BOUNCE_SECRET: opts.returnPath.secret,
      ...opts.env,
    },
  });
  closeSync(fd);
  const stop = cleanup.child(`worker ${child.pid}`, child, 15_000);
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
  const statements = (): Promise<StatementCounts | null> => {
    if (!opts.countStatements || !child.connected) return Promise.resolve(null);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        child.off('message', onMessage);
        resolve(null);
      }, 5_000);
      const onMessage = (m: unknown): void => {
        const counts = (m as { pgCounts?: StatementCounts } | null)?.pgCounts;
        if (!counts) return;
        clearTimeout(timer);
        child.off('message', onMessage);
        resolve(counts);
      };
      child.on('message', onMessage);
      child.send('pg-counts');
    });
  };
  if (opts.countStatements) child.channel?.unref();
  const windows: { name: string; fromMs: number; toMs: number }[] = [];
  const window = (name: string, fromMs: number, toMs: number): void => {
    if (!opts.cpuProfDir) return;
    windows.push({ name, fromMs: fromMs - spawnedAt, toMs: toMs - spawnedAt });
    writeFileSync(path.join(opts.cpuProfDir, 'windows.json'), JSON.stringify({ pid: child.pid, windows }, null, 2) + '\n');
  };
  return { pid: child.pid!, logFile: opts.logFile, statements, window, stop };
}

/** The worker for the ceiling workflows (bench/ceiling-child.ts), in a process of its own. */
export async function startCeilingChild(address: string, taskQueue: string, cleanup: Cleanup): Promise<{ pid: number; stop(): Promise<void> }> {
  const child = spawn(process.execPath, [path.join(__dirname, 'ceiling-child.js'), address, taskQueue], { stdio: ['pipe', 'pipe', 'pipe'] });
  const stop = cleanup.child(`ceiling worker ${child.pid}`, child, 10_000);
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
export async function prepareBenchDatabase(url: string): Promise<void> {
  await prepareDatabase(url);
  const pool = createPool(url, { max: 1 });
  try {
    // The webhook tables too: a run starts with no endpoint registered (scenario 7's "off");
    // and the late outcomes, whose rows reference the messages (scenario 8 counts its own).
    await pool.query(
      'TRUNCATE accepted_recipients, attempts, expirations, suppressions, messages, domain_hourly, domain_daily, domain_reply_hourly, webhook_endpoints, webhook_events, late_outcomes, inbound_reports, inbound_refusals',
    );
  } finally {
    await pool.end();
  }
}
