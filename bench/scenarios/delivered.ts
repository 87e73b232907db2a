// Scenario 2: every message delivered at the first attempt. A full-speed run (bounded
// concurrency) for throughput and latency under load, then a paced run at half the achieved
// rate for latency with headroom, and a breakdown of where a message's time goes, read from the
// recorded histories of a sample.
import type { SendRequest } from '../../src/message/validate';
import { deliveryWorkflowId } from '../../src/delivery/contract';
import {
  acceptedKey,
  tallyAccepted,
  acceptedTimes,
  finalStates,
  quiesce,
  request,
  snapshot,
  submit,
  untilAccepted,
  untilFinished,
  type ModeContext,
  type Submitted,
} from '../context';
import { activitySpanMs, eventMs, fetchEvents, timeByPhase } from '../history';
import { cpuBetween, runBounded, summarize, type CpuUse, type Summary } from '../measure';

export interface BatchResult {
  n: number;
  submitSeconds: number;
  submitPerSecond: number;
  /** First submit to last acceptance by the simulator. */
  deliveredSeconds: number;
  deliveredPerSecond: number;
  /**
   * First submit until the server and the worker are idle again: the work each message leaves
   * after its acceptance (completion, reputation workflow) included. The rate the pipeline can
   * sustain.
   */
  drainedSeconds: number | null;
  sustainedPerSecond: number | null;
  /** Simulator receivedAt minus the start of the send() call, ms. */
  acceptedMs: Summary;
  /** Duration of the client's send() call (validate, compose, INSERT, start), ms. */
  clientCallMs: Summary;
  lost: number;
  /** First submit until every message was accepted. */
  cpu: CpuUse;
  /** CPU milliseconds per message, first submit until idle again (all the work a message causes). */
  cpuMsPerMessage: { server: number; worker: number; postgres: number; client: number; sink: number };
  /** Only for paced runs. */
  targetRatePerSecond?: number;
}

export interface PhaseRow {
  phase: string;
  p50Ms: number | null;
  p95Ms: number | null;
  meanMs: number | null;
}

export interface Breakdown {
  sample: number;
  /** The path of one message, in order, from the send() call to the workflow's completion. */
  path: PhaseRow[];
  /** The delivery workflow's wall time split by what each gap between events waited for. */
  phases: PhaseRow[];
  /**
   * Off the acceptance path: the reputation signal and its workflow. Always empty: a clean
   * delivery starts no reputation workflow (the report says so).
   */
  reputation: PhaseRow[];
}

interface Internal {
  result: BatchResult;
  submitted: Submitted[];
  accepted: Map<string, number>;
}

function requests(ctx: ModeContext, kind: string, n: number): SendRequest[] {
  return Array.from({ length: n }, (_, i) => {
    const id = `${ctx.tag}-${kind}-${i}`;
    return request(id, `rcpt+${ctx.tag}${kind}${i}@example.test`);
  });
}

async function runBatch(
  ctx: ModeContext,
  reqs: SendRequest[],
  how: { concurrency: number } | { rate: number; maxInFlight: number },
): Promise<Internal> {
  const ids = reqs.map((r) => r.id!);
  const before = snapshot(ctx);
  const submitted = await submit(ctx, reqs, how);
  const submitEnd = Date.now();
  const timeoutMs = 120_000 + reqs.length * 50;
  const all = await untilAccepted(ctx, ids, timeoutMs);
  const after = snapshot(ctx);
  if (!all) ctx.log(`not every message was accepted within ${timeoutMs / 1000} s`);
  await untilFinished(ctx, ids, 30_000);
  const drainedAt = await quiesce(ctx, 180_000);
  const drained = cpuBetween(before, snapshot(ctx));
  const perMessage = (pct: number): number => Math.round((pct * drained.seconds * 10) / reqs.length * 10) / 10;
  const states = await finalStates(ctx.pool, ids);
  const accepted = await acceptedTimes(ctx);

  const { firstSubmit, lastAccepted, latencies, lost } = tallyAccepted(submitted, accepted, states);
  const submitSeconds = (submitEnd - firstSubmit) / 1000;
  const deliveredSeconds = (lastAccepted - firstSubmit) / 1000;
  const drainedSeconds = drainedAt === null ? null : (Math.max(drainedAt, lastAccepted) - firstSubmit) / 1000;
  const result: BatchResult = {
    n: reqs.length,
    submitSeconds,
    submitPerSecond: reqs.length / submitSeconds,
    deliveredSeconds,
    deliveredPerSecond: (reqs.length - lost) / deliveredSeconds,
    drainedSeconds,
    sustainedPerSecond: drainedSeconds === null ? null : (reqs.length - lost) / drainedSeconds,
    acceptedMs: summarize(latencies),
    clientCallMs: summarize(submitted.filter((s) => s.t1 !== null).map((s) => s.t1! - s.t0)),
    lost,
    cpu: cpuBetween(before, after),
    cpuMsPerMessage: {
      server: perMessage(drained.serverPct),
      worker: perMessage(drained.workerPct),
      postgres: perMessage(drained.postgresPct),
      client: perMessage(drained.benchPct),
      sink: perMessage(drained.sinkPct),
    },
  };
  return { result, submitted, accepted };
}

