// Scenario 8: what late outcomes cost (README "Late outcomes", "Performance"). Two parts:
//
// - The parser alone, in this process: parseReport over the bounce corpus (test/corpus/bounces),
//   a warm-up pass and then N measured passes; microseconds per report and MB/s.
// - The whole loop on the bench's stack: a batch of messages to plain addresses (the baseline;
//   scenario 7's "off" batch when it ran just before, which is the same thing: plain deliveries
//   on this worker), then one to the simulator's `bouncelater-0` addresses, which it accepts with
//   250 and then at once mails a Postfix DSN about to the envelope sender, b+<token>@<domain>, on
//   the bench's inbound listener (in this process). The listener stores each report; a worker's
//   sweeper starts `report:<id>`, which records the late outcome, tells the address's reputation
//   workflow (a hard bounce: suppressed), the delivery workflow if still open, and the webhook
//   outbox. Per report: CPU of the server, the worker, PostgreSQL and this process (the
//   listener, and the polling) over the baseline; the time from stored to processed; history
//   events and workflow tasks of the report workflows, of the reputation workflows they start,
//   and what they add to the delivery workflows. Every message must end with exactly one late
//   outcome (bounced), its address suppressed, and its reputation workflow told once.
//
// The return path itself (every attempt's envelope sender and X-Rebound-Ref) is on for every
// scenario of the bench: turning it off and on needs a worker restart (seconds per run), for a
// cost measured here in process instead — returnPathMicrosPerAttempt.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Pool } from 'pg';
import { parseReport } from '../../src/bounces/parse';
import { reportWorkflowId } from '../../src/bounces/contract';
import { returnPathAddress, withReboundRef, returnPathToken } from '../../src/bounces/verp';
import { deliveryWorkflowId, lateOutcomeSignal } from '../../src/delivery/contract';
import { PROJECT_ROOT } from '../../src/dev/tools';
import { hardBouncedSignal, reputationWorkflowId } from '../../src/reputation/contract';
import type { SendRequest } from '../../src/message/validate';
import { runBatch, type Batch, type BatchCpuMs } from '../batch';
import { request, type ModeContext } from '../context';
import { countEvents, fetchEvents } from '../history';
import { round, runBounded, summarize, waitFor } from '../measure';
import type { ReturnPath } from '../stack';

// ---------------------------------------------------------------- the parser alone

export interface ParserResult {
  /** Files of the corpus (each one report) and their bytes. */
  reports: number;
  bytes: number;
  /** Measured passes over the whole corpus (after one warm-up pass). */
  passes: number;
  microsPerReport: { p50: number | null; p95: number | null; max: number | null };
  mbPerSecond: number | null;
  /** What the parser made of the corpus (of one pass): dsn, complaint, auto_reply, not_a_bounce. */
  byType: Record<string, number>;
}

const CORPUS_DIR = path.join(PROJECT_ROOT, 'test/corpus/bounces');

/** Every report of the corpus: the .txt and .eml files under test/corpus/bounces, in a stable order. */
function corpusFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...corpusFiles(full));
    else if (/\.(txt|eml)$/i.test(entry.name)) out.push(full);
  }
  return out;
}

export async function runParser(passes: number, log: (msg: string) => void): Promise<ParserResult> {
  const corpus = corpusFiles(CORPUS_DIR).map((f) => readFileSync(f));
  if (corpus.length === 0) throw new Error(`scenario 8: no bounce corpus under ${CORPUS_DIR} (.txt or .eml files); the parser cannot be measured`);
  const bytes = corpus.reduce((a, b) => a + b.length, 0);
  log(`scenario 8: the bounce parser, ${corpus.length} reports (${(bytes / 1024).toFixed(0)} kB), ${passes} passes`);
  const byType: Record<string, number> = {};
  for (const raw of corpus) {
    const t = (await parseReport(raw)).type;
    byType[t] = (byType[t] ?? 0) + 1;
  }
  const micros: number[] = [];
  let totalMs = 0;
  for (let pass = 0; pass < passes; pass++) {
    for (const raw of corpus) {
      const t0 = performance.now();
      await parseReport(raw);
      const ms = performance.now() - t0;
      totalMs += ms;
      micros.push(ms * 1000);
    }
  }
  const s = summarize(micros);
  const result: ParserResult = {
    reports: corpus.length,
    bytes,
    passes,
    microsPerReport: { p50: round(s.p50, 0), p95: round(s.p95, 0), max: round(s.max, 0) },
    mbPerSecond: totalMs > 0 ? round((bytes * passes) / 1e6 / (totalMs / 1000), 2) : null,
    byType,
  };
  log(`  parseReport: p50 ${result.microsPerReport.p50} µs, p95 ${result.microsPerReport.p95} µs per report, ${result.mbPerSecond} MB/s`);
  return result;
}

