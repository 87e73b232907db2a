// Scenario 4: M messages that soft-bounce once (greylisted with a 2 h hint) and then sleep on a
// durable timer. Measures the submit rate, the worker's RSS before, after and while they
// sleep, and what the server and the worker burn while nothing is due.
import type { Pool } from 'pg';
import { quiesce, request, snapshot, submit, type ModeContext } from '../context';
import { cpuBetween, rssMb, round, sleep, waitFor, type CpuUse } from '../measure';

export interface SleepingResult {
  n: number;
  submitSeconds: number;
  submitPerSecond: number;
  /** First submit until every message has had its first SMTP attempt. */
  firstAttemptSeconds: number;
  /** First submit until every message's first attempt, whole workflow included (checks, reputation signal, timer). */
  settledSeconds: number;
  /** False when the server and the worker were still busy when the sampling began. */
  settled: boolean;
  /** Delivery workflows the visibility store shows as retrying (null when the count API is unavailable). */
  retryingInVisibility: number | null;
  workerRssMbIdle: number | null;
  workerRssMbAfterSubmit: number | null;
  workerRssSamplesMb: (number | null)[];
  workerRssGrowthMb: number | null;
  serverRssMbIdle: number | null;
  serverRssSamplesMb: (number | null)[];
  sampleIntervalSeconds: number;
  /** While they sleep (the sampling window). */
  sleepCpu: CpuUse;
  /** From the first submit until all sleep. */
  submitCpu: CpuUse;
  /** Messages without their first attempt. */
  lost: number;
  /** Messages that got more than one attempt while they should sleep. */
  unexpectedAttempts: number;
}

async function attempted(pool: Pool, ids: string[]): Promise<Map<string, number>> {
  const r = await pool.query<{ message_id: string; n: string }>(
    'SELECT message_id, count(*) AS n FROM attempts WHERE message_id = ANY($1) GROUP BY message_id',
    [ids],
  );
  return new Map(r.rows.map((row) => [row.message_id, Number(row.n)]));
}

/** How many of `ids` have had at least one attempt: one row, for the polling loops. */
async function countAttempted(pool: Pool, ids: string[]): Promise<number> {
  const r = await pool.query<{ n: string }>('SELECT count(DISTINCT message_id) AS n FROM attempts WHERE message_id = ANY($1)', [ids]);
  return Number(r.rows[0]!.n);
}

/**
 * A small batch of sleepers, to learn what one costs before sizing the real run (a sleeper's
 * first attempt costs more than a delivery: its reputation workflow starts, a timer is set).
 * Returns messages per second, submit to idle. They stay asleep with the others.
 */
export async function calibrateSleepers(ctx: ModeContext, n: number, concurrency: number): Promise<{ perSecond: number; lost: number }> {
  const reqs = Array.from({ length: n }, (_, i) => request(`${ctx.tag}-sc-${i}`, `greylist-7200+${ctx.tag}sc${i}@example.test`));
  const ids = reqs.map((r) => r.id!);
  const start = Date.now();
  await submit(ctx, reqs, { concurrency });
  await waitFor(async () => (await countAttempted(ctx.pool, ids)) >= n, 60_000, 250);
  const quietAt = (await quiesce(ctx, 60_000)) ?? Date.now();
  const lost = n - (await countAttempted(ctx.pool, ids));
  return { perSecond: n / ((quietAt - start) / 1000), lost };
}

