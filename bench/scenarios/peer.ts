// Scenario 10: the pg-boss peer (README "Performance", the peer). The same job as scenario 2 on
// the same machine, simulator and database server: N messages with C submissions in flight,
// every one to an accepting address, measured the same way (first submit -> last acceptance at
// the simulator, submit -> accepted per message, CPU per message by pid until the worker is idle
// again). Then a small check batch of soft and hard bounces, so the re-queue on Rebound's schedule
// and the stop on a hard bounce are seen working, not only the happy path.
import type { Pool } from 'pg';
import type { SendRequest } from '../../src/message/validate';
import { createPool } from '../../src/db/pool';
import { acceptedKey, acceptedTimes, request, type ModeContext } from '../context';
import { cpuBetween, cpuSnapshot, round, runBounded, sleep, summarize, waitFor, type CpuUse, type Summary } from '../measure';
import { startPeerChild, type PeerChild } from '../peer/child';
import { PEER_SCHEMA } from '../peer/schema';
import { PeerClient } from '../peer/submit';
import { PEER_TUNING, peerConcurrency } from '../peer/tuning';
import type { Cleanup } from '../stack';

export interface PeerResult {
  n: number;
  /** Submissions in flight (the bench's, as for scenario 2). */
  submitConcurrency: number;
  /** Jobs the peer's worker holds at once, and how (README "Performance", the peer). */
  concurrency: number;
  tuning: typeof PEER_TUNING;
  submitPerSecond: number | null;
  deliveredSeconds: number | null;
  deliveredPerSecond: number | null;
  drainedSeconds: number | null;
  acceptedP50Ms: number | null;
  acceptedP99Ms: number | null;
  acceptedMs: Summary;
  /** store + queue the first job, in the bench process. */
  clientCallMs: Summary;
  /** First submit until the peer is idle again, per message: the peer's worker, PostgreSQL (all of it), the bench (submit side), the simulator. */
  cpuMsPerMessage: { peer: number; postgres: number; client: number; sink: number };
  cpu: CpuUse;
  lost: number;
  /** (Message-ID, recipient) pairs of the peer's messages the simulator accepted more than once. */
  duplicates: number;
  /** The soft/hard check batch: SMTP attempts seen against the model, states against the expected ones. */
  check: { messages: number; attempts: number; expectedAttempts: number; attemptMismatches: number; wrongState: number };
}

const FINAL = ['delivered', 'failed', 'partial', 'expired'];

async function states(pool: Pool, ids: string[]): Promise<Map<string, string>> {
  const r = await pool.query<{ id: string; state: string }>(`SELECT id, state FROM ${PEER_SCHEMA}.peer_messages WHERE id = ANY($1)`, [ids]);
  return new Map(r.rows.map((x) => [x.id, x.state]));
}

