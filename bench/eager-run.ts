// `npm run bench:eager`: what eager workflow start saves for Rebound's delivery workflow.
//
// Eager start (client option `requestEagerStart`, @temporalio/client >= 1.24) hands the first
// workflow task back in the StartWorkflowExecution response instead of through the server's
// matching service. The SDK's core does it only when the Client talks through a NativeConnection
// (the Client throws otherwise) and a Worker created on that same NativeConnection, for the same
// namespace and task queue, has a free workflow-task slot; else it quietly clears the flag and
// the start is a normal one. A NativeConnection lives in one process, so the worker must run in
// the process that calls send(): "send and deliver in one process".
//
// So here one process holds both: Rebound's own worker (createReboundWorker: the delivery
// workflow, its activities, the relay sender) on a NativeConnection, and a ReboundClient whose
// Client uses that connection. A client interceptor sets `requestEagerStart` on the start when a
// batch asks for it and records whether the server started the run eagerly (`eagerlyStarted`).
// Batches with and without it alternate (--rounds), at two loads: 64 sends in flight (full
// speed), and paced at half the rate the plain full-speed batches completed (latency with
// headroom; a bounded number of send() calls in flight is no light load, since send() returns
// once the run is started). Writes one JSON object (default bench/results/eager.json).
import './quiet-logs';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, type WorkflowClientInterceptor } from '@temporalio/client';
import { temporal as proto } from '@temporalio/proto';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { ReboundClient } from '../src/client/rebound-client';
import { dataConverterOption } from '../src/codec/data-converter';
import { loadConfig } from '../src/config';
import { createPool } from '../src/db/pool';
import { deliveryWorkflowId } from '../src/delivery/contract';
import { PROJECT_ROOT } from '../src/dev/tools';
import type { SendRequest } from '../src/message/validate';
import { createReboundWorker } from '../src/worker/worker';
import { acceptedKey, countFinished, request } from './context';
import { countEvents, eventMs, fetchEvents } from './history';
import { cpuBetween, cpuSnapshot, machine, round, runBounded, runPaced, sleep, summarize, waitFor, type CpuSnapshot, type Summary } from './measure';
import { benchDatabaseUrl, Cleanup, prepareBenchDatabase, startServer, startSinkChild, type BenchServer, type RemoteSink } from './stack';
import { runEntry } from './entry';

const ET = proto.api.enums.v1.EventType;
const T0 = Date.now();
const log = (msg: string): void => {
  process.stderr.write(`[eager ${((Date.now() - T0) / 1000).toFixed(1).padStart(5)} s] ${msg}\n`);
};

interface Options {
  messages: number;
  lightMessages: number;
  concurrency: number;
  /** Sends per second of the light load; null: half the plain full-speed completed rate. */
  lightRate: number | null;
  rounds: number;
  warmup: number;
  out: string;
}

const USAGE = `usage: node dist/bench/eager-run.js [--messages N] [--light-messages M] [--concurrency C] [--light-rate L] [--rounds R] [--warmup W] [--out FILE]
  N messages each way (with and without eager start) at C in flight, then M each way paced at L/s
  (default: half the rate the plain full-speed batches completed), in R alternating rounds`;

