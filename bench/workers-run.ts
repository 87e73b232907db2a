// `npm run bench:workers`: where the limit moves with more worker processes. One Temporal dev
// server in memory, the bounce simulator, the bench's own database; scenario 0's ceiling once;
// then, for each k of --workers, k worker children (the main bench's settings) polling one task
// queue, a warm-up, and N messages submitted with 64 in flight until the simulator accepted them
// all (scenario 2's full-speed part). Per k: delivered/s, its ratio to the one-activity ceiling,
// CPU per delivered message of each process, the machine's busy %, submit -> accepted p50/p99,
// lost and duplicated. The workers of a k are stopped, their workflows finished, before the
// next k starts. Writes one JSON object (default bench/results/workers.json).
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { ReboundClient } from '../src/client/rebound-client';
import { dataConverterOption } from '../src/codec/data-converter';
import { loadConfig } from '../src/config';
import { createPool } from '../src/db/pool';
import { PROJECT_ROOT } from '../src/dev/tools';
import { acceptedTimes, finalStates, request, submit, tallyAccepted, untilAccepted, untilFinished, type ModeContext } from './context';
import { cpuBetween, cpuSecondsOf, cpuSnapshot, machine, round, sleep, summarize, type CpuSnapshot, type Summary } from './measure';
import { runCeiling, type CeilingResult } from './scenarios/ceiling';
import { benchDatabaseUrl, Cleanup, prepareBenchDatabase, startServer, startSinkChild, startWorkerChild, type BenchServer, type RemoteSink, type ReturnPath, type WorkerChild } from './stack';
import { positiveInteger, runEntry } from './entry';

const T0 = Date.now();
const log = (msg: string): void => {
  process.stderr.write(`[workers ${((Date.now() - T0) / 1000).toFixed(1).padStart(5)} s] ${msg}\n`);
};

interface Options {
  workers: number[];
  messages: number;
  concurrency: number;
  warmup: number;
  out: string;
}

const USAGE = `usage: node dist/bench/workers-run.js [--workers 1,2,3] [--messages N] [--concurrency C] [--warmup W] [--out FILE]`;

