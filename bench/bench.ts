// `npm run bench`: starts what it needs (a Temporal dev server per persistence mode, the
// bench's own PostgreSQL database, a worker child process, the bounce simulator), runs the
// scenarios 0-5, scenario 6 (domain health), scenario 7 (what webhooks cost), scenario 8 (what late
// outcomes cost; with the inbound listener in this process), scenario 9 (what direct delivery
// and shaping cost; a second worker, in direct mode, with a DNS server and an MX host of its own)
// and scenario 10 (a pg-boss peer doing scenario 2's job), stops everything, prints a table (or one
// JSON object with --json), and writes bench/results/latest.json and bench/RESULTS.md. Exits
// non-zero when a message, a webhook event or a late outcome was lost or doubled — never because of speed.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { ReboundClient } from '../src/client/rebound-client';
import { createPool } from '../src/db/pool';
import { PROJECT_ROOT } from '../src/dev/tools';
import { parseArgs, type BenchOptions } from './args';
import { gitCommit } from './commit';
import { readSleeping100k } from './sleeping-100k';
import { quiesce, request, submit, untilAccepted, type ModeContext } from './context';
import { machine, rssMb } from './measure';
import { planSizes, planSleeping } from './plan';
import { interceptorMicrosPerAttempt } from '../src/metrics/overhead';
import { measureSigning } from './scenarios/signing';
import { measureCodec } from './scenarios/codec';
import { loadConfig } from '../src/config';
import { dataConverterOption } from '../src/codec/data-converter';
import { buildResult, markdown, table, type ModeResult } from './report';
import { runCeiling } from './scenarios/ceiling';
import { runCost, type CostResult } from './scenarios/cost';
import { runDelivered } from './scenarios/delivered';
import { runDomains, type DomainsResult } from './scenarios/domains';
import { runMix } from './scenarios/mix';
import { runRawSmtp } from './scenarios/raw-smtp';
import { calibrateSleepers, runSleeping } from './scenarios/sleeping';
import { runWebhooks, type WebhooksResult } from './scenarios/webhooks';
import { returnPathMicrosPerAttempt, runLate, runParser, type LateResult, type ParserResult } from './scenarios/late';
import { runDirect, startDirectTarget, type DirectResult } from './scenarios/direct';
import { runPeer, type PeerResult } from './scenarios/peer';
import { runAttemptForm, type AttemptFormResult } from './scenarios/attempt-form';
import { measureBlameCost } from './scenarios/blame-cost';
import {
  benchDatabaseUrl,
  Cleanup,
  prepareBenchDatabase,
  startBenchInbound,
  startServer,
  startSinkChild,
  startWorkerChild,
  type PersistenceMode,
  type RemoteSink,
  type ReturnPath,
} from './stack';
import { runEntry } from './entry';

const BENCH_DIR = path.join(PROJECT_ROOT, 'bench');
const T0 = Date.now();
const log = (msg: string): void => {
  process.stderr.write(`[bench ${((Date.now() - T0) / 1000).toFixed(1).padStart(5)} s] ${msg}\n`);
};


/**
 * Where the generated figures end in bench/RESULTS.md: below this line the file holds what was
 * tuned and tried (written by hand), which a new run keeps.
 */
const HAND_WRITTEN = '<!-- everything below is written by hand and kept by npm run bench -->';

function writeResults(file: string, generated: string): void {
  const old = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const at = old.indexOf(HAND_WRITTEN);
  const kept = at >= 0 ? old.slice(at) : `${HAND_WRITTEN}\n`;
  writeFileSync(file, `${generated.trimEnd()}\n\n${kept}`);
}