/**
 * What the return path adds to one attempt, in this process: the envelope sender's token (an
 * HMAC) and the X-Rebound-Ref line put before a ~2 kB message. Microseconds, mean of `n`.
 */
export function returnPathMicrosPerAttempt(returnPath: ReturnPath, n = 5_000): number {
  const raw = Buffer.from(`From: a@b.test\r\nTo: c@d.test\r\nSubject: s\r\n\r\n${'x'.repeat(2000)}\r\n`);
  let sink = 0;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const id = `bench-${i}`;
    sink += returnPathAddress(id, returnPath).length + withReboundRef(raw, returnPathToken(id, returnPath.secret)).length;
  }
  const micros = ((performance.now() - t0) * 1000) / n;
  return sink > 0 ? round(micros, 2)! : 0;
}

// ---------------------------------------------------------------- the whole loop

/** CPU ms per message; the bench process runs the inbound listener, the client SDK and the polling. */
export type LateCpuMs = BatchCpuMs;

/** What a plain delivered message costs on this worker: the baseline a report's cost is read against. */
export interface LateBaseline {
  /** Where it was measured: `scenario 7 (off)` or `scenario 8`. */
  from: string;
  messages: number;
  cpuMsPerMessage: LateCpuMs;
  drainedSeconds: number | null;
  /** Statements the worker sent to PostgreSQL per message. */
  statementsPerMessage?: number | null;
}

export interface LateResult {
  mode: string;
  /** Messages that bounce after their 250 (bouncelater-0: one DSN each). */
  messages: number;
  baseline: LateBaseline;
  /** Reports of the batch the listener stored, and what processing made of them. */
  reports: number;
  outcomes: Record<string, number>;
  /** Reports over the time from the first stored to the last processed. */
  reportsPerSecond: number | null;
  firstStoredToAllProcessedSeconds: number | null;
  /** inbound_reports.received_at -> started_at (the sweeper, every second) and -> processed_at, ms. */
  storedToStartedMs: { p50: number | null; p95: number | null };
  storedToProcessedMs: { p50: number | null; p95: number | null; max: number | null };
  /** CPU per message of the bouncing batch, first submit until idle again; less the baseline's: per report. */
  cpuMsPerMessage: LateCpuMs;
  cpuMsPerReport: LateCpuMs;
  /** Statements the worker sent to PostgreSQL per message of the bouncing batch, and less the baseline's: per report. */
  statementsPerMessage: number | null;
  statementsPerReport: number | null;
  drainedSeconds: number | null;
  /** The report workflows' histories, per report. */
  reportHistoryEvents: number | null;
  reportWorkflowTasks: number | null;
  reportActivities: number | null;
  /** The reputation workflow each hard bounce starts (signal-with-start), per report. */
  reputationHistoryEvents: number | null;
  reputationWorkflowTasks: number | null;
  /** Delivery workflows still open when their report was processed (signalled), and the events that added, per report. */
  deliveryWorkflowsSignalled: number;
  deliveryHistoryEventsAdded: number | null;
  /** Messages without their late outcome, plus addresses not suppressed, plus reports not processed. */
  lost: number;
  /** Late outcomes beyond one per message, plus hard-bounce signals beyond one per address. */
  doubled: number;
  /** Reports the simulator did not get a 250 for (still waiting, gave up, refused). */
  reportsNotTaken: number;
  /** Messages of scenario 8 the simulator did not accept (counted with the mode's lost messages). */
  messagesLost: number;
}

const lateAddress = (ctx: ModeContext, i: number): string => `bouncelater-0+${ctx.tag}l${i}@example.test`;

function requests(ctx: ModeContext, kind: 'lplain' | 'llate', n: number): SendRequest[] {
  return Array.from({ length: n }, (_, i) => request(`${ctx.tag}-${kind}-${i}`, kind === 'llate' ? lateAddress(ctx, i) : `rcpt+${ctx.tag}${kind}${i}@example.test`));
}

async function lastReportId(pool: Pool): Promise<string> {
  const r = await pool.query<{ id: string | null }>('SELECT max(id)::text AS id FROM inbound_reports');
  return r.rows[0]!.id ?? '0';
}

interface ReportRow {
  id: string;
  received: Date;
  started: Date | null;
  processed: Date | null;
  outcome: string | null;
}

async function reportsAfter(pool: Pool, afterId: string): Promise<ReportRow[]> {
  const r = await pool.query<{ id: string; received_at: Date; started_at: Date | null; processed_at: Date | null; outcome: string | null }>(
    'SELECT id::text, received_at, started_at, processed_at, outcome FROM inbound_reports WHERE id > $1 ORDER BY id',
    [afterId],
  );
  return r.rows.map((x) => ({ id: x.id, received: x.received_at, started: x.started_at, processed: x.processed_at, outcome: x.outcome }));
}

