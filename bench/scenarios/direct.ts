// Scenario 9: what direct delivery and traffic shaping cost (README "Direct delivery",
// "Traffic shaping", "Performance"). Two batches of the same size and shape, each measured from
// its first submit until the stack is idle again (bench/batch.ts):
//
// - relay: the bench's worker, through the bounce simulator as the relay;
// - direct: a second worker process with REBOUND_DELIVERY=direct, resolving the recipient
//   domain's MX through a dns2 DNS server in this process (src/dev/zone-server.ts) and
//   delivering to a bounce simulator listening as that MX (a child process, like the relay's).
//
// Per message: CPU of the server, the worker, PostgreSQL and this process, relay against direct.
// Per attempt: the statements the worker sent to PostgreSQL and, apart, those naming a site table
// (sites, site_*), with the time they took — what shaping costs an attempt in round trips and
// milliseconds. Both workers run with bench/pg-count-preload.ts, which counts every statement
// in the process by its text, whatever code sends it. The statement totals include the
// sweepers' ticks of the batch's seconds (webhooks, reports): they are a ceiling, not the
// attempt's own count; the site statements have no such share.
import { ReboundClient } from '../../src/client/rebound-client';
import { freePort } from '../../src/dev/temporal-server';
import { startZoneServer } from '../../src/dev/zone-server';
import type { StatementCounts } from '../pg-count-preload';
import { runBatch, type BatchCpuMs } from '../batch';
import { request, type ModeContext } from '../context';
import { round } from '../measure';
import { startSinkChild, type Cleanup, type RemoteSink, type WorkerChild } from '../stack';

/** The recipient domain of the direct batch, and its MX host (a site of its own: README "Traffic shaping", Sites). */
export const DIRECT_DOMAIN = 'direct.bench.test';
export const DIRECT_MX_HOST = 'mx.direct.bench.test';

export interface DirectTarget {
  /** The MX host's simulator. */
  mx: RemoteSink;
  /** host:port of the DNS server. */
  dns: string;
  /** The direct worker's environment: REBOUND_DELIVERY, REBOUND_DNS_SERVERS, REBOUND_MX_PORT, REBOUND_HELO_NAME. */
  env: Record<string, string>;
}

/** The DNS server and the MX host the direct worker delivers to; stopped by the cleanup. */
export async function startDirectTarget(cleanup: Cleanup): Promise<DirectTarget> {
  const port = await freePort();
  const mx = await startSinkChild(cleanup, '', port, 'direct MX');
  const dns = await startZoneServer({ [DIRECT_DOMAIN]: { mx: [[10, DIRECT_MX_HOST]] }, [DIRECT_MX_HOST]: { a: ['127.0.0.1'] } });
  cleanup.add('direct DNS', () => dns.close());
  return { mx, dns: dns.server, env: { REBOUND_DELIVERY: 'direct', REBOUND_DNS_SERVERS: dns.server, REBOUND_MX_PORT: String(port), REBOUND_HELO_NAME: 'bench.rebound.test' } };
}

/** One batch's PostgreSQL statements, per attempt. */
export interface StatementsPerAttempt {
  /** Attempts the batch made (rows of the attempt log: one per recipient and attempt). */
  attempts: number;
  /** Every statement of the worker process in the batch's time, per attempt (a ceiling: the sweepers' ticks are in it). */
  statements: number | null;
  /** Their time from the call to the result, per attempt, in ms (the site statements' share included). */
  statementsMs: number | null;
  /** Statements naming a site table, per attempt: shaping's round trips. */
  siteStatements: number | null;
  /** Their time from the call to the result, per attempt: what shaping adds to an attempt's time, in ms. */
  siteMs: number | null;
  /** The site tables those statements named. */
  siteTables: string[];
}

export interface DirectResult {
  mode: string;
  /** Messages in each batch (one recipient each). */
  messages: number;
  /** The direct batch's site (its MX host). */
  site: string;
  cpuMsPerMessage: { relay: BatchCpuMs; direct: BatchCpuMs };
  /** direct - relay, per message. */
  cpuMsPerMessageAdded: BatchCpuMs;
  drainedSeconds: { relay: number | null; direct: number | null };
  perAttempt: { relay: StatementsPerAttempt; direct: StatementsPerAttempt };
  /** Messages of either batch not accepted by their MX or relay. */
  lost: number;
}