async function runMode(
  mode: PersistenceMode,
  opts: BenchOptions,
  shared: {
    sink: RemoteSink;
    returnPath: ReturnPath;
    databaseUrl: string;
    tmpDir: string;
    runId: string;
    cleanup: Cleanup;
    withCost: boolean;
    /** Scenarios 7 to 10 run in one mode only (in memory when it runs). */
    withWebhooks: boolean;
    /** Seconds this mode may take: what is left of the budget, shared with the modes still to run. */
    budgetLeftSeconds: () => number;
  },
): Promise<{ result: ModeResult; cost: CostResult | null; domains: DomainsResult | null; webhooks: WebhooksResult | null; late: LateResult | null; direct: DirectResult | null; peer: PeerResult | null; attemptForm: AttemptFormResult | null }> {
  const { cleanup } = shared;
  const tag = `b${shared.runId}${mode[0]}`;
  const modeDeadline = Date.now() + shared.budgetLeftSeconds() * 1000;
  const server = await startServer(mode, shared.tmpDir, cleanup);
  log(`[${mode}] Temporal dev server on ${server.address} (pid ${server.pid}, ${server.dbFile ? `SQLite file ${server.dbFile}` : 'in memory'})`);
  const pool = createPool(shared.databaseUrl, { max: 4 });
  const closePool = cleanup.add(`[${mode}] polling pool`, () => pool.end());
  const sdkPool = createPool(shared.databaseUrl);
  const closeSdkPool = cleanup.add(`[${mode}] client pool`, () => sdkPool.end());
  const connection = await Connection.connect({ address: server.address });
  const closeConnection = cleanup.add(`[${mode}] client connection`, () => connection.close());
  // The worker child reads REBOUND_PAYLOAD_KEYS from this environment; the client must match it.
  const temporal = new Client({ connection, namespace: 'default', ...dataConverterOption(loadConfig().payloadKeys) });
  const taskQueue = `bench-${tag}`;
  // Scenario 0 first, on the fresh server and before the Rebound worker polls: the bound that
  // Temporal itself sets on this machine.
  const ceilingN = opts.quick ? 50 : Math.min(opts.messages, 1000);
  log(`[${mode}] scenario 0: Temporal ceiling, ${ceilingN} workflows of each kind`);
  const ceiling = await runCeiling(temporal, server, { n: ceilingN, concurrency: opts.concurrency, tag, cleanup, log });
  // Scenario 9's direct worker starts with the bench's worker, so that bundling the workflows
  // for the two overlaps; it polls a task queue of its own and is idle until scenario 9.
  const directTarget = shared.withWebhooks ? await startDirectTarget(cleanup) : null;
  const directTaskQueue = `${taskQueue}-direct`;
  const workerOptions = { temporalAddress: server.address, databaseUrl: shared.databaseUrl, smtpUrl: shared.sink.url, returnPath: shared.returnPath, countStatements: true };
  const profDir = (name: string): string | null => (opts.cpuProfDir ? path.join(opts.cpuProfDir, `${mode}-${name}`) : null);
  const [worker, directWorker] = await Promise.all([
    startWorkerChild({ ...workerOptions, taskQueue, logFile: path.join(shared.tmpDir, `worker-${mode}.log`), cpuProfDir: profDir('worker') }, cleanup),
    directTarget
      ? startWorkerChild({ ...workerOptions, taskQueue: directTaskQueue, logFile: path.join(shared.tmpDir, `worker-${mode}-direct.log`), env: directTarget.env, cpuProfDir: profDir('direct') }, cleanup)
      : null,
  ]);
  log(`[${mode}] worker pid ${worker.pid} ready (RSS ${rssMb(worker.pid)?.toFixed(0)} MB)${directWorker ? `; direct worker pid ${directWorker.pid} (scenario 9)` : ''}`);
  const ctx: ModeContext = {
    mode,
    tag,
    server,
    worker,
    sink: shared.sink,
    temporal,
    rebound: new ReboundClient({ client: temporal, pool: sdkPool, taskQueue }),
    taskQueue,
    pool,
    log,
  };

  // Warm-up (not measured): JIT, connection pools, the workflow bundle in the worker. Its rate
  // sizes the scenarios so the run fits its budget.
  const warmN = opts.quick ? 20 : 100;
  const warm = Array.from({ length: warmN }, (_, i) => request(`${tag}-w-${i}`, `warm+${tag}${i}@example.test`));
  const warmStart = Date.now();
  await submit(ctx, warm, { concurrency: opts.concurrency });
  if (!(await untilAccepted(ctx, warm.map((r) => r.id!), 120_000))) throw new Error(`[${mode}] warm-up messages were not delivered within 120 s; see ${worker.logFile}`);
  // Until the worker is idle again: the rate includes each message's reputation work.
  const warmQuiet = (await quiesce(ctx, 120_000)) ?? Date.now();
  const warmupPerSecond = warmN / ((warmQuiet - warmStart) / 1000);
  const workerRssMbWarm = rssMb(worker.pid);
  let sizes = planSizes(opts, warmupPerSecond, (modeDeadline - Date.now()) / 1000, shared.withWebhooks);
  log(
    `[${mode}] warm-up: ${warmupPerSecond.toFixed(1)} messages/s; ${sizes.budgetSeconds.toFixed(0)} s left for this mode: ` +
      `${sizes.messages} delivered, ${sizes.mix} mixed, ${sizes.webhooks ? `${sizes.webhooks} each way with webhooks off / on, ` : ''}${sizes.late ? `${sizes.late} plain and ${sizes.late} bouncing later, ` : ''}${sizes.direct ? `${sizes.direct} each through the relay and direct, ` : ''}about ${sizes.sleeping} sleeping${sizes.reduced ? ' (reduced to fit the budget)' : ''}`,
  );

  const delivered = await runDelivered(ctx, { messages: sizes.messages, concurrency: opts.concurrency, pacedSeconds: opts.pacedSeconds, sample: opts.breakdownSample });
  // Right after scenario 2, with its N and its submissions in flight, on the idle pipeline: the
  // peer needs neither the server nor the worker, which sit idle (long polls) meanwhile.
  await quiesce(ctx);
  const peer = sizes.peer > 0 ? await runPeer(ctx, { messages: sizes.peer, concurrency: opts.concurrency, warmup: warmN, databaseUrl: shared.databaseUrl, cleanup }) : null;
  // Beside scenario 2 as well: the same deliveries with activity-task attempts and local ones.
  const attemptForm = shared.withWebhooks ? await runAttemptForm(ctx, { messages: Math.max(40, sizes.webhooks), concurrency: opts.concurrency }) : null;
  if (attemptForm) await quiesce(ctx);
  const mix = await runMix(ctx, sizes.mix, opts.concurrency);
  await quiesce(ctx);
  const cost = shared.withCost ? await runCost(ctx) : null;
  await quiesce(ctx);
  // Like the cost, once (in the first mode): it measures PostgreSQL, and Temporal only for visibility.
  const domains = shared.withCost ? await runDomains(ctx, { attempts: opts.domainAttempts, domains: opts.domainCount, writes: opts.domainWrites }) : null;
  // Before the sleepers, on an idle pipeline; its endpoint is deleted when it ends, so the
  // sleepers' soft bounces write no events.
  const webhooks = shared.withWebhooks ? await runWebhooks(ctx, { messages: sizes.webhooks, concurrency: opts.concurrency }) : null;
  if (webhooks) await quiesce(ctx);
  // Also before the sleepers, on an idle pipeline; a report's CPU is read against scenario 7's
  // "off" batch (plain deliveries on this worker), so the run does not deliver those twice.
  const off = webhooks?.cpuMsPerMessage.off;
  const lateBaseline =
    webhooks && off
      ? {
          from: 'scenario 7 (off)',
          messages: webhooks.messages,
          cpuMsPerMessage: { server: off.server, worker: off.worker, postgres: off.postgres, bench: off.client },
          drainedSeconds: webhooks.drainedSeconds.off,
          statementsPerMessage: webhooks.statementsPerMessage.off,
        }
      : null;
  const late = shared.withWebhooks ? await runLate(ctx, { messages: sizes.late, concurrency: opts.concurrency, baseline: lateBaseline }) : null;
  if (late) await quiesce(ctx);
  const direct = directWorker && directTarget ? await runDirect(ctx, { messages: sizes.direct, concurrency: opts.concurrency, worker: directWorker, taskQueue: directTaskQueue, target: directTarget }) : null;
  // Before the sleepers: they should share the machine with one worker only.
  await directWorker?.stop();
  const calibration = await calibrateSleepers(ctx, opts.quick ? 20 : 50, opts.concurrency);
  sizes = planSleeping(opts, sizes, calibration.perSecond, (modeDeadline - Date.now()) / 1000);
  log(`[${mode}] sleepers run at about ${calibration.perSecond.toFixed(1)}/s: ${sizes.sleeping} fit in the ${((modeDeadline - Date.now()) / 1000).toFixed(0)} s left`);
  const sleeping = await runSleeping(ctx, { messages: sizes.sleeping, concurrency: opts.concurrency, samples: opts.sleepSamples, sampleIntervalSeconds: opts.sleepSampleIntervalSeconds });

  // The sleeping workflows (and every reputation workflow) go with the server: stop the worker
  // first, then the server; the SQLite file is removed with the temp dir.
  await worker.stop();
  await closeConnection();
  await closeSdkPool();
  await closePool();
  await server.stop();
  const costLost = cost ? [cost.delivered, cost.softBouncedOnce].filter((c) => c.state !== 'delivered').length : 0;
  const lost =
    ceiling.lost + delivered.fullSpeed.lost + delivered.halfRate.lost + mix.lost + calibration.lost + sleeping.lost + costLost + (webhooks?.messagesLost ?? 0) + (late?.messagesLost ?? 0) + (direct?.lost ?? 0) + (peer?.lost ?? 0) + (attemptForm?.lost ?? 0);
  return {
    result: {
      mode,
      persistence: mode === 'file' ? 'SQLite file (WAL, synchronous=OFF)' : 'in memory',
      workerRssMbWarm: workerRssMbWarm === null ? null : Math.round(workerRssMbWarm),
      sizes,
      ceiling,
      delivered,
      mix,
      sleeping,
      lost,
    },
    cost,
    domains,
    webhooks,
    late,
    direct,
    peer,
    attemptForm,
  };
}

