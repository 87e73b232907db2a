// `npm run bench:sleeping -- [--messages N] [--out FILE]`: scenario 4 alone, at a size the main
// bench cannot fit in its budget (default 100,000 sleeping messages, 40-60 minutes on the 2-core
// machine). The same stack as the main bench's in-memory mode (bench/stack.ts: its own database,
// a Temporal dev server (a SQLite file by default), the bounce simulator, one worker child with the same flags
// and settings), a warm-up, then runSleeping; writes one JSON object to
// bench/results/sleeping-<N>.json, which the main bench's report repeats (bench/report.ts).
// Exits non-zero when a message had no first attempt.
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
import { WORKER_NODE_FLAGS } from '../src/worker/worker';
import { gitCommit } from './commit';
import { quiesce, request, submit, untilAccepted, type ModeContext } from './context';
import { machine, rssMb, round } from './measure';
import { runSleeping } from './scenarios/sleeping';
import { benchDatabaseUrl, Cleanup, prepareBenchDatabase, startServer, startSinkChild, startWorkerChild, type PersistenceMode } from './stack';
import { runEntry, positiveInteger } from './entry';

const T0 = Date.now();
const log = (msg: string): void => {
  process.stderr.write(`[bench:sleeping ${((Date.now() - T0) / 1000).toFixed(1).padStart(6)} s] ${msg}\n`);
};

interface SleepingRunOptions {
  messages: number;
  out: string;
  concurrency: number;
  samples: number;
  sampleIntervalSeconds: number;
  progressEverySeconds: number;
  /** Submits paced at this many per second (0: as fast as `concurrency` allows). */
  rate: number;
  persistence: PersistenceMode;
}

const USAGE = `usage: node dist/bench/sleeping-run.js [options]
  --messages N          sleeping messages (default 100000)
  --out FILE            where the JSON goes (default bench/results/sleeping-<N>.json)
  --concurrency C       send() calls in flight (default 64, as the main bench)
  --samples K           RSS samples while they sleep (default 12)
  --sample-interval S   seconds between them (default 10)
  --progress S          seconds between progress lines on stderr (default 30)
  --rate R              submits per second, paced (default 35, about what first attempts run at
                        on a 2-core machine: an in-memory server holding a backlog of 75,000
                        started but unrun workflows grew past 20 GB); 0: as fast as --concurrency allows
  --server file|memory  the dev server's persistence (default file: a SQLite file)`;

const positive = positiveInteger;

function parseArgs(argv: string[]): SleepingRunOptions {
  let messages = 100_000;
  let out: string | null = null;
  const o = { concurrency: 64, samples: 12, sampleIntervalSeconds: 10, progressEverySeconds: 30, rate: 35, persistence: 'file' as PersistenceMode };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.split('=', 2) as [string, string | undefined];
    const value = (): string | undefined => inline ?? argv[++i];
    switch (flag) {
      case '--messages':
        messages = positive(flag, value());
        break;
      case '--out': {
        const v = value();
        if (!v || v.startsWith('--')) throw new Error('--out needs a file');
        out = path.resolve(v);
        break;
      }
      case '--concurrency':
        o.concurrency = positive(flag, value());
        break;
      case '--samples':
        o.samples = positive(flag, value());
        break;
      case '--sample-interval':
        o.sampleIntervalSeconds = positive(flag, value());
        break;
      case '--rate': {
        const r = Number(value());
        if (!Number.isFinite(r) || r < 0) throw new Error('--rate needs a number of submits per second (0: unpaced)');
        o.rate = r;
        break;
      }
      case '--server': {
        const v = value();
        if (v !== 'file' && v !== 'memory') throw new Error('--server takes file or memory');
        o.persistence = v;
        break;
      }
      case '--progress':
        o.progressEverySeconds = positive(flag, value());
        break;
      case '--help':
      case '-h':
        process.stdout.write(USAGE + '\n');
        process.exit(0);
        break;
      default:
        throw new Error(`unknown option ${flag}\n${USAGE}`);
    }
  }
  return { messages, out: out ?? path.join(PROJECT_ROOT, 'bench/results', `sleeping-${messages}.json`), ...o };
}