async function attemptsOf(ctx: ModeContext, ids: string[]): Promise<number> {
  const r = await ctx.pool.query<{ n: string }>('SELECT count(*) AS n FROM attempts WHERE message_id = ANY($1)', [ids]);
  return Number(r.rows[0]!.n);
}

function perAttempt(before: StatementCounts | null, after: StatementCounts | null, attempts: number): StatementsPerAttempt {
  const per = (k: 'statements' | 'ms' | 'siteStatements' | 'siteMs', digits: number) => (before && after && attempts > 0 ? round((after[k] - before[k]) / attempts, digits) : null);
  return { attempts, statements: per('statements', 2), statementsMs: per('ms', 3), siteStatements: per('siteStatements', 2), siteMs: per('siteMs', 3), siteTables: after?.siteTables ?? [] };
}

async function measured(ctx: ModeContext, worker: WorkerChild, ids: string[], to: (i: number) => string, concurrency: number) {
  const before = await worker.statements();
  const batch = await runBatch(ctx, ids.map((id, i) => request(id, to(i))), { concurrency, settled: async () => undefined });
  const after = await worker.statements();
  return { batch, counts: perAttempt(before, after, await attemptsOf(ctx, ids)) };
}

export async function runDirect(ctx: ModeContext, opts: { messages: number; concurrency: number; worker: WorkerChild; taskQueue: string; target: DirectTarget }): Promise<DirectResult> {
  const n = opts.messages;
  ctx.log(`[${ctx.mode}] scenario 9: direct delivery and shaping, ${n} messages through the relay, then ${n} to ${DIRECT_DOMAIN}'s MX (DNS ${opts.target.dns})`);
  const relay = await measured(ctx, ctx.worker, Array.from({ length: n }, (_, i) => `${ctx.tag}-dr-${i}`), (i) => `relay+${ctx.tag}${i}@example.test`, opts.concurrency);
  const direct = { ...ctx, worker: opts.worker, sink: opts.target.mx, rebound: new ReboundClient({ client: ctx.temporal, pool: ctx.rebound.pool, taskQueue: opts.taskQueue }) };
  const mx = await measured(direct, opts.worker, Array.from({ length: n }, (_, i) => `${ctx.tag}-dd-${i}`), (i) => `direct+${ctx.tag}${i}@${DIRECT_DOMAIN}`, opts.concurrency);
  const r = relay.batch.cpu;
  const d = mx.batch.cpu;
  const added = { server: round(d.server - r.server)!, worker: round(d.worker - r.worker)!, postgres: round(d.postgres - r.postgres)!, bench: round(d.bench - r.bench)! };
  const result: DirectResult = {
    mode: ctx.mode,
    messages: n,
    site: DIRECT_MX_HOST,
    cpuMsPerMessage: { relay: r, direct: d },
    cpuMsPerMessageAdded: added,
    drainedSeconds: { relay: relay.batch.drainedSeconds, direct: mx.batch.drainedSeconds },
    perAttempt: { relay: relay.counts, direct: mx.counts },
    lost: relay.batch.lost + mx.batch.lost,
  };
  const c = (x: StatementsPerAttempt) => `${x.statements ?? '-'} statements, ${x.statementsMs ?? '-'} ms (${x.siteStatements ?? '-'} on site tables, ${x.siteMs ?? '-'} ms)`;
  ctx.log(
    `[${ctx.mode}]   CPU ms per message relay -> direct: server ${r.server} -> ${d.server}, worker ${r.worker} -> ${d.worker}, postgres ${r.postgres} -> ${d.postgres}, bench ${r.bench} -> ${d.bench}; ` +
      `per attempt relay ${c(relay.counts)}, direct ${c(mx.counts)}${mx.counts.siteTables.length ? ` [${mx.counts.siteTables.join(', ')}]` : ''}; lost ${result.lost}`,
  );
  return result;
}