async function main(): Promise<number> {
  const opts = parseArgs(process.argv.slice(2));
  const started = Date.now();
  const cleanup = new Cleanup();
  const tmpDir = mkdtempSync(path.join(os.tmpdir(), 'rebound-bench-'));
  let keepTmp = false;
  cleanup.add('temp dir', async () => {
    if (keepTmp) log(`kept ${tmpDir} (worker logs) for inspection`);
    else rmSync(tmpDir, { recursive: true, force: true });
  });
  cleanup.installSignalHandlers(log);

  try {
    const m = machine();
    log(`machine: ${m.cores} cores, ${m.memoryGb} GB, ${m.cpuModel}; options: ${JSON.stringify({ ...opts, json: undefined })}`);
    const databaseUrl = benchDatabaseUrl();
    await prepareBenchDatabase(databaseUrl);
    // Scenario 8's first half, before anything else runs: the parser alone, in this process.
    const parser: ParserResult = await runParser(opts.parserPasses, log);
    // Before the simulator, which mails its late reports to it (scenario 8).
    const inbound = await startBenchInbound(databaseUrl, cleanup);
    const sink = await startSinkChild(cleanup, inbound.reportTo);
    log(`simulator on ${sink.url} (pid ${sink.pid}), mailing its late reports to the inbound listener on ${inbound.reportTo}`);

    log(`scenario 1: raw SMTP, ${opts.messages} messages`);
    const raw = await runRawSmtp(sink, opts.messages, opts.concurrency, log);

    const runId = randomBytes(3).toString('hex');
    const modes: ModeResult[] = [];
    let cost: CostResult | null = null;
    let domains: DomainsResult | null = null;
    let webhooks: WebhooksResult | null = null;
    let late: LateResult | null = null;
    let direct: DirectResult | null = null;
    let attemptForm: AttemptFormResult | null = null;
    let peer: { result: PeerResult; mode: PersistenceMode; reboundDeliveredPerSecond: number } | null = null;
    const webhooksMode: PersistenceMode = opts.modes.includes('memory') ? 'memory' : opts.modes[0]!;
    for (const [i, mode] of opts.modes.entries()) {
      // Keep a few seconds for the report and the last clean-up.
      const budgetLeftSeconds = (): number => (opts.budgetSeconds - 5 - (Date.now() - started) / 1000) / (opts.modes.length - i);
      const r = await runMode(mode, opts, { sink, returnPath: inbound.returnPath, databaseUrl, tmpDir, runId, cleanup, withCost: cost === null, withWebhooks: mode === webhooksMode, budgetLeftSeconds });
      modes.push(r.result);
      cost ??= r.cost;
      domains ??= r.domains;
      webhooks ??= r.webhooks;
      late ??= r.late;
      direct ??= r.direct;
      attemptForm ??= r.attemptForm;
      if (r.peer) peer ??= { result: r.peer, mode, reboundDeliveredPerSecond: r.result.delivered.fullSpeed.deliveredPerSecond };
    }
    const duplicates = await sink.duplicates();
    const result = {
      ...buildResult({
        opts,
        machine: m,
        raw,
        modes,
        cost: cost!,
        domains: domains!,
        webhooks: webhooks!,
        late: { parser, loop: late!, returnPathMicrosPerAttempt: returnPathMicrosPerAttempt(inbound.returnPath) },
        direct: direct!,
        peer: peer!,
        attemptForm: attemptForm!,
        blame: measureBlameCost(opts.quick ? 5_000 : 20_000),
        duplicates,
        durationSeconds: (Date.now() - started) / 1000,
        commit: gitCommit(),
        sleeping100k: readSleeping100k(),
      }),
      // What counting a send for /metrics costs (README "Metrics"), measured in this process in a few milliseconds.
      metricsInterceptorMicrosPerAttempt: Math.round((await interceptorMicrosPerAttempt()) * 100) / 100,
      // What DKIM signing adds to composing a message (README "DKIM"), in this process.
      signing: await measureSigning(opts.quick ? 50 : 200),
      // What the payload codec adds per payload (README "Payload encryption"), in this process.
      codec: await measureCodec(opts.quick ? 500 : 2000),
    };

    if (opts.write) {
      mkdirSync(path.join(BENCH_DIR, 'results'), { recursive: true });
      // A --quick smoke run never replaces the figures of a full run that the README quotes.
      writeFileSync(path.join(BENCH_DIR, `results/${opts.quick ? 'quick' : 'latest'}.json`), JSON.stringify(result, null, 2) + '\n');
      if (!opts.quick) writeResults(path.join(BENCH_DIR, 'RESULTS.md'), markdown(result));
    }
    process.stdout.write(opts.json ? JSON.stringify(result) + '\n' : table(result) + '\n');
    if (result.lost > 0 || result.duplicates > 0) {
      log(`FAILED: ${result.lost} lost, ${result.duplicates} duplicated`);
      return 1;
    }
    const w = result.webhooks;
    if (w.lost > 0 || w.duplicated > 0 || w.badSignatures > 0) {
      log(`FAILED: webhook events: ${w.lost} lost, ${w.duplicated} duplicated, ${w.badSignatures} with a bad signature`);
      return 1;
    }
    const l = result.late.loop;
    if (l.lost > 0 || l.doubled > 0) {
      log(`FAILED: late outcomes: ${l.lost} lost, ${l.doubled} doubled (of ${l.messages} messages bouncing after their 250)`);
      return 1;
    }
    return 0;
  } catch (err) {
    keepTmp = true;
    throw err;
  } finally {
    await cleanup.run(log);
  }
}

runEntry(main, log);