/** Late outcomes per message of the batch (any kind), and how many are bounced and told. */
async function lateOutcomeCounts(pool: Pool, ids: string[]): Promise<Map<string, { all: number; bounced: number; told: number }>> {
  const r = await pool.query<{ message_id: string; all: number; bounced: number; told: number }>(
    `SELECT message_id, count(*)::int AS all, count(*) FILTER (WHERE kind = 'bounced')::int AS bounced, count(told_at)::int AS told
       FROM late_outcomes WHERE message_id = ANY($1) GROUP BY message_id`,
    [ids],
  );
  return new Map(r.rows.map((x) => [x.message_id, { all: x.all, bounced: x.bounced, told: x.told }]));
}

async function suppressedOf(pool: Pool, addresses: string[]): Promise<Set<string>> {
  const r = await pool.query<{ address: string }>('SELECT address FROM suppressions WHERE address = ANY($1) AND lifted_at IS NULL', [addresses]);
  return new Set(r.rows.map((x) => x.address));
}

type HistoryEvents = Awaited<ReturnType<typeof fetchEvents>>;

/** Signals of this name in a history. */
function signalsNamed(events: HistoryEvents, name: string): number {
  return events.filter((e) => e.workflowExecutionSignaledEventAttributes?.signalName === name).length;
}

/**
 * The events a signal of this name added to a history: the signal itself, and the workflow task
 * it caused (scheduled, started, completed) when one was scheduled right after it. Counted from
 * the events, not against another message's history, whose length varies a little under load.
 */
function eventsAddedBySignal(events: HistoryEvents, name: string): number {
  let added = 0;
  events.forEach((e, i) => {
    if (e.workflowExecutionSignaledEventAttributes?.signalName !== name) return;
    added += 1;
    if (events[i + 1]?.workflowTaskScheduledEventAttributes) added += 3;
  });
  return added;
}

const msBetween = (a: Date, b: Date | null): number | null => (b === null ? null : b.getTime() - a.getTime());

/** The baseline measured here: a batch of plain messages. */
async function plainBaseline(ctx: ModeContext, n: number, concurrency: number): Promise<{ baseline: LateBaseline; lost: number }> {
  const plain = await runBatch(ctx, requests(ctx, 'lplain', n), { concurrency, settled: async () => {} });
  return { baseline: { from: 'scenario 8', messages: n, cpuMsPerMessage: plain.cpu, drainedSeconds: plain.drainedSeconds, statementsPerMessage: plain.statementsPerMessage }, lost: plain.lost };
}