function parseOptions(argv: string[]): Options {
  const opts: Options = { messages: 500, lightMessages: 200, concurrency: 64, lightRate: null, rounds: 2, warmup: 100, out: path.join(PROJECT_ROOT, 'bench/results/eager.json') };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value\n${USAGE}`);
      return v;
    };
    const int = (v: string, min: number): number => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < min) throw new Error(`${flag} wants an integer >= ${min}, got "${v}"\n${USAGE}`);
      return n;
    };
    if (flag === '--messages') opts.messages = int(value(), 1);
    else if (flag === '--light-messages') opts.lightMessages = int(value(), 0);
    else if (flag === '--concurrency') opts.concurrency = int(value(), 1);
    else if (flag === '--light-rate') opts.lightRate = int(value(), 1);
    else if (flag === '--rounds') opts.rounds = int(value(), 1);
    else if (flag === '--warmup') opts.warmup = int(value(), 1);
    else if (flag === '--out') opts.out = path.resolve(value());
    else throw new Error(`unknown option ${flag}\n${USAGE}`);
  }
  return opts;
}

// ---------------------------------------------------------------- eager start, switched per batch

/** Sets `requestEagerStart` while `on`, and records what the server answered for each start. */
function eagerSwitch(): { interceptor: WorkflowClientInterceptor; state: { on: boolean; eagerly: Map<string, boolean> } } {
  const state = { on: false, eagerly: new Map<string, boolean>() };
  const interceptor: WorkflowClientInterceptor = {
    async startWithDetails(input, next) {
      const out = await next(state.on ? { ...input, options: { ...input.options, requestEagerStart: true } } : input);
      state.eagerly.set(input.options.workflowId, out.eagerlyStarted);
      return out;
    },
  };
  return { interceptor, state };
}

// ---------------------------------------------------------------- one batch

interface Batch {
  eager: boolean;
  n: number;
  /** Sends in flight (full speed) or null when paced. */
  concurrency: number | null;
  /** Sends per second when paced. */
  rate: number | null;
  /** First send() call to last send() resolved. */
  submitSeconds: number;
  /** First send() call to the last workflow completed (its history's last event). */
  completedSeconds: number;
  /** First submit until the server and this process are idle again. */
  drainedSeconds: number;
  /** send() call until its workflow completed, ms (server's event time; same clock). */
  completedMs: number[];
  /** send() call until the simulator accepted the message, ms. */
  acceptedMs: number[];
  /** The send() call itself: validate, compose, INSERT, start (the start now carrying the first task when eager). */
  clientCallMs: number[];
  /** WorkflowExecutionStarted to the first WorkflowTaskStarted, ms: near 0 when eager. */
  firstTaskMs: number[];
  events: number[];
  workflowTasks: number[];
  eagerlyStarted: number;
  lost: number;
  cpu: { from: CpuSnapshot; to: CpuSnapshot };
}

interface Stack {
  server: BenchServer;
  sink: RemoteSink;
  rebound: ReboundClient;
  temporal: Client;
  pool: ReturnType<typeof createPool>;
  taskQueue: string;
  state: { on: boolean; eagerly: Map<string, boolean> };
}

const snap = (s: Stack): CpuSnapshot => cpuSnapshot({ server: s.server.pid, worker: null, sink: s.sink.pid });

/** Until the server is under 20 % of a core and this process (client and worker) under 10 %, over half a second. */
async function quiesce(s: Stack, timeoutMs = 120_000): Promise<number> {
  const until = Date.now() + timeoutMs;
  let before = snap(s);
  let beforeAt = Date.now();
  while (Date.now() < until) {
    await sleep(500);
    const now = snap(s);
    const use = cpuBetween(before, now);
    if (use.serverPct < 20 && use.benchPct < 10) return beforeAt;
    before = now;
    beforeAt = Date.now();
  }
  log(`the server and this process did not go idle within ${timeoutMs / 1000} s`);
  return Date.now();
}

type Load = { concurrency: number } | { rate: number; maxInFlight: number };

async function runBatch(s: Stack, reqs: SendRequest[], load: Load, eager: boolean): Promise<Batch> {
  const ids = reqs.map((r) => r.id!);
  s.state.on = eager;
  const t0s = new Map<string, number>();
  const calls: number[] = [];
  let lastResolved = 0;
  let failed = 0;
  const from = snap(s);
  const firstSubmit = Date.now();
  const one = async (req: SendRequest): Promise<void> => {
    const t0 = Date.now();
    t0s.set(req.id!, t0);
    try {
      await s.rebound.send(req);
      const t1 = Date.now();
      calls.push(t1 - t0);
      lastResolved = Math.max(lastResolved, t1);
    } catch (err) {
      failed++;
      if (failed === 1) log(`a send failed: ${(err as Error).message}`);
    }
  };
  if ('concurrency' in load) await runBounded(reqs, load.concurrency, one);
  else await runPaced(reqs, load.rate, load.maxInFlight, one);
  s.state.on = false;
  await waitFor(async () => (await countFinished(s.pool, ids)) >= ids.length, 120_000 + ids.length * 50, 100);
  await waitFor(async () => (await s.temporal.workflow.count(`TaskQueue = "${s.taskQueue}" AND ExecutionStatus = "Running"`)).count === 0, 60_000, 250);
  const drainedAt = await quiesce(s);
  const to = snap(s);

  // Read after the CPU window: the histories and the simulator's log.
  const accepted = new Map<string, number>();
  for (const m of await s.sink.received()) {
    if (!m.messageId) continue;
    const key = m.messageId.replace(/^<|>$/g, '');
    const t = Date.parse(m.receivedAt);
    if (!accepted.has(key) || t < accepted.get(key)!) accepted.set(key, t);
  }
  const batch: Batch = {
    eager,
    n: reqs.length,
    concurrency: 'concurrency' in load ? load.concurrency : null,
    rate: 'rate' in load ? load.rate : null,
    submitSeconds: (lastResolved - firstSubmit) / 1000,
    completedSeconds: 0,
    drainedSeconds: (drainedAt - firstSubmit) / 1000,
    completedMs: [],
    acceptedMs: [],
    clientCallMs: calls,
    firstTaskMs: [],
    events: [],
    workflowTasks: [],
    eagerlyStarted: 0,
    lost: failed,
    cpu: { from, to },
  };
  let lastCompleted = firstSubmit;
  await runBounded(ids, 16, async (id) => {
    const t0 = t0s.get(id)!;
    if (s.state.eagerly.get(deliveryWorkflowId(id))) batch.eagerlyStarted++;
    const at = accepted.get(acceptedKey(id));
    if (at !== undefined) batch.acceptedMs.push(at - t0);
    const events = await fetchEvents(s.temporal, deliveryWorkflowId(id));
    const last = events[events.length - 1];
    if (!last || last.eventType !== ET.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED || at === undefined) {
      batch.lost++;
      return;
    }
    const done = eventMs(last);
    lastCompleted = Math.max(lastCompleted, done);
    batch.completedMs.push(done - t0);
    const firstTask = events.find((e) => e.eventType === ET.EVENT_TYPE_WORKFLOW_TASK_STARTED);
    if (firstTask) batch.firstTaskMs.push(eventMs(firstTask) - eventMs(events[0]));
    const counts = countEvents(events);
    batch.events.push(counts.events);
    batch.workflowTasks.push(counts.workflowTasks);
  });
  batch.completedSeconds = (lastCompleted - firstSubmit) / 1000;
  log(
    `  ${eager ? 'eager' : 'plain'} x${reqs.length} ${'concurrency' in load ? `at ${load.concurrency} in flight` : `at ${load.rate}/s`}: started ${round(reqs.length / batch.submitSeconds)}/s, ` +
      `completed p50 ${summary(batch.completedMs).p50} ms / p99 ${summary(batch.completedMs).p99} ms, eagerly started ${batch.eagerlyStarted}, lost ${batch.lost}`,
  );
  return batch;
}

// ---------------------------------------------------------------- summary per way

interface Way {
  requestEagerStart: boolean;
  n: number;
  concurrency: number | null;
  rate: number | null;
  /** Runs the server reported as eagerly started (the start response carried the first task). */
  eagerlyStarted: number;
  /** Workflows started per second: messages / the time from the first send() call to the last send() resolved. */
  startedPerSecond: number;
  /** Messages / first send() call to the last workflow completed. */
  completedPerSecond: number;
  submitToCompletedMs: Summary;
  submitToAcceptedMs: Summary;
  clientCallMs: Summary;
  /** WorkflowExecutionStarted to the first WorkflowTaskStarted in the history. */
  firstWorkflowTaskStartedMs: Summary;
  historyEventsPerWorkflow: Summary;
  workflowTasksPerWorkflow: Summary;
  /** CPU ms per workflow, first send() until idle again. `benchProcess` is the client and the worker together. */
  cpuMsPerWorkflow: { server: number; benchProcess: number; postgres: number; sink: number };
  /** % of one core over the batches (first send() until idle). */
  cpuPct: { server: number; benchProcess: number; postgres: number; machine: number; other: number };
  lost: number;
}

/** summarize() with its figures to 0.1 ms. */
function summary(values: number[]): Summary {
  const v = summarize(values);
  return { n: v.n, p50: round(v.p50), p95: round(v.p95), p99: round(v.p99), max: round(v.max), mean: round(v.mean) };
}

function summarizeWay(batches: Batch[]): Way {
  const all = <K extends keyof Batch>(k: K): number[] => batches.flatMap((b) => b[k] as number[]);
  const n = batches.reduce((s, b) => s + b.n, 0);
  const sum = (f: (b: Batch) => number): number => batches.reduce((s, b) => s + f(b), 0);
  const seconds = sum((b) => (b.cpu.to.atMs - b.cpu.from.atMs) / 1000);
  const cpuMs = (f: (c: CpuSnapshot) => number): number => round((sum((b) => f(b.cpu.to) - f(b.cpu.from)) * 1000) / n)!;
  const pct = (f: (c: CpuSnapshot) => number): number => round((sum((b) => f(b.cpu.to) - f(b.cpu.from)) / seconds) * 100)!;
  const server = pct((c) => c.server);
  const bench = pct((c) => c.bench);
  const postgres = pct((c) => c.postgres);
  const sink = pct((c) => c.sink);
  const machinePct = pct((c) => c.machine);
  return {
    requestEagerStart: batches[0]!.eager,
    n,
    concurrency: batches[0]!.concurrency,
    rate: batches[0]!.rate,
    eagerlyStarted: sum((b) => b.eagerlyStarted),
    startedPerSecond: round(n / sum((b) => b.submitSeconds))!,
    completedPerSecond: round(n / sum((b) => b.completedSeconds))!,
    submitToCompletedMs: summary(all('completedMs')),
    submitToAcceptedMs: summary(all('acceptedMs')),
    clientCallMs: summary(all('clientCallMs')),
    firstWorkflowTaskStartedMs: summary(all('firstTaskMs')),
    historyEventsPerWorkflow: summary(all('events')),
    workflowTasksPerWorkflow: summary(all('workflowTasks')),
    cpuMsPerWorkflow: { server: cpuMs((c) => c.server), benchProcess: cpuMs((c) => c.bench), postgres: cpuMs((c) => c.postgres), sink: cpuMs((c) => c.sink) },
    cpuPct: { server, benchProcess: bench, postgres, machine: machinePct, other: Math.max(0, round(machinePct - server - bench - postgres - sink)!) },
    lost: sum((b) => b.lost),
  };
}

interface Comparison {
  load: string;
  concurrency: number | null;
  rate: number | null;
  plain: Way;
  eager: Way;
  /** eager minus plain: negative is a saving. */
  delta: { completedP50Ms: number | null; completedP99Ms: number | null; acceptedP50Ms: number | null; startedPerSecond: number; serverCpuMsPerWorkflow: number; benchProcessCpuMsPerWorkflow: number };
}

function compare(load: string, plain: Way, eager: Way): Comparison {
  const d = (a: number | null, b: number | null): number | null => (a === null || b === null ? null : round(b - a));
  return {
    load,
    concurrency: plain.concurrency,
    rate: plain.rate,
    plain,
    eager,
    delta: {
      completedP50Ms: d(plain.submitToCompletedMs.p50, eager.submitToCompletedMs.p50),
      completedP99Ms: d(plain.submitToCompletedMs.p99, eager.submitToCompletedMs.p99),
      acceptedP50Ms: d(plain.submitToAcceptedMs.p50, eager.submitToAcceptedMs.p50),
      startedPerSecond: round(eager.startedPerSecond - plain.startedPerSecond)!,
      serverCpuMsPerWorkflow: round(eager.cpuMsPerWorkflow.server - plain.cpuMsPerWorkflow.server)!,
      benchProcessCpuMsPerWorkflow: round(eager.cpuMsPerWorkflow.benchProcess - plain.cpuMsPerWorkflow.benchProcess)!,
    },
  };
}

// ---------------------------------------------------------------- main

async function main(): Promise<number> {
  const opts = parseOptions(process.argv.slice(2));
  const cleanup = new Cleanup();
  const tmpDir = mkdtempSync(path.join(os.tmpdir(), 'rebound-eager-'));
  cleanup.add('temp dir', async () => rmSync(tmpDir, { recursive: true, force: true }));
  cleanup.installSignalHandlers(log);
  const started = new Date();
  try {
    const m = machine();
    log(`machine: ${m.cores} cores, ${m.memoryGb} GB, ${m.cpuModel}; options: ${JSON.stringify(opts)}`);
    Runtime.install({ logger: new DefaultLogger('WARN') });
    const databaseUrl = benchDatabaseUrl();
    await prepareBenchDatabase(databaseUrl);
    const sink = await startSinkChild(cleanup, '');
    const server = await startServer('memory', tmpDir, cleanup);
    log(`simulator ${sink.url} (pid ${sink.pid}); Temporal dev server in memory on ${server.address} (pid ${server.pid})`);
    const tag = `e${randomBytes(3).toString('hex')}`;
    const taskQueue = `bench-${tag}`;
    const config = loadConfig({
      ...process.env,
      TEMPORAL_ADDRESS: server.address,
      DATABASE_URL: databaseUrl,
      REBOUND_SMTP_URL: sink.url,
      REBOUND_TASK_QUEUE: taskQueue,
      // As the main bench's workers: every attempt carries a return path (no listener here).
      REBOUND_BOUNCE_DOMAIN: 'bounces.bench.test',
      REBOUND_BOUNCE_SECRET: randomBytes(32).toString('base64url'),
    });

    // One NativeConnection for the worker and the client: what eager start needs.
    const native = await NativeConnection.connect({ address: server.address });
    const { interceptor, state } = eagerSwitch();
    const client = new Client({ connection: native, namespace: config.temporalNamespace, interceptors: { workflow: [interceptor] }, ...dataConverterOption(config.payloadKeys) });
    // The worker's activities get a Client of their own (createReboundWorker makes one): only
    // the message's own start goes through the switch.
    const worker = await createReboundWorker({ config, nativeConnection: native });
    const running = worker.run();
    cleanup.add('in-process worker', async () => {
      worker.worker.shutdown();
      await running;
      await native.close();
    });
    const pool = createPool(databaseUrl, { max: 4 });
    cleanup.add('polling pool', () => pool.end());
    const sdkPool = createPool(databaseUrl);
    cleanup.add('client pool', () => sdkPool.end());
    const stack: Stack = { server, sink, temporal: client, pool, taskQueue, state, rebound: new ReboundClient({ client, pool: sdkPool, taskQueue }) };
    log(`worker and client in this process (pid ${process.pid}) on task queue ${taskQueue}`);

    let seq = 0;
    const reqs = (kind: string, n: number): SendRequest[] => Array.from({ length: n }, () => ((i) => request(`${tag}-${kind}-${i}`, `rcpt+${tag}${kind}${i}@example.test`))(seq++));
    // Warm-up (not measured), both ways: JIT, pools, the workflow bundle, eager slots.
    log(`warm-up: ${opts.warmup} messages each way`);
    await runBatch(stack, reqs('w', opts.warmup), { concurrency: opts.concurrency }, false);
    await runBatch(stack, reqs('w', opts.warmup), { concurrency: opts.concurrency }, true);

    const comparisons: Comparison[] = [];
    const both = async (name: string, n: number, load: Load): Promise<Comparison> => {
      log(`${name}: ${n} messages each way ${'concurrency' in load ? `at ${load.concurrency} in flight` : `paced at ${load.rate}/s`}, ${opts.rounds} alternating rounds`);
      const plain: Batch[] = [];
      const eager: Batch[] = [];
      for (let r = 0; r < opts.rounds; r++) {
        const size = Math.floor(n / opts.rounds) + (r < n % opts.rounds ? 1 : 0);
        // Alternating which goes first, so a drift of the shared machine does not favour one way.
        const order = r % 2 === 0 ? [false, true] : [true, false];
        for (const e of order) (e ? eager : plain).push(await runBatch(stack, reqs(e ? 'e' : 'p', size), load, e));
      }
      return compare(name, summarizeWay(plain), summarizeWay(eager));
    };
    const full = await both('full speed', opts.messages, { concurrency: opts.concurrency });
    comparisons.push(full);
    if (opts.lightMessages > 0) {
      const rate = opts.lightRate ?? Math.max(1, round(full.plain.completedPerSecond / 2)!);
      comparisons.push(await both('half rate', opts.lightMessages, { rate, maxInFlight: 256 }));
    }

    const out = {
      kind: 'rebound-bench-eager',
      startedAt: started.toISOString(),
      durationSeconds: round((Date.now() - started.getTime()) / 1000),
      machine: m,
      persistence: 'Temporal dev server in memory',
      setup:
        "Rebound's delivery workflow and activities (createReboundWorker) in the bench process on one NativeConnection shared with the ReboundClient's Client; " +
        'requestEagerStart set by a client interceptor for the eager batches; messages to the bounce simulator, delivered at the first attempt',
      options: opts,
      comparisons,
      lost: comparisons.reduce((s, c) => s + c.plain.lost + c.eager.lost, 0),
      duplicates: (await sink.duplicates()).filter((d) => d.messageId.includes(`${tag}-`)).length,
    };
    mkdirSync(path.dirname(opts.out), { recursive: true });
    writeFileSync(opts.out, JSON.stringify(out, null, 2) + '\n');
    for (const c of comparisons) {
      log(
        `${c.load} (${c.concurrency === null ? `${c.rate}/s` : `${c.concurrency} in flight`}): eagerly started ${c.eager.eagerlyStarted}/${c.eager.n} (plain ${c.plain.eagerlyStarted}); ` +
          `completed p50 ${c.plain.submitToCompletedMs.p50} -> ${c.eager.submitToCompletedMs.p50} ms, p99 ${c.plain.submitToCompletedMs.p99} -> ${c.eager.submitToCompletedMs.p99} ms; ` +
          `started ${c.plain.startedPerSecond} -> ${c.eager.startedPerSecond}/s; server CPU ${c.plain.cpuMsPerWorkflow.server} -> ${c.eager.cpuMsPerWorkflow.server} ms; ` +
          `events ${c.plain.historyEventsPerWorkflow.p50} -> ${c.eager.historyEventsPerWorkflow.p50}`,
      );
    }
    log(`wrote ${opts.out}`);
    process.stdout.write(JSON.stringify(out) + '\n');
    return out.lost > 0 || out.duplicates > 0 ? 1 : 0;
  } finally {
    await cleanup.run(log);
  }
}

if (require.main === module) {
  runEntry(main, log);
}