async function untilFinal(pool: Pool, ids: string[], timeoutMs: number): Promise<boolean> {
  return waitFor(async () => {
    const r = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${PEER_SCHEMA}.peer_messages WHERE id = ANY($1) AND state = ANY($2)`, [ids, FINAL]);
    return Number(r.rows[0]!.n) >= ids.length;
  }, timeoutMs, 100);
}

/** Until the peer's worker is under 5 % of a core over half a second; when that half second began (Date.now()), or null. */
async function quiet(peer: PeerChild, sinkPid: number, timeoutMs: number): Promise<number | null> {
  const until = Date.now() + timeoutMs;
  let before = cpuSnapshot({ server: null, worker: peer.pid, sink: sinkPid });
  let beforeAt = Date.now();
  while (Date.now() < until) {
    await sleep(500);
    const now = cpuSnapshot({ server: null, worker: peer.pid, sink: sinkPid });
    if (cpuBetween(before, now).workerPct < 5) return beforeAt;
    before = now;
    beforeAt = Date.now();
  }
  return null;
}

async function submitAll(client: PeerClient, reqs: SendRequest[], concurrency: number, log: (m: string) => void): Promise<{ id: string; t0: number; t1: number | null }[]> {
  const out: { id: string; t0: number; t1: number | null }[] = new Array(reqs.length);
  let firstError: string | null = null;
  await runBounded(reqs, concurrency, async (req, i) => {
    const t0 = Date.now();
    try {
      await client.send(req);
      out[i] = { id: req.id!, t0, t1: Date.now() };
    } catch (err) {
      firstError ??= (err as Error).message;
      out[i] = { id: req.id!, t0, t1: null };
    }
  });
  if (firstError) log(`peer: ${out.filter((s) => s.t1 === null).length} submissions failed, first: ${firstError}`);
  return out;
}

/** The check batch: what each address does at the simulator, and what the peer should make of it. */
const CHECK = [
  { local: 'greylist-1', attempts: 2, state: 'delivered' },
  { local: 'soft-2', attempts: 3, state: 'delivered' },
  { local: 'unknown', attempts: 1, state: 'failed' },
];

export async function runPeer(
  ctx: ModeContext,
  opts: { messages: number; concurrency: number; warmup: number; databaseUrl: string; cleanup: Cleanup },
): Promise<PeerResult> {
  const { log } = ctx;
  const tag = `${ctx.tag}q`;
  log(`[${ctx.mode}] scenario 10: pg-boss peer, ${opts.messages} messages, ${opts.concurrency} in flight (worker: ${PEER_TUNING.workers} x ${PEER_TUNING.batchSize} jobs)`);
  const peer = await startPeerChild(opts.databaseUrl, ctx.sink.url, opts.cleanup);
  const pool = createPool(opts.databaseUrl, { max: PEER_TUNING.poolSize });
  const closePool = opts.cleanup.add('peer submit pool', () => pool.end());
  const client = await PeerClient.open(pool, opts.databaseUrl);
  const closeClient = opts.cleanup.add('peer submit side', () => client.close());
  try {
    // Warm-up (not measured), like Rebound's: JIT, pools, SMTP connections.
    const warm = Array.from({ length: opts.warmup }, (_, i) => request(`${tag}-w-${i}`, `warm+${tag}${i}@example.test`));
    await submitAll(client, warm, opts.concurrency, log);
    if (!(await untilFinal(pool, warm.map((r) => r.id!), 60_000))) throw new Error('the pg-boss peer did not deliver its warm-up messages within 60 s; see its errors above');
    await quiet(peer, ctx.sink.pid, 30_000);

    const reqs = Array.from({ length: opts.messages }, (_, i) => request(`${tag}-d-${i}`, `rcpt+${tag}d${i}@example.test`));
    const ids = reqs.map((r) => r.id!);
    const procs = { server: null, worker: peer.pid, sink: ctx.sink.pid };
    const before = cpuSnapshot(procs);
    const submitted = await submitAll(client, reqs, opts.concurrency, log);
    const submitEnd = Date.now();
    const timeoutMs = 120_000 + reqs.length * 50;
    if (!(await untilFinal(pool, ids, timeoutMs))) log(`[${ctx.mode}]   peer: not every message was final within ${timeoutMs / 1000} s`);
    const drainedAt = await quiet(peer, ctx.sink.pid, 60_000);
    const after = cpuSnapshot(procs);
    const cpu = cpuBetween(before, after);
    const perMessage = (pct: number): number => Math.round(((pct * cpu.seconds * 10) / reqs.length) * 10) / 10;

    const accepted = await acceptedTimes(ctx);
    const final = await states(pool, ids);
    const firstSubmit = Math.min(...submitted.map((s) => s.t0));
    let lastAccepted = firstSubmit;
    let lost = 0;
    const latencies: number[] = [];
    for (const s of submitted) {
      const at = accepted.get(acceptedKey(s.id));
      if (at === undefined || s.t1 === null || final.get(s.id) !== 'delivered') lost++;
      if (at !== undefined) {
        latencies.push(at - s.t0);
        lastAccepted = Math.max(lastAccepted, at);
      }
    }
    const deliveredSeconds = (lastAccepted - firstSubmit) / 1000;
    const acceptedMs = summarize(latencies);

    // The check batch, after the measured one.
    const checkItems = CHECK.flatMap((c, k) =>
      [0, 1].map((i) => ({ ...c, req: request(`${tag}-c${k}-${i}`, `${c.local}+${tag}c${k}x${i}@example.test`), address: `${c.local}+${tag}c${k}x${i}@example.test` })),
    );
    const checkIds = checkItems.map((x) => x.req.id!);
    await submitAll(client, checkItems.map((x) => x.req), opts.concurrency, log);
    if (!(await untilFinal(pool, checkIds, 60_000))) log(`[${ctx.mode}]   peer: the check batch was not final within 60 s`);
    const checkStates = await states(pool, checkIds);
    const seen = new Map<string, number>();
    for (const tx of await ctx.sink.transactions()) for (const r of tx.rcpt) seen.set(r.address.toLowerCase(), (seen.get(r.address.toLowerCase()) ?? 0) + 1);
    const check = { messages: checkItems.length, attempts: 0, expectedAttempts: 0, attemptMismatches: 0, wrongState: 0 };
    for (const x of checkItems) {
      const got = seen.get(x.address.toLowerCase()) ?? 0;
      check.attempts += got;
      check.expectedAttempts += x.attempts;
      if (got !== x.attempts) check.attemptMismatches++;
      if (checkStates.get(x.req.id!) !== x.state) check.wrongState++;
    }

    const peerKeys = new Set([...ids, ...checkIds, ...warm.map((r) => r.id!)].map(acceptedKey));
    const duplicates = (await ctx.sink.duplicates()).filter((d) => peerKeys.has(d.messageId.replace(/^<|>$/g, ''))).length;
    const result: PeerResult = {
      n: reqs.length,
      submitConcurrency: opts.concurrency,
      concurrency: peerConcurrency(),
      tuning: PEER_TUNING,
      submitPerSecond: round(reqs.length / ((submitEnd - firstSubmit) / 1000)),
      deliveredSeconds: round(deliveredSeconds, 2),
      deliveredPerSecond: deliveredSeconds > 0 ? round((reqs.length - lost) / deliveredSeconds) : null,
      drainedSeconds: drainedAt === null ? null : round((Math.max(drainedAt, lastAccepted) - firstSubmit) / 1000, 2),
      acceptedP50Ms: round(acceptedMs.p50, 0),
      acceptedP99Ms: round(acceptedMs.p99, 0),
      acceptedMs,
      clientCallMs: summarize(submitted.filter((s) => s.t1 !== null).map((s) => s.t1! - s.t0)),
      cpuMsPerMessage: { peer: perMessage(cpu.workerPct), postgres: perMessage(cpu.postgresPct), client: perMessage(cpu.benchPct), sink: perMessage(cpu.sinkPct) },
      cpu,
      lost: lost + check.wrongState,
      duplicates,
      check,
    };
    log(
      `[${ctx.mode}]   peer: delivered ${result.deliveredPerSecond}/s, accepted p50 ${result.acceptedP50Ms} ms / p99 ${result.acceptedP99Ms} ms, ` +
        `CPU/message peer ${result.cpuMsPerMessage.peer} ms + postgres ${result.cpuMsPerMessage.postgres} ms; lost ${result.lost}, duplicates ${duplicates}; ` +
        `check: ${check.attempts} attempts (model ${check.expectedAttempts}), ${check.wrongState} in a wrong state`,
    );
    return result;
  } finally {
    await closeClient();
    await closePool();
    await peer.stop();
  }
}
