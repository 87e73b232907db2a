// One batch of messages measured from its first submit until the server and the worker are idle
// again, CPU per message of each process: the shape scenarios 7 and 8 read their costs in.
import type { SendRequest } from '../src/message/validate';
import { acceptedKey, acceptedTimes, quiesce, snapshot, submit, untilAccepted, type ModeContext } from './context';
import { cpuBetween, round } from './measure';

export interface BatchCpuMs {
  server: number;
  worker: number;
  postgres: number;
  /** The bench process: the client SDK and whatever the scenario runs in it (a receiver, the inbound listener). */
  bench: number;
}

export interface Batch {
  ids: string[];
  cpu: BatchCpuMs;
  /** First submit until idle again, s. */
  drainedSeconds: number | null;
  /** Messages the simulator never accepted, and those `lost` adds. */
  lost: number;
  /** Statements the worker sent to PostgreSQL per message (bench/pg-count-preload.ts); null when not counted. */
  statementsPerMessage: number | null;
}

export interface BatchOptions {
  concurrency: number;
  /** Awaited after every message was accepted, before the idle check: what else the batch must produce. */
  settled: () => Promise<void>;
  /** Further messages to count as lost (not delivered, say), given the batch's ids. */
  lost?: (ids: string[]) => Promise<Set<string>>;
}

export async function runBatch(ctx: ModeContext, reqs: SendRequest[], opts: BatchOptions): Promise<Batch> {
  const ids = reqs.map((r) => r.id!);
  const statementsBefore = await ctx.worker.statements();
  const before = snapshot(ctx);
  const submitted = await submit(ctx, reqs, { concurrency: opts.concurrency });
  const timeoutMs = 120_000 + reqs.length * 50;
  if (!(await untilAccepted(ctx, ids, timeoutMs))) ctx.log(`[${ctx.mode}]   not every message was accepted within ${timeoutMs / 1000} s`);
  await opts.settled();
  const drainedAt = await quiesce(ctx, 180_000);
  const drained = cpuBetween(before, snapshot(ctx));
  const statementsAfter = await ctx.worker.statements();
  const perMessage = (pct: number): number => Math.round(((pct * drained.seconds * 10) / reqs.length) * 10) / 10;
  const accepted = await acceptedTimes(ctx);
  const alsoLost = opts.lost ? await opts.lost(ids) : new Set<string>();
  const firstSubmit = Math.min(...submitted.map((s) => s.t0));
  return {
    ids,
    cpu: { server: perMessage(drained.serverPct), worker: perMessage(drained.workerPct), postgres: perMessage(drained.postgresPct), bench: perMessage(drained.benchPct) },
    drainedSeconds: drainedAt === null ? null : round((drainedAt - firstSubmit) / 1000),
    lost: ids.filter((id) => alsoLost.has(id) || !accepted.has(acceptedKey(id))).length,
    statementsPerMessage: statementsBefore && statementsAfter ? round((statementsAfter.statements - statementsBefore.statements) / reqs.length, 2) : null,
  };
}