export async function runSleeping(
  ctx: ModeContext,
  opts: {
    messages: number;
    concurrency: number;
    samples: number;
    sampleIntervalSeconds: number;
    /** Logs how many have had their first attempt every this many seconds (0: never), for long runs. */
    progressEverySeconds?: number;
    /** Submits paced at this many per second instead of `concurrency` in flight. */
    rate?: number;
  },
): Promise<SleepingResult> {
  const n = opts.messages;
  ctx.log(`[${ctx.mode}] scenario 4: ${n} sleeping messages`);
  const reqs = Array.from({ length: n }, (_, i) => request(`${ctx.tag}-s-${i}`, `greylist-7200+${ctx.tag}s${i}@example.test`));
  const ids = reqs.map((r) => r.id!);
  const workerRssMbIdle = rssMb(ctx.worker.pid);
  const serverRssMbIdle = rssMb(ctx.server.pid);

  const before = snapshot(ctx);
  const progressStart = Date.now();
  const progress = opts.progressEverySeconds
    ? setInterval(() => {
        countAttempted(ctx.pool, ids).then(
          (done) => ctx.log(`[${ctx.mode}]   ${done} of ${n} attempted after ${((Date.now() - progressStart) / 1000).toFixed(0)} s (worker RSS ${rssMb(ctx.worker.pid)?.toFixed(0)} MB, server RSS ${rssMb(ctx.server.pid)?.toFixed(0)} MB)`),
          () => undefined,
        );
      }, opts.progressEverySeconds * 1000)
    : null;
  const stopProgress = (): void => {
    if (progress) clearInterval(progress);
  };
  try {
    return await sleepers();
  } finally {
    stopProgress();
  }

  async function sleepers(): Promise<SleepingResult> {
    const submitted = await submit(ctx, reqs, opts.rate ? { rate: opts.rate, maxInFlight: opts.concurrency } : { concurrency: opts.concurrency });
    // A loop, not Math.min(...): spreading 100,000 arguments can overflow the stack.
    const firstSubmit = submitted.reduce((min, s) => Math.min(min, s.t0), Infinity);
    const submitSeconds = (Date.now() - firstSubmit) / 1000;
    ctx.log(`[${ctx.mode}]   submitted at ${(n / submitSeconds).toFixed(1)}/s`);
    const workerRssMbAfterSubmit = rssMb(ctx.worker.pid);

    // First attempts run at 25-40/s on the 2-core machine: 60 ms each leaves room for a slow day.
    const timeoutMs = 120_000 + n * 60;
    // Every poll sends all n ids: at 100,000 that is megabytes a poll, so poll less often the
    // larger the run (1 s up to 20,000, 5 s at 100,000; the first-attempt time is that coarse).
    const pollMs = Math.min(10_000, Math.max(1000, n / 20));
    await waitFor(async () => (await countAttempted(ctx.pool, ids)) >= n, timeoutMs, pollMs);
    const firstAttemptSeconds = (Date.now() - firstSubmit) / 1000;
    // The workflows still report to reputation (a new reputation workflow per address, whose tasks
    // queue behind the first attempts) and start their timers: wait for the worker to go quiet.
    const quiet = await quiesce(ctx, Math.max(120_000, n * 60));
    const settled = quiet !== null;
    const quietAt = quiet ?? Date.now();
    const settledSeconds = (quietAt - firstSubmit) / 1000;
    const submitCpu = cpuBetween(before, snapshot(ctx));
    let retryingInVisibility: number | null = null;
    try {
      retryingInVisibility = (await ctx.temporal.workflow.count(`WorkflowId STARTS_WITH "delivery:${ctx.tag}-s-" AND DeliveryState = "retrying"`)).count;
    } catch {
      retryingInVisibility = null;
    }
    ctx.log(`[${ctx.mode}]   all attempted after ${firstAttemptSeconds.toFixed(1)} s, quiet after ${settledSeconds.toFixed(1)} s; sampling while they sleep`);

    // Not while sampling: its query would count in what the sleepers cost.
    stopProgress();
    const workerRssSamplesMb: (number | null)[] = [];
    const serverRssSamplesMb: (number | null)[] = [];
    const sleepStart = snapshot(ctx);
    for (let i = 0; i < opts.samples; i++) {
      if (i > 0) await sleep(opts.sampleIntervalSeconds * 1000);
      workerRssSamplesMb.push(round(rssMb(ctx.worker.pid)));
      serverRssSamplesMb.push(round(rssMb(ctx.server.pid)));
    }
    const sleepCpu = cpuBetween(sleepStart, snapshot(ctx));

    const counts = await attempted(ctx.pool, ids);
    const lost = ids.filter((id) => !counts.has(id)).length;
    const unexpectedAttempts = [...counts.values()].filter((c) => c > 1).length;
    const first = workerRssSamplesMb[0];
    const last = workerRssSamplesMb[workerRssSamplesMb.length - 1];
    return {
      n,
      submitSeconds,
      submitPerSecond: n / submitSeconds,
      firstAttemptSeconds,
      settledSeconds,
      settled,
      retryingInVisibility,
      workerRssMbIdle: round(workerRssMbIdle),
      workerRssMbAfterSubmit: round(workerRssMbAfterSubmit),
      workerRssSamplesMb,
      workerRssGrowthMb: first === null || first === undefined || last === null || last === undefined ? null : round(last - first),
      serverRssMbIdle: round(serverRssMbIdle),
      serverRssSamplesMb,
      sampleIntervalSeconds: opts.sampleIntervalSeconds,
      sleepCpu,
      submitCpu,
      lost,
      unexpectedAttempts,
    };
  }
}