function rows(values: Map<string, number[]>, order?: string[]): PhaseRow[] {
  const labels = order ?? [...values.keys()];
  return labels
    .filter((l) => values.has(l))
    .map((phase) => {
      const s = summarize(values.get(phase)!);
      return { phase, p50Ms: s.p50, p95Ms: s.p95, meanMs: s.mean };
    });
}

async function breakdown(ctx: ModeContext, run: Internal, sampleSize: number): Promise<Breakdown> {
  const candidates = run.submitted.filter((s) => s.t1 !== null && run.accepted.has(acceptedKey(s.id)));
  const step = Math.max(1, Math.floor(candidates.length / sampleSize));
  const sample = candidates.filter((_, i) => i % step === 0).slice(0, sampleSize);
  const path = new Map<string, number[]>();
  const phases = new Map<string, number[]>();
  const push = (m: Map<string, number[]>, k: string, v: number | null): void => {
    if (v === null || !Number.isFinite(v)) return;
    const list = m.get(k) ?? [];
    list.push(v);
    m.set(k, list);
  };
  const PATH = [
    'send() call: validate, compose, INSERT, start (client side)',
    'send() called -> workflow started (server)',
    'workflow started -> sendAttempt running',
    'sendAttempt running -> accepted by the simulator',
    'accepted -> sendAttempt completed (rest of the activity)',
    'sendAttempt completed -> workflow completed',
    'send() called -> accepted (total)',
    'send() called -> workflow completed (total)',
  ];
  // Histories are fetched a few at a time. A clean delivery starts no reputation workflow, so
  // there is none to read: the reputation rows stay empty (the report says so).
  await runBounded(sample, 8, async (s) => {
    const events = await fetchEvents(ctx.temporal, deliveryWorkflowId(s.id));
    const accepted = run.accepted.get(acceptedKey(s.id))!;
    const started = eventMs(events[0]);
    const { start: sendStart, end: sendEnd } = activitySpanMs(events, 'sendAttempt');
    const closed = eventMs(events[events.length - 1]);
    push(path, PATH[0]!, s.t1! - s.t0);
    push(path, PATH[1]!, started - s.t0);
    push(path, PATH[2]!, sendStart === null ? null : sendStart - started);
    push(path, PATH[3]!, sendStart === null ? null : accepted - sendStart);
    push(path, PATH[4]!, sendEnd === null ? null : sendEnd - accepted);
    push(path, PATH[5]!, sendEnd === null ? null : closed - sendEnd);
    push(path, PATH[6]!, accepted - s.t0);
    push(path, PATH[7]!, closed - s.t0);
    for (const [label, ms] of timeByPhase(events)) push(phases, label, ms);
  });
  const phaseOrder = [...phases.entries()].sort((a, b) => summarize(b[1]).mean! - summarize(a[1]).mean!).map(([k]) => k);
  return { sample: sample.length, path: rows(path, PATH), phases: rows(phases, phaseOrder), reputation: [] };
}

export interface DeliveredResult {
  fullSpeed: BatchResult & { concurrency: number };
  halfRate: BatchResult;
  breakdownFullSpeed: Breakdown;
  breakdownHalfRate: Breakdown;
}

export async function runDelivered(
  ctx: ModeContext,
  opts: { messages: number; concurrency: number; pacedSeconds: number; sample: number },
): Promise<DeliveredResult> {
  ctx.log(`[${ctx.mode}] scenario 2: ${opts.messages} messages, ${opts.concurrency} in flight`);
  const fullFrom = Date.now();
  const full = await runBatch(ctx, requests(ctx, 'd', opts.messages), { concurrency: opts.concurrency });
  // For `--cpu-prof`: the span bench/profile-top.ts reads as "scenario 2 at full speed".
  ctx.worker.window('delivered-full-speed', fullFrom, Date.now());
  ctx.log(
    `[${ctx.mode}]   submitted ${full.result.submitPerSecond.toFixed(1)}/s, delivered ${full.result.deliveredPerSecond.toFixed(1)}/s, ` +
      `sustained ${full.result.sustainedPerSecond?.toFixed(1)}/s, accepted p99 ${full.result.acceptedMs.p99} ms, lost ${full.result.lost}`,
  );
  // Half of what the pipeline sustains (reputation work included), not of the acceptance burst.
  const rate = Math.max(1, (full.result.sustainedPerSecond ?? full.result.deliveredPerSecond) / 2);
  const n = Math.max(20, Math.round(rate * opts.pacedSeconds));
  ctx.log(`[${ctx.mode}] scenario 2, paced: ${n} messages at ${rate.toFixed(1)}/s`);
  const paced = await runBatch(ctx, requests(ctx, 'p', n), { rate, maxInFlight: 256 });
  ctx.log(`[${ctx.mode}]   accepted p50 ${paced.result.acceptedMs.p50} ms, p99 ${paced.result.acceptedMs.p99} ms, lost ${paced.result.lost}`);
  const breakdownFullSpeed = await breakdown(ctx, full, opts.sample);
  const breakdownHalfRate = await breakdown(ctx, paced, opts.sample);
  return {
    fullSpeed: { ...full.result, concurrency: opts.concurrency },
    halfRate: { ...paced.result, targetRatePerSecond: rate },
    breakdownFullSpeed,
    breakdownHalfRate,
  };
}