function parseOptions(argv: string[]): Options {
  const opts: Options = { workers: [1, 2, 3], messages: 1000, concurrency: 64, warmup: 100, out: path.join(PROJECT_ROOT, 'bench/results/workers.json') };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value\n${USAGE}`);
      return v;
    };
    const positive = (v: string): number => positiveInteger(flag, v);
    if (flag === '--workers') opts.workers = value().split(',').map(positive);
    else if (flag === '--messages') opts.messages = positive(value());
    else if (flag === '--concurrency') opts.concurrency = positive(value());
    else if (flag === '--warmup') opts.warmup = positive(value());
    else if (flag === '--out') opts.out = path.resolve(value());
    else throw new Error(`unknown option ${flag}\n${USAGE}`);
  }
  return opts;
}

// ---------------------------------------------------------------- CPU of k workers

interface Snap {
  base: CpuSnapshot;
  /** CPU seconds of each worker process (and its children), same order as the workers. */
  workers: number[];
}

function snap(server: BenchServer, sink: RemoteSink, workers: WorkerChild[]): Snap {
  // The worker field of the shared snapshot stays empty: the k workers are read on their own.
  return { base: cpuSnapshot({ server: server.pid, worker: null, sink: sink.pid }), workers: cpuSecondsOf(workers.map((w) => w.pid)) };
}

interface WindowCpu {
  seconds: number;
  /** % of one core (200 % = both cores of a 2-core machine). */
  serverPct: number;
  workersPct: number;
  eachWorkerPct: number[];
  postgresPct: number;
  clientPct: number;
  sinkPct: number;
  machinePct: number;
  /** The machine minus all of the above: other people's work on the shared machine. */
  otherPct: number;
  stealPct: number;
}

function windowCpu(a: Snap, b: Snap): WindowCpu {
  const use = cpuBetween(a.base, b.base);
  const pct = (x: number, y: number): number => (use.seconds > 0 ? round(((y - x) / ((b.base.atMs - a.base.atMs) / 1000)) * 100)! : 0);
  const eachWorkerPct = a.workers.map((w, i) => pct(w, b.workers[i]!));
  const workersPct = round(eachWorkerPct.reduce((s, x) => s + x, 0))!;
  const ours = use.serverPct + workersPct + use.postgresPct + use.benchPct + use.sinkPct;
  return {
    seconds: use.seconds,
    serverPct: use.serverPct,
    workersPct,
    eachWorkerPct,
    postgresPct: use.postgresPct,
    clientPct: use.benchPct,
    sinkPct: use.sinkPct,
    machinePct: use.machinePct,
    otherPct: Math.max(0, round(use.machinePct - ours)!),
    stealPct: use.stealPct,
  };
}

/** CPU milliseconds per message between two snapshots. */
function perMessage(a: Snap, b: Snap, n: number): { server: number; workers: number; eachWorker: number[]; postgres: number; client: number; sink: number } {
  const ms = (x: number, y: number): number => round(((y - x) * 1000) / n)!;
  const eachWorker = a.workers.map((w, i) => ms(w, b.workers[i]!));
  return {
    server: ms(a.base.server, b.base.server),
    workers: round(eachWorker.reduce((s, x) => s + x, 0))!,
    eachWorker,
    postgres: ms(a.base.postgres, b.base.postgres),
    client: ms(a.base.bench, b.base.bench),
    sink: ms(a.base.sink, b.base.sink),
  };
}

/**
 * Waits until the server and every worker are idle (server under 20 % of a core, the workers
 * under 5 % each, over half a second), like context.ts's quiesce but for k workers. Returns the
 * time (Date.now()) the quiet half second began, or null on timeout.
 */
async function quiesceAll(server: BenchServer, sink: RemoteSink, workers: WorkerChild[], timeoutMs = 180_000): Promise<number | null> {
  const until = Date.now() + timeoutMs;
  let before = snap(server, sink, workers);
  let beforeAt = Date.now();
  while (Date.now() < until) {
    await sleep(500);
    const now = snap(server, sink, workers);
    const use = windowCpu(before, now);
    if (use.serverPct < 20 && use.eachWorkerPct.every((p) => p < 5)) return beforeAt;
    before = now;
    beforeAt = Date.now();
  }
  log(`the server and the workers did not go idle within ${timeoutMs / 1000} s`);
  return null;
}

// ---------------------------------------------------------------- one k

interface KResult {
  k: number;
  workerPids: number[];
  n: number;
  concurrency: number;
  /** Warm-up messages (not measured) and their rate, first submit until idle. */
  warmup: { n: number; perSecond: number | null };
  submitPerSecond: number;
  /** First submit to last acceptance by the simulator. */
  deliveredSeconds: number;
  deliveredPerSecond: number;
  /** deliveredPerSecond / scenario 0's one-activity workflows per second (same server). */
  ratioToOneActivityCeiling: number | null;
  /** First submit until the server and the workers are idle again. */
  drainedSeconds: number | null;
  sustainedPerSecond: number | null;
  /** Simulator's receivedAt minus the start of the send() call, ms. */
  acceptedMs: Summary;
  /** Duration of the client's send() call, ms. */
  clientCallMs: Summary;
  /** First submit until every message was accepted: % of one core per process and the machine. */
  cpu: WindowCpu;
  /** CPU ms per delivered message, first submit until idle again (all the work a message causes). */
  cpuMsPerDelivered: ReturnType<typeof perMessage>;
  lost: number;
  duplicates: number;
  /** Delivery workflows of this k still running when its workers were stopped (should be 0). */
  stillRunningAtStop: number;
}

async function runK(
  k: number,
  opts: Options,
  stack: { server: BenchServer; sink: RemoteSink; temporal: Client; pool: ReturnType<typeof createPool>; sdkPool: ReturnType<typeof createPool>; databaseUrl: string; returnPath: ReturnPath; tmpDir: string; tag: string; cleanup: Cleanup },
  ceilingPerSecond: number | null,
): Promise<KResult> {
  const { server, sink, temporal, cleanup } = stack;
  const tag = `${stack.tag}k${k}`;
  const taskQueue = `bench-${tag}`;
  log(`k=${k}: starting ${k} worker${k > 1 ? 's' : ''} on task queue ${taskQueue}`);
  // Started together, as the main bench starts its two: they bundle their workflows at once.
  const workers = await Promise.all(
    Array.from({ length: k }, (_, i) =>
      startWorkerChild(
        {
          temporalAddress: server.address,
          databaseUrl: stack.databaseUrl,
          smtpUrl: sink.url,
          taskQueue,
          returnPath: stack.returnPath,
          // As the main bench's worker: the statement counter is loaded (a wrapper per query).
          countStatements: true,
          logFile: path.join(stack.tmpDir, `worker-k${k}-${i}.log`),
        },
        cleanup,
      ),
    ),
  );
  log(`k=${k}: workers ${workers.map((w) => w.pid).join(', ')} ready`);
  const ctx: ModeContext = {
    mode: 'memory',
    tag,
    server,
    // context.ts's helpers used here (submit, untilAccepted, acceptedTimes, finalStates) read
    // only the client, the pools and the sink; CPU is read for all k workers by snap().
    worker: workers[0]!,
    sink,
    temporal,
    rebound: new ReboundClient({ client: temporal, pool: stack.sdkPool, taskQueue }),
    taskQueue,
    pool: stack.pool,
    log,
  };
  try {
    // Warm-up (not measured): JIT, pools and the workflow bundle of every worker.
    const warm = Array.from({ length: opts.warmup }, (_, i) => request(`${tag}-w-${i}`, `warm+${tag}${i}@example.test`));
    const warmStart = Date.now();
    await submit(ctx, warm, { concurrency: opts.concurrency });
    if (!(await untilAccepted(ctx, warm.map((r) => r.id!), 120_000))) throw new Error(`k=${k}: warm-up messages were not delivered within 120 s`);
    const warmQuiet = await quiesceAll(server, sink, workers);
    const warmPerSecond = warmQuiet === null ? null : round(opts.warmup / ((warmQuiet - warmStart) / 1000));
    log(`k=${k}: warm-up ${opts.warmup} messages, ${warmPerSecond}/s until idle`);

    const reqs = Array.from({ length: opts.messages }, (_, i) => request(`${tag}-r-${i}`, `rcpt+${tag}r${i}@example.test`));
    const ids = reqs.map((r) => r.id!);
    const before = snap(server, sink, workers);
    const submitted = await submit(ctx, reqs, { concurrency: opts.concurrency });
    const submitEnd = Date.now();
    const timeoutMs = 120_000 + reqs.length * 50;
    if (!(await untilAccepted(ctx, ids, timeoutMs))) log(`k=${k}: not every message was accepted within ${timeoutMs / 1000} s`);
    const after = snap(server, sink, workers);
    await untilFinished(ctx, ids, 60_000);
    const drainedAt = await quiesceAll(server, sink, workers);
    const drained = snap(server, sink, workers);

    const states = await finalStates(stack.pool, ids);
    const accepted = await acceptedTimes(ctx);
    const { firstSubmit, lastAccepted, latencies, lost } = tallyAccepted(submitted, accepted, states);
    const duplicates = (await sink.duplicates()).filter((d) => d.messageId.includes(`${tag}-`)).length;
    const deliveredSeconds = (lastAccepted - firstSubmit) / 1000;
    const deliveredPerSecond = (reqs.length - lost) / deliveredSeconds;
    const drainedSeconds = drainedAt === null ? null : (Math.max(drainedAt, lastAccepted) - firstSubmit) / 1000;
    // Every workflow of this k must be closed before its workers go (the brief's rule; the
    // messages are delivered by now, this checks the runs closed too).
    let stillRunning = 0;
    for (let i = 0; i < 60; i++) {
      stillRunning = (await temporal.workflow.count(`TaskQueue = "${taskQueue}" AND ExecutionStatus = "Running"`)).count;
      if (stillRunning === 0) break;
      await sleep(500);
    }
    const result: KResult = {
      k,
      workerPids: workers.map((w) => w.pid),
      n: reqs.length,
      concurrency: opts.concurrency,
      warmup: { n: opts.warmup, perSecond: warmPerSecond },
      submitPerSecond: round(reqs.length / ((submitEnd - firstSubmit) / 1000))!,
      deliveredSeconds: round(deliveredSeconds)!,
      deliveredPerSecond: round(deliveredPerSecond)!,
      ratioToOneActivityCeiling: ceilingPerSecond ? round(deliveredPerSecond / ceilingPerSecond, 2) : null,
      drainedSeconds: round(drainedSeconds),
      sustainedPerSecond: drainedSeconds === null ? null : round((reqs.length - lost) / drainedSeconds),
      acceptedMs: summarize(latencies),
      clientCallMs: summarize(submitted.filter((s) => s.t1 !== null).map((s) => s.t1! - s.t0)),
      cpu: windowCpu(before, after),
      cpuMsPerDelivered: perMessage(before, drained, Math.max(1, reqs.length - lost)),
      lost,
      duplicates,
      stillRunningAtStop: stillRunning,
    };
    log(
      `k=${k}: delivered ${result.deliveredPerSecond}/s (${result.ratioToOneActivityCeiling} of the ceiling), accepted p50 ${result.acceptedMs.p50} / p99 ${result.acceptedMs.p99} ms; ` +
        `CPU % server ${result.cpu.serverPct}, workers ${result.cpu.eachWorkerPct.join('+')}, postgres ${result.cpu.postgresPct}, client ${result.cpu.clientPct}, machine ${result.cpu.machinePct}; lost ${lost}, duplicates ${duplicates}`,
    );
    return result;
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
  }
}

// ---------------------------------------------------------------- the limit, in words

/**
 * Which process saturates at each k, from the CPU figures of the delivery window: the machine
 * when it is at 90 % of all its cores, else a process at 90 % of one core (a Node worker runs
 * its JavaScript on one thread; the dev server is Go and can use more than one core, so it is
 * only called the limit at one core when the machine has no core to spare either), else none.
 */
export function limitSentence(results: KResult[], cores: number): string {
  const parts = results.map((r) => {
    const c = r.cpu;
    const busiestWorker = Math.max(...c.eachWorkerPct);
    let limit: string;
    if (c.machinePct >= 90 * cores) limit = `the machine (${c.machinePct} % of ${cores * 100} %; server ${c.serverPct} %, workers ${c.workersPct} %, PostgreSQL ${c.postgresPct} %, others ${c.otherPct} %)`;
    else if (busiestWorker >= 90) limit = `a worker process (${busiestWorker} % of a core)`;
    else if (c.serverPct >= 90) limit = `the Temporal server (${c.serverPct} % of a core, machine ${c.machinePct} %)`;
    else limit = `no process (server ${c.serverPct} %, busiest worker ${busiestWorker} %, machine ${c.machinePct} %)`;
    return `k=${r.k}: ${r.deliveredPerSecond} delivered/s${r.ratioToOneActivityCeiling === null ? '' : ` (${r.ratioToOneActivityCeiling} of the one-activity ceiling)`}, limited by ${limit}`;
  });
  const first = results[0];
  const gains = results
    .slice(1)
    .map((r) => (first ? `${r.k} workers ${r.deliveredPerSecond >= first.deliveredPerSecond ? '+' : ''}${round(((r.deliveredPerSecond - first.deliveredPerSecond) / first.deliveredPerSecond) * 100, 0)} %` : ''))
    .filter(Boolean);
  return `${parts.join('; ')}.${first && gains.length > 0 ? ` Against ${first.k} worker${first.k > 1 ? 's' : ''}: ${gains.join(', ')} delivered/s.` : ''}`;
}

// ---------------------------------------------------------------- main

async function main(): Promise<number> {
  const opts = parseOptions(process.argv.slice(2));
  const cleanup = new Cleanup();
  const tmpDir = mkdtempSync(path.join(os.tmpdir(), 'rebound-workers-'));
  let keepTmp = false;
  cleanup.add('temp dir', async () => {
    if (keepTmp) log(`kept ${tmpDir} (worker logs) for inspection`);
    else rmSync(tmpDir, { recursive: true, force: true });
  });
  cleanup.installSignalHandlers(log);
  const started = new Date();
  try {
    const m = machine();
    log(`machine: ${m.cores} cores, ${m.memoryGb} GB, ${m.cpuModel}; options: ${JSON.stringify(opts)}`);
    const databaseUrl = benchDatabaseUrl();
    await prepareBenchDatabase(databaseUrl);
    // No inbound listener: nothing here bounces later. The workers still send with a return path,
    // as the main bench's do (a token and a header per attempt).
    const returnPath: ReturnPath = { domain: 'bounces.bench.test', secret: randomBytes(32).toString('base64url') };
    const sink = await startSinkChild(cleanup, '');
    const server = await startServer('memory', tmpDir, cleanup);
    log(`simulator ${sink.url} (pid ${sink.pid}); Temporal dev server in memory on ${server.address} (pid ${server.pid})`);
    const pool = createPool(databaseUrl, { max: 4 });
    cleanup.add('polling pool', () => pool.end());
    const sdkPool = createPool(databaseUrl);
    cleanup.add('client pool', () => sdkPool.end());
    const connection = await Connection.connect({ address: server.address });
    cleanup.add('client connection', () => connection.close());
    const temporal = new Client({ connection, namespace: 'default', ...dataConverterOption(loadConfig().payloadKeys) });
    const tag = `s${randomBytes(3).toString('hex')}`;

    const ceilingN = Math.min(opts.messages, 1000);
    log(`scenario 0: Temporal ceiling, ${ceilingN} workflows of each kind`);
    const ceiling: CeilingResult = await runCeiling(temporal, server, { n: ceilingN, concurrency: opts.concurrency, tag, cleanup, log });
    const oneActivity = ceiling.runs.find((r) => r.kind === 'oneActivityWorkflow')?.completedPerSecond ?? null;

    const results: KResult[] = [];
    for (const k of opts.workers) {
      results.push(await runK(k, opts, { server, sink, temporal, pool, sdkPool, databaseUrl, returnPath, tmpDir, tag, cleanup }, oneActivity));
    }
    const out = {
      kind: 'rebound-bench-workers',
      startedAt: started.toISOString(),
      durationSeconds: round((Date.now() - started.getTime()) / 1000),
      machine: m,
      persistence: 'Temporal dev server in memory',
      options: opts,
      ceiling,
      workers: results,
      limit: limitSentence(results, m.cores),
      lost: ceiling.lost + results.reduce((s, r) => s + r.lost, 0),
      duplicates: results.reduce((s, r) => s + r.duplicates, 0),
    };
    mkdirSync(path.dirname(opts.out), { recursive: true });
    writeFileSync(opts.out, JSON.stringify(out, null, 2) + '\n');
    log(`limit: ${out.limit}`);
    log(`wrote ${opts.out}`);
    process.stdout.write(JSON.stringify(out) + '\n');
    return out.lost > 0 || out.duplicates > 0 ? 1 : 0;
  } catch (err) {
    keepTmp = true;
    throw err;
  } finally {
    await cleanup.run(log);
  }
}

if (require.main === module) {
  runEntry(main, log);
}