/** `baseline`: plain deliveries measured just before on this worker (scenario 7's off batch); else a batch of them is run first. */
export async function runLate(ctx: ModeContext, opts: { messages: number; concurrency: number; baseline?: LateBaseline | null }): Promise<LateResult> {
  const n = opts.messages;
  ctx.log(`[${ctx.mode}] scenario 8: late outcomes, ${n} messages that bounce after their 250 (baseline: ${opts.baseline ? opts.baseline.from : `${n} plain messages first`})`);
  const { baseline, lost: plainLost } = opts.baseline ? { baseline: opts.baseline, lost: 0 } : await plainBaseline(ctx, n, opts.concurrency);

  const lateReqs = requests(ctx, 'llate', n);
  const ids = lateReqs.map((r) => r.id!);
  const addresses = lateReqs.map((r) => r.to![0]!);
  const afterId = await lastReportId(ctx.pool);
  const settledTimeoutMs = 60_000 + n * 100;
  const late = await runBatch(ctx, lateReqs, { concurrency: opts.concurrency, settled: async () => {
    const done = await waitFor(
      async () => {
        const outcomes = await lateOutcomeCounts(ctx.pool, ids);
        if (outcomes.size < n || [...outcomes.values()].some((o) => o.told < o.all)) return false;
        return (await suppressedOf(ctx.pool, addresses)).size >= n;
      },
      settledTimeoutMs,
      100,
    );
    if (!done) ctx.log(`[${ctx.mode}]   not every report was processed and its address suppressed within ${settledTimeoutMs / 1000} s`);
  } });

  const reports = await reportsAfter(ctx.pool, afterId);
  const outcomes: Record<string, number> = {};
  for (const r of reports) outcomes[r.outcome ?? 'unprocessed'] = (outcomes[r.outcome ?? 'unprocessed'] ?? 0) + 1;
  const processed = reports.filter((r) => r.processed !== null);
  const firstStored = Math.min(...reports.map((r) => r.received.getTime()));
  const lastProcessed = Math.max(...processed.map((r) => r.processed!.getTime()));
  const span = processed.length > 0 ? (lastProcessed - firstStored) / 1000 : null;
  const started = summarize(reports.map((r) => msBetween(r.received, r.started)).filter((x): x is number => x !== null));
  const done = summarize(processed.map((r) => msBetween(r.received, r.processed)!));

  const counts = await lateOutcomeCounts(ctx.pool, ids);
  const suppressed = await suppressedOf(ctx.pool, addresses);
  const sinkReports = (await ctx.sink.reports()).filter((r) => addresses.includes(r.recipient.toLowerCase()));

  // The histories: report workflows, the reputation workflows they started, the delivery workflows.
  const tally = { reportEvents: 0, reportTasks: 0, reportActivities: 0, repEvents: 0, repTasks: 0, hardBounced: [] as number[], signalled: 0, deliveryEvents: 0 };
  await runBounded(reports, 8, async (r) => {
    const c = countEvents(await fetchEvents(ctx.temporal, reportWorkflowId(r.id)));
    tally.reportEvents += c.events;
    tally.reportTasks += c.workflowTasks;
    tally.reportActivities += c.activities;
  });
  await runBounded(addresses, 8, async (a) => {
    const events = await fetchEvents(ctx.temporal, reputationWorkflowId(a));
    const c = countEvents(events);
    tally.repEvents += c.events;
    tally.repTasks += c.workflowTasks;
    tally.hardBounced.push(signalsNamed(events, hardBouncedSignal.name));
  });
  await runBounded(ids, 8, async (id) => {
    const events = await fetchEvents(ctx.temporal, deliveryWorkflowId(id));
    if (signalsNamed(events, lateOutcomeSignal.name) > 0) tally.signalled += 1;
    tally.deliveryEvents += eventsAddedBySignal(events, lateOutcomeSignal.name);
  });

  const perReport = (x: number): number | null => (n > 0 ? round(x / n, 2) : null);
  const added = (k: keyof LateCpuMs): number => round(late.cpu[k] - baseline.cpuMsPerMessage[k]) ?? 0;
  const lost =
    ids.filter((id) => (counts.get(id)?.bounced ?? 0) === 0).length + addresses.filter((a) => !suppressed.has(a)).length + (reports.length - processed.length);
  const doubled = [...counts.values()].reduce((a, c) => a + Math.max(0, c.all - 1), 0) + tally.hardBounced.reduce((a, k) => a + Math.max(0, k - 1), 0);
  const result: LateResult = {
    mode: ctx.mode,
    messages: n,
    baseline,
    reports: reports.length,
    outcomes,
    reportsPerSecond: span && span > 0 ? round(processed.length / span) : null,
    firstStoredToAllProcessedSeconds: round(span),
    storedToStartedMs: { p50: round(started.p50, 0), p95: round(started.p95, 0) },
    storedToProcessedMs: { p50: round(done.p50, 0), p95: round(done.p95, 0), max: round(done.max, 0) },
    cpuMsPerMessage: late.cpu,
    cpuMsPerReport: { server: added('server'), worker: added('worker'), postgres: added('postgres'), bench: added('bench') },
    statementsPerMessage: late.statementsPerMessage,
    statementsPerReport: late.statementsPerMessage !== null && typeof baseline.statementsPerMessage === 'number' ? round(late.statementsPerMessage - baseline.statementsPerMessage, 2) : null,
    drainedSeconds: late.drainedSeconds,
    reportHistoryEvents: perReport(tally.reportEvents),
    reportWorkflowTasks: perReport(tally.reportTasks),
    reportActivities: perReport(tally.reportActivities),
    reputationHistoryEvents: perReport(tally.repEvents),
    reputationWorkflowTasks: perReport(tally.repTasks),
    deliveryWorkflowsSignalled: tally.signalled,
    deliveryHistoryEventsAdded: perReport(tally.deliveryEvents),
    lost,
    doubled,
    reportsNotTaken: n - sinkReports.filter((r) => r.state === 'sent').length,
    messagesLost: plainLost + late.lost,
  };
  const c = result.cpuMsPerReport;
  ctx.log(
    `[${ctx.mode}]   ${result.reports} reports, ${result.reportsPerSecond}/s; stored -> processed p50 ${result.storedToProcessedMs.p50} ms, p95 ${result.storedToProcessedMs.p95} ms; ` +
      `CPU ms per report: server ${c.server}, worker ${c.worker}, postgres ${c.postgres}, bench ${c.bench}; ` +
      `${result.reportHistoryEvents} + ${result.reputationHistoryEvents} history events per report (report + reputation), ${result.deliveryWorkflowsSignalled} delivery workflows signalled; ` +
      `lost ${lost}, doubled ${doubled}, not taken ${result.reportsNotTaken}`,
  );
  return result;
}
