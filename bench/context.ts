// What every Rebound scenario gets: the running stack of one persistence mode, the client SDK,
// and helpers to build requests, submit them and wait for their outcome in PostgreSQL.
import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import type { ReboundClient } from '../src/client/rebound-client';
import type { SendRequest } from '../src/message/validate';
import { cpuBetween, cpuSnapshot, runBounded, runPaced, sleep, waitFor, type CpuProcesses, type CpuSnapshot } from './measure';
import type { BenchServer, PersistenceMode, RemoteSink, WorkerChild } from './stack';

export interface ModeContext {
  mode: PersistenceMode;
  /** Short, unique per run and mode: keeps ids and simulator state apart. */
  tag: string;
  server: BenchServer;
  worker: WorkerChild;
  sink: RemoteSink;
  temporal: Client;
  rebound: ReboundClient;
  /** The task queue the worker polls (for scenarios that build a client of their own). */
  taskQueue: string;
  /** The bench's own pool for polling (the client SDK has its own). */
  pool: Pool;
  log: (msg: string) => void;
}

const SENDER = 'Rebound Bench <bench@rebound.test>';
/** A typical transactional body, ~1.5 kB. */
const BODY = `Hello,\n\nThank you for your order. ${'This line stands for the receipt, the links and the footer. '.repeat(24)}\n\n-- \nRebound bench\n`;

export function request(id: string, to: string, extra: Partial<SendRequest> = {}): SendRequest {
  return { id, from: SENDER, to: [to], subject: `Bench message ${id}`, text: BODY, ...extra };
}

function procs(ctx: ModeContext): CpuProcesses {
  return { server: ctx.server.pid, worker: ctx.worker.pid, sink: ctx.sink.pid };
}

export function snapshot(ctx: ModeContext): CpuSnapshot {
  return cpuSnapshot(procs(ctx));
}

export interface Submitted {
  id: string;
  /** Date.now() when send() was called. */
  t0: number;
  /** Date.now() when send() resolved; null when it failed. */
  t1: number | null;
  error?: string;
}

/** Submits through the client SDK, either with `concurrency` calls in flight or paced at `rate` per second. */
export async function submit(ctx: ModeContext, requests: SendRequest[], how: { concurrency: number } | { rate: number; maxInFlight: number }): Promise<Submitted[]> {
  const out: Submitted[] = new Array(requests.length);
  const one = async (req: SendRequest, i: number): Promise<void> => {
    const t0 = Date.now();
    try {
      await ctx.rebound.send(req);
      out[i] = { id: req.id!, t0, t1: Date.now() };
    } catch (err) {
      out[i] = { id: req.id!, t0, t1: null, error: (err as Error).message };
    }
  };
  if ('concurrency' in how) await runBounded(requests, how.concurrency, one);
  else await runPaced(requests, how.rate, how.maxInFlight, one);
  const failed = out.filter((s) => s.t1 === null);
  if (failed.length > 0) ctx.log(`${failed.length} submissions failed, first: ${failed[0]!.error}`);
  return out;
}

/** How many of `ids` have their recipient accepted (the send activity records it right after the 250). */
async function countAccepted(pool: Pool, ids: string[]): Promise<number> {
  const r = await pool.query<{ n: string }>('SELECT count(*) AS n FROM accepted_recipients WHERE message_id = ANY($1)', [ids]);
  return Number(r.rows[0]!.n);
}

export async function countFinished(pool: Pool, ids: string[]): Promise<number> {
  const r = await pool.query<{ n: string }>('SELECT count(*) AS n FROM messages WHERE id = ANY($1) AND finished_at IS NOT NULL', [ids]);
  return Number(r.rows[0]!.n);
}

export async function finalStates(pool: Pool, ids: string[]): Promise<Map<string, { state: string; finishedAt: Date | null }>> {
  const r = await pool.query<{ id: string; state: string; finished_at: Date | null }>('SELECT id, state, finished_at FROM messages WHERE id = ANY($1)', [ids]);
  return new Map(r.rows.map((row) => [row.id, { state: row.state, finishedAt: row.finished_at }]));
}

/** Waits until every id is accepted, or the timeout; returns whether all were. */
export function untilAccepted(ctx: ModeContext, ids: string[], timeoutMs: number): Promise<boolean> {
  return waitFor(async () => (await countAccepted(ctx.pool, ids)) >= ids.length, timeoutMs, 100);
}

export function untilFinished(ctx: ModeContext, ids: string[], timeoutMs: number): Promise<boolean> {
  return waitFor(async () => (await countFinished(ctx.pool, ids)) >= ids.length, timeoutMs, 200);
}

/** receivedAt (ms) of the first acceptance of each Message-ID, from the simulator. */
export async function acceptedTimes(ctx: ModeContext): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const m of await ctx.sink.received()) {
    if (!m.messageId) continue;
    const key = m.messageId.replace(/^<|>$/g, '');
    const t = Date.parse(m.receivedAt);
    const before = out.get(key);
    if (before === undefined || t < before) out.set(key, t);
  }
  return out;
}

/** `acceptedTimes` key for a message id. */
export const acceptedKey = (id: string): string => `${id}@rebound.test`;

/**
 * Waits until the worker and the server are idle (under 5 % and 20 % of a core over half a second):
 * the work a batch leaves behind (completions, reputation workflows) is done. Returns the time
 * (Date.now()) at which the quiet second began, or null on timeout.
 */
export async function quiesce(ctx: ModeContext, timeoutMs = 120_000): Promise<number | null> {
  const until = Date.now() + timeoutMs;
  let before = snapshot(ctx);
  let beforeAt = Date.now();
  while (Date.now() < until) {
    await sleep(500);
    const now = snapshot(ctx);
    const use = cpuBetween(before, now);
    if (use.serverPct < 20 && use.workerPct < 5) return beforeAt;
    before = now;
    beforeAt = Date.now();
  }
  ctx.log(`[${ctx.mode}] the server and the worker did not go idle within ${timeoutMs / 1000} s`);
  return null;
}

/** What a batch's submits came to at the simulator: submit -> accepted per message, the last acceptance, and the messages not delivered. */
export function tallyAccepted(submitted: Submitted[], accepted: Map<string, number>, states: Map<string, { state: string }>): { firstSubmit: number; lastAccepted: number; latencies: number[]; lost: number } {
  const firstSubmit = submitted.reduce((min, s) => Math.min(min, s.t0), Infinity);
  const latencies: number[] = [];
  let lastAccepted = firstSubmit;
  let lost = 0;
  for (const s of submitted) {
    const at = accepted.get(acceptedKey(s.id));
    if (at === undefined || s.t1 === null || states.get(s.id)?.state !== 'delivered') lost++;
    if (at !== undefined) {
      latencies.push(at - s.t0);
      lastAccepted = Math.max(lastAccepted, at);
    }
  }
  return { firstSubmit, lastAccepted, latencies, lost };
}