async function main(): Promise<number> {
  const opts = parseArgs(process.argv.slice(2));
  const startedAt = new Date();
  const cleanup = new Cleanup();
  const tmpDir = mkdtempSync(path.join(os.tmpdir(), 'rebound-bench-sleeping-'));
  let keepTmp = false;
  cleanup.add('temp dir', async () => {
    if (keepTmp) log(`kept ${tmpDir} (worker log) for inspection`);
    else rmSync(tmpDir, { recursive: true, force: true });
  });
  cleanup.installSignalHandlers(log);
  try {
    const m = machine();
    log(`machine: ${m.cores} cores, ${m.memoryGb} GB, ${m.cpuModel}; options: ${JSON.stringify(opts)}`);
    const databaseUrl = benchDatabaseUrl();
    await prepareBenchDatabase(databaseUrl);
    // No inbound listener: nothing here bounces after its 250, so the simulator mails no reports.
    const sink = await startSinkChild(cleanup, '');
    const server = await startServer(opts.persistence, tmpDir, cleanup);
    log(`simulator on ${sink.url} (pid ${sink.pid}); Temporal dev server on ${server.address} (pid ${server.pid}, ${server.dbFile ? `SQLite file ${server.dbFile}` : 'in memory'})`);
    const pool = createPool(databaseUrl, { max: 4 });
    cleanup.add('polling pool', () => pool.end());
    const sdkPool = createPool(databaseUrl);
    cleanup.add('client pool', () => sdkPool.end());
    const connection = await Connection.connect({ address: server.address });
    cleanup.add('client connection', () => connection.close());
    // The worker child reads REBOUND_PAYLOAD_KEYS from this environment; the client must match it.
    const temporal = new Client({ connection, namespace: 'default', ...dataConverterOption(loadConfig().payloadKeys) });
    const tag = `s${randomBytes(3).toString('hex')}`;
    const taskQueue = `bench-${tag}`;
    // The main bench's worker settings (bench/bench.ts runMode): the statement counter loaded, a
    // return path of its own (every attempt's envelope sender carries a token, as there).
    const worker = await startWorkerChild(
      {
        temporalAddress: server.address,
        databaseUrl,
        smtpUrl: sink.url,
        taskQueue,
        logFile: path.join(tmpDir, 'worker.log'),
        returnPath: { domain: 'bounces.bench.test', secret: randomBytes(32).toString('base64url') },
        countStatements: true,
      },
      cleanup,
    );
    log(`worker pid ${worker.pid} ready (RSS ${rssMb(worker.pid)?.toFixed(0)} MB)`);
    const ctx: ModeContext = { mode: opts.persistence, tag, server, worker, sink, temporal, rebound: new ReboundClient({ client: temporal, pool: sdkPool, taskQueue }), taskQueue, pool, log };

    // Warm-up as in the main bench (not measured): JIT, pools, the workflow bundle in the worker.
    const warm = Array.from({ length: 100 }, (_, i) => request(`${tag}-w-${i}`, `warm+${tag}${i}@example.test`));
    await submit(ctx, warm, { concurrency: opts.concurrency });
    if (!(await untilAccepted(ctx, warm.map((r) => r.id!), 120_000))) throw new Error(`warm-up messages were not delivered within 120 s; see ${worker.logFile}`);
    await quiesce(ctx, 120_000);

    // A run this long must not wait out its timeouts on a dead server (one did, at 75,000 submitted):
    // stop at once, with what the server last wrote to stderr.
    let measuring = true;
    const serverDied = server.exited.then((e) => {
      if (measuring) throw new Error(`the Temporal dev server (pid ${server.pid}) exited during the run: code ${e.code}, signal ${e.signal}; the end of its stderr:\n${e.stderr || '(nothing)'}`);
      return new Promise<never>(() => undefined);
    });
    const s = await Promise.race([
      runSleeping(ctx, {
        messages: opts.messages,
        concurrency: opts.concurrency,
        samples: opts.samples,
        sampleIntervalSeconds: opts.sampleIntervalSeconds,
        progressEverySeconds: opts.progressEverySeconds,
        ...(opts.rate > 0 ? { rate: opts.rate } : {}),
      }),
      serverDied,
    ]);
    measuring = false;
    const config = loadConfig();
    const last = <T>(xs: T[]): T | null => xs[xs.length - 1] ?? null;
    const result = {
      startedAt: startedAt.toISOString(),
      commit: gitCommit(),
      durationSeconds: round((Date.now() - T0) / 1000),
      machine: m,
      n: s.n,
      sleepingWorkerRssMb: last(s.workerRssSamplesMb),
      sleepingWorkerRssMbIdle: s.workerRssMbIdle,
      sleepingWorkerRssMbAfterSubmit: s.workerRssMbAfterSubmit,
      sleepingWorkerRssSamplesMb: s.workerRssSamplesMb,
      sleepingWorkerRssGrowthMb: s.workerRssGrowthMb,
      sleepingServerRssMb: last(s.serverRssSamplesMb),
      sleepingServerRssMbIdle: s.serverRssMbIdle,
      sleepingServerRssSamplesMb: s.serverRssSamplesMb,
      sampleIntervalSeconds: s.sampleIntervalSeconds,
      sleepingFirstAttemptSeconds: round(s.firstAttemptSeconds),
      sleepingSettledSeconds: round(s.settledSeconds),
      sleepingSettled: s.settled,
      sleepingSubmitPerSecond: round(s.submitPerSecond),
      sleepingFirstAttemptsPerSecond: round(s.n / s.firstAttemptSeconds),
      sleepingRetryingInVisibility: s.retryingInVisibility,
      sleepCpu: s.sleepCpu,
      submitCpu: s.submitCpu,
      lost: s.lost,
      unexpectedAttempts: s.unexpectedAttempts,
      worker: { nodeFlags: [...WORKER_NODE_FLAGS], maxCachedWorkflows: config.maxCachedWorkflows, countStatements: true },
      concurrency: opts.concurrency,
      rate: opts.rate,
      persistence: opts.persistence,
      conditions:
        `Temporal dev server ${server.dbFile ? 'on a SQLite file' : 'in memory'}; one worker (node ${WORKER_NODE_FLAGS.join(' ')}, ${config.maxCachedWorkflows} cached workflows); ` +
        `${s.n} messages greylisted once with a 2 h hint, submitted ${opts.rate > 0 ? `paced at ${opts.rate}/s (at most ${opts.concurrency} in flight)` : `${opts.concurrency} in flight`}; ${m.cores} cores; ` +
        `other processes on the machine used ${s.submitCpu.otherPct} % of a core while they were submitted and attempted`,
    };
    mkdirSync(path.dirname(opts.out), { recursive: true });
    writeFileSync(opts.out, JSON.stringify(result, null, 2) + '\n');
    log(`wrote ${opts.out}: worker RSS ${result.sleepingWorkerRssMb} MB, server RSS ${result.sleepingServerRssMb} MB, first attempts in ${result.sleepingFirstAttemptSeconds} s; ${s.lost} lost`);
    process.stdout.write(JSON.stringify(result) + '\n');
    if (s.lost > 0) {
      log(`FAILED: ${s.lost} of ${s.n} messages had no first attempt`);
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
