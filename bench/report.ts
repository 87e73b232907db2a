// The bench's outputs: one JSON object (the issue's keys at the top level, taken from the
// primary persistence mode, plus every figure per mode), a plain-text table for the terminal,
// and a short markdown report. Long because it is the list of every figure the bench reports,
// each in the three forms; splitting it would scatter one figure across files.
import { goalFigures, sleeping100kGoal } from './goals';
import type { Sleeping100k } from './sleeping-100k';
import type { BenchOptions } from './args';
import type { Machine, CpuUse } from './measure';
import { round } from './measure';
import type { ScenarioSizes } from './plan';
import type { CeilingResult } from './scenarios/ceiling';
import type { CostResult } from './scenarios/cost';
import type { Breakdown, DeliveredResult } from './scenarios/delivered';
import type { DomainsResult } from './scenarios/domains';
import type { MixResult } from './scenarios/mix';
import type { RawResult } from './scenarios/raw-smtp';
import type { SleepingResult } from './scenarios/sleeping';
import type { LateResult, ParserResult } from './scenarios/late';
import type { WebhooksResult } from './scenarios/webhooks';
import type { DirectResult } from './scenarios/direct';
import type { AttemptFormResult } from './scenarios/attempt-form';
import type { BlameCost } from './scenarios/blame-cost';
import { capabilityCosts, type CapabilityCost } from './capabilities';
import type { PeerResult } from './scenarios/peer';
import type { PersistenceMode } from './stack';
import { WORKER_NODE_FLAGS } from '../src/worker/worker';

export interface ModeResult {
  mode: PersistenceMode;
  persistence: string;
  workerRssMbWarm: number | null;
  sizes: ScenarioSizes;
  ceiling: CeilingResult;
  delivered: DeliveredResult;
  mix: MixResult;
  sleeping: SleepingResult;
  lost: number;
}

/** The headline figures of one persistence mode. */
function headline(m: ModeResult, rawPerSecond: number) {
  const d = m.delivered.fullSpeed;
  const h = m.delivered.halfRate;
  const [empty, oneActivity] = m.ceiling.runs;
  return {
    persistence: m.persistence,
    ceilingEmptyPerSecond: empty?.completedPerSecond ?? null,
    ceilingOneActivityPerSecond: oneActivity?.completedPerSecond ?? null,
    ceilingEmptyCpuMs: empty?.cpuMsPerWorkflow ?? null,
    ceilingOneActivityCpuMs: oneActivity?.cpuMsPerWorkflow ?? null,
    /** Scenario 2 against the same server's one-activity workflow: what Rebound adds. */
    deliveredOfCeiling: oneActivity ? round(d.deliveredPerSecond / oneActivity.completedPerSecond, 2) : null,
    messages: m.delivered.fullSpeed.n,
    warmupPerSecond: round(m.sizes.warmupPerSecond),
    sizesReducedToFitBudget: m.sizes.reduced,
    submitPerSecond: round(d.submitPerSecond),
    deliveredPerSecond: round(d.deliveredPerSecond),
    ratio: round(d.deliveredPerSecond / rawPerSecond, 3),
    sustainedPerSecond: round(d.sustainedPerSecond),
    drainedSeconds: round(d.drainedSeconds),
    acceptedP50Ms: round(d.acceptedMs.p50, 0),
    acceptedP95Ms: round(d.acceptedMs.p95, 0),
    acceptedP99Ms: round(d.acceptedMs.p99, 0),
    clientCallP50Ms: round(d.clientCallMs.p50, 0),
    clientCallP99Ms: round(d.clientCallMs.p99, 0),
    halfRatePerSecond: round(h.targetRatePerSecond ?? null),
    halfRateMessages: h.n,
    halfRateAcceptedP50Ms: round(h.acceptedMs.p50, 0),
    halfRateAcceptedP95Ms: round(h.acceptedMs.p95, 0),
    halfRateAcceptedP99Ms: round(h.acceptedMs.p99, 0),
    halfRateP99UnderOneSecond: h.acceptedMs.p99 !== null && h.acceptedMs.p99 < 1000,
    deliveredCpu: d.cpu,
    cpuMsPerMessage: d.cpuMsPerMessage,
    ...goalFigures({
      deliveredPerSecond: d.deliveredPerSecond,
      ceilingEmptyPerSecond: empty?.completedPerSecond ?? null,
      ceilingOneActivityPerSecond: oneActivity?.completedPerSecond ?? null,
      cpuMsPerMessage: d.cpuMsPerMessage,
      halfRateAcceptedP99Ms: round(h.acceptedMs.p99, 0),
    }),
    mixMessages: m.mix.n,
    mixSeconds: round(m.mix.seconds),
    mixAttempts: m.mix.attempts,
    mixExpectedAttempts: m.mix.expectedAttempts,
    mixAttemptMismatches: m.mix.attemptMismatches,
    sleeping: m.sleeping.n,
    sleepingSubmitPerSecond: round(m.sleeping.submitPerSecond),
    sleepingFirstAttemptSeconds: round(m.sleeping.firstAttemptSeconds),
    sleepingWorkerRssMbIdle: m.sleeping.workerRssMbIdle,
    sleepingWorkerRssMb: m.sleeping.workerRssSamplesMb[0] ?? null,
    sleepingWorkerRssSamplesMb: m.sleeping.workerRssSamplesMb,
    sleepingWorkerRssGrowthMb: m.sleeping.workerRssGrowthMb,
    sleepingServerRssMb: m.sleeping.serverRssSamplesMb[0] ?? null,
    sleepingServerCpuPct: m.sleeping.sleepCpu.serverPct,
    sleepingWorkerCpuPct: m.sleeping.sleepCpu.workerPct,
    sleepingRetryingInVisibility: m.sleeping.retryingInVisibility,
    sleepingSubmitCpu: m.sleeping.submitCpu,
    lost: m.lost,
  };
}

export function buildResult(input: {
  opts: BenchOptions;
  machine: Machine;
  raw: RawResult;
  modes: ModeResult[];
  cost: CostResult;
  domains: DomainsResult;
  webhooks: WebhooksResult;
  /** Scenario 8: the parser alone, the whole loop, and what the return path adds to an attempt. */
  late: { parser: ParserResult; loop: LateResult; returnPathMicrosPerAttempt: number };
  /** Scenario 9: direct delivery against the relay, and shaping's statements per attempt. */
  direct: DirectResult;
  /** Scenario 10: the pg-boss peer, and Rebound's scenario 2 in the mode it ran beside. */
  peer: { result: PeerResult; mode: PersistenceMode; reboundDeliveredPerSecond: number };
  /** Scenario 11: attempts as activity tasks against local activities, same worker, same run. */
  attemptForm: AttemptFormResult;
  /** The blame rules' CPU, in the bench process. */
  blame: BlameCost;
  duplicates: { messageId: string; recipient: string; count: number }[];
  durationSeconds: number;
  commit: string;
  /** The separate 100,000-sleepers run (bench/results/sleeping-100000.json), nulls when missing. */
  sleeping100k: Sleeping100k;
}) {
  const { opts, raw, modes, cost, domains, webhooks, late, direct, peer, attemptForm } = input;
  const perMode = Object.fromEntries(modes.map((m) => [m.mode, { ...headline(m, raw.perSecond), details: m }]));
  const primary = modes.find((m) => m.mode === 'file') ?? modes[0]!;
  const { persistence: _p, ...top } = headline(primary, raw.perSecond);
  const lost = raw.failed + modes.reduce((a, m) => a + m.lost, 0);
  return {
    startedAt: new Date(Date.now() - input.durationSeconds * 1000).toISOString(),
    commit: input.commit,
    durationSeconds: round(input.durationSeconds),
    quick: opts.quick,
    machine: input.machine,
    options: { messages: opts.messages, sleeping: opts.sleeping, mix: opts.mix, concurrency: opts.concurrency, modes: opts.modes, budgetSeconds: opts.budgetSeconds },
    primaryMode: primary.mode,
    rawPerSecond: round(raw.perSecond),
    ...top,
    ...input.sleeping100k,
    goals: [...top.goals, sleeping100kGoal(input.sleeping100k.sleeping100kWorkerRssMb)],
    sizesReducedToFitBudget: modes.some((m) => m.sizes.reduced),
    lost,
    duplicates: input.duplicates.length,
    duplicateSamples: input.duplicates.slice(0, 10),
    eventsPerDeliveredMessage: cost.delivered.total.events,
    eventsPerSoftBouncedMessage: cost.softBouncedOnce.total.events,
    workflowTasksPerDeliveredMessage: cost.delivered.total.workflowTasks,
    workflowTasksPerSoftBouncedMessage: cost.softBouncedOnce.total.workflowTasks,
    activitiesPerDeliveredMessage: cost.delivered.total.activities,
    activitiesPerSoftBouncedMessage: cost.softBouncedOnce.total.activities,
    localActivitiesPerDeliveredMessage: cost.delivered.total.localActivities,
    localActivitiesPerSoftBouncedMessage: cost.softBouncedOnce.total.localActivities,
    /** Scenario 11: a delivered message's history and CPU with its attempt as an activity task, then as a local activity. */
    attemptForm,
    /** Every capability's cost per message, off and on, in one table (bench/capabilities.ts). */
    capabilities: capabilityCosts({ attemptForm, webhooks, late: late.loop, direct, domains, blame: input.blame }),
    blame: input.blame,
    domains,
    webhooks,
    late,
    direct,
    /** Scenario 9's headline: what shaping costs one direct attempt, in PostgreSQL round trips and ms. */
    shapingStatementsPerAttempt: direct.perAttempt.direct.siteStatements,
    shapingMsPerAttempt: direct.perAttempt.direct.siteMs,
    /** Scenario 10's headline: the peer's delivered/s, and Rebound's (same run, same mode) divided by it. */
    peerDeliveredPerSecond: peer.result.deliveredPerSecond,
    ratioToPeer: peer.result.deliveredPerSecond ? round(peer.reboundDeliveredPerSecond / peer.result.deliveredPerSecond, 2) : null,
    peer: { mode: peer.mode, reboundDeliveredPerSecond: round(peer.reboundDeliveredPerSecond), ...peer.result },
    raw,
    cost,
    modes: perMode,
  };
}

export type BenchResult = ReturnType<typeof buildResult>;

// ---------------------------------------------------------------- formatting

const fmt = (v: unknown, digits = 1): string => {
  if (v === null || v === undefined) return '-';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toFixed(digits);
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  return String(v);
};

type Row = [string, string, ...string[]];

function cpuText(c: CpuUse): string {
  return `server ${c.serverPct}%, worker ${c.workerPct}%, postgres ${c.postgresPct}%, sink ${c.sinkPct}%, bench/client ${c.benchPct}%; other processes ${c.otherPct}%, steal ${c.stealPct}% (machine ${c.machinePct}% busy)`;
}

/** Scenario 7 in the main table: what webhooks add per message, off against on. */
function webhookRows(w: WebhooksResult, one: (label: string, unit: string, v: unknown, digits?: number) => Row): Row[] {
  const c = w.cpuMsPerMessage;
  return [
    one(
      `7. webhooks (${w.messages} messages each way, ${w.mode}): events / history events / workflow tasks per message`,
      'per message',
      `${fmt(w.eventsPerMessage, 2)} / ${fmt(w.historyEventsPerMessage, 2)} / ${fmt(w.workflowTasksPerMessage, 2)}`,
    ),
    one(
      '7. CPU per message, webhooks off -> on: server / worker / postgres',
      'ms',
      `${fmt(c.off.server)} -> ${fmt(c.on.server)} / ${fmt(c.off.worker)} -> ${fmt(c.on.worker)} / ${fmt(c.off.postgres)} -> ${fmt(c.on.postgres)}`,
    ),
    one('7. webhook: outcome -> receiver p50 / p95', 'ms', `${fmt(w.deliveryLatencyMs.p50)} / ${fmt(w.deliveryLatencyMs.p95)}`),
    one('7. webhook events lost / duplicated (requests, retries)', 'events', `${w.lost} / ${w.duplicated} (${w.requests}, ${w.retries})`),
  ];
}

/** Scenario 8 in the main table: the parser, then per report of the whole loop. */
function lateRows(late: BenchResult['late'], one: (label: string, unit: string, v: unknown, digits?: number) => Row): Row[] {
  const p = late.parser;
  const l = late.loop;
  const c = l.cpuMsPerReport;
  return [
    one(`8. parser: ${p.reports} corpus reports x ${p.passes}, per report p50 / p95 (throughput)`, 'µs', `${fmt(p.microsPerReport.p50)} / ${fmt(p.microsPerReport.p95)} (${fmt(p.mbPerSecond, 2)} MB/s)`),
    one(`8. late outcomes (${l.messages} DSNs after the 250, ${l.mode}): first stored -> all processed`, 'reports/s', l.reportsPerSecond),
    one('8. report stored -> processed p50 / p95 (stored -> workflow started p50)', 'ms', `${fmt(l.storedToProcessedMs.p50)} / ${fmt(l.storedToProcessedMs.p95)} (${fmt(l.storedToStartedMs.p50)})`),
    one('8. CPU per report: server / worker / postgres / bench (listener)', 'ms', `${fmt(c.server)} / ${fmt(c.worker)} / ${fmt(c.postgres)} / ${fmt(c.bench)}`),
    one(
      '8. history events / workflow tasks per report: report workflow + reputation workflow',
      'per report',
      `${fmt(l.reportHistoryEvents, 2)} / ${fmt(l.reportWorkflowTasks, 2)} + ${fmt(l.reputationHistoryEvents, 2)} / ${fmt(l.reputationWorkflowTasks, 2)}`,
    ),
    one('8. delivery workflows still open (signalled) / history events added per report', '-', `${l.deliveryWorkflowsSignalled} / ${fmt(l.deliveryHistoryEventsAdded, 2)}`),
    one('8. return path per attempt (token + X-Rebound-Ref, in process)', 'µs', late.returnPathMicrosPerAttempt, 2),
    one('8. late outcomes lost / doubled (reports the sink could not hand over)', 'messages', `${l.lost} / ${l.doubled} (${l.reportsNotTaken})`),
  ];
}

/** Scenario 9 in the main table: direct against relay per message, shaping per attempt. */
function directRows(d: DirectResult, one: (label: string, unit: string, v: unknown, digits?: number) => Row): Row[] {
  const r = d.cpuMsPerMessage.relay;
  const x = d.cpuMsPerMessage.direct;
  const stmts = (p: DirectResult['perAttempt']['relay']) => `${fmt(p.statements, 2)} in ${fmt(p.statementsMs, 1)} ms (${fmt(p.siteStatements, 2)})`;
  return [
    one(
      `9. direct delivery (${d.messages} messages each way, ${d.mode}): CPU per message relay -> direct: server / worker / postgres / bench (DNS)`,
      'ms',
      `${fmt(r.server)} -> ${fmt(x.server)} / ${fmt(r.worker)} -> ${fmt(x.worker)} / ${fmt(r.postgres)} -> ${fmt(x.postgres)} / ${fmt(r.bench)} -> ${fmt(x.bench)}`,
    ),
    one('9. PostgreSQL statements per attempt and their time, relay -> direct (of them on site tables)', 'statements', `${stmts(d.perAttempt.relay)} -> ${stmts(d.perAttempt.direct)}`),
    one(
      `9. shaping per direct attempt: statements on site tables / their time${d.perAttempt.direct.siteTables.length ? ` (${d.perAttempt.direct.siteTables.join(', ')})` : ''}`,
      'round trips / ms',
      `${fmt(d.perAttempt.direct.siteStatements, 2)} / ${fmt(d.perAttempt.direct.siteMs, 3)}`,
    ),
    one('9. messages lost, relay + direct', 'messages', d.lost),
  ];
}

/** Scenario 10 in the main table: the peer beside Rebound's scenario 2 in the same mode. */
function peerRows(r: BenchResult, one: (label: string, unit: string, v: unknown, digits?: number) => Row): Row[] {
  const p = r.peer;
  const m = r.modes[p.mode]!;
  const c = p.cpuMsPerMessage;
  const rc = m.cpuMsPerMessage;
  return [
    one(
      `10. pg-boss peer (${p.n} messages, ${p.submitConcurrency} in flight, ${p.concurrency} jobs in its worker, ${p.mode}): delivered, Rebound / peer (ratio)`,
      'messages/s',
      `${fmt(p.reboundDeliveredPerSecond)} / ${fmt(p.deliveredPerSecond)} (${fmt(r.ratioToPeer, 2)})`,
    ),
    one('10. submit -> accepted p50 / p99, Rebound / peer', 'ms', `${fmt(m.acceptedP50Ms)} / ${fmt(m.acceptedP99Ms)}, ${fmt(p.acceptedP50Ms)} / ${fmt(p.acceptedP99Ms)}`),
    one(
      '10. CPU per message, Rebound: server + worker / postgres / client; peer: worker / postgres / client',
      'ms',
      `${fmt(round(rc.server + rc.worker))} / ${fmt(rc.postgres)} / ${fmt(rc.client)}; ${fmt(c.peer)} / ${fmt(c.postgres)} / ${fmt(c.client)}`,
    ),
    one('10. peer check (soft, greylisted, hard): SMTP attempts seen / expected, wrong state', 'attempts', `${p.check.attempts} / ${p.check.expectedAttempts}, ${p.check.wrongState}`),
    one('10. peer lost / duplicated', 'messages', `${p.lost} / ${p.duplicates}`),
  ];
}

function capabilityRows(caps: CapabilityCost[]): string[][] {
  const pair = (x: { off: number | null; on: number | null }) => `${fmt(x.off, 2)} -> ${fmt(x.on, 2)}`;
  const c = (x: CapabilityCost['cpuMs']['off']) => (x ? `${fmt(x.server, 3)} / ${fmt(x.worker, 3)} / ${fmt(x.postgres, 3)}` : '-');
  return caps.map((k) => [k.capability, pair(k.historyEvents), pair(k.statements), `${c(k.cpuMs.off)} -> ${c(k.cpuMs.on)}`, k.measuredBy, k.note]);
}

/** Scenario 11 in the main table: the same deliveries with activity-task attempts, then local ones. */
function attemptFormRows(a: AttemptFormResult, one: (label: string, unit: string, v: unknown, digits?: number) => Row): Row[] {
  const [x, l] = [a.activity, a.local];
  return [
    one(
      `11. attempt as activity task -> local activity (${x.messages} + ${l.messages} messages, ${a.mode}): delivery history events / workflow tasks`,
      'per message',
      `${x.delivery.events} -> ${l.delivery.events} / ${x.delivery.workflowTasks} -> ${l.delivery.workflowTasks}`,
    ),
    one('11. CPU per delivered message, activity task -> local: server / worker / postgres', 'ms', `${fmt(x.cpuMsPerMessage.server)} -> ${fmt(l.cpuMsPerMessage.server)} / ${fmt(x.cpuMsPerMessage.worker)} -> ${fmt(l.cpuMsPerMessage.worker)} / ${fmt(x.cpuMsPerMessage.postgres)} -> ${fmt(l.cpuMsPerMessage.postgres)}`),
    one('11. delivered, first submit -> idle, activity task -> local', 'messages/s', `${fmt(x.deliveredPerSecond)} -> ${fmt(l.deliveredPerSecond)}`),
    one('11. messages lost', 'messages', a.lost),
  ];
}

/** Scenario 6 in the main table: the list over the generated rollups, one domain, the write path. */
function domainRows(d: DomainsResult, one: (label: string, unit: string, v: unknown, digits?: number) => Row): Row[] {
  const size = `${d.attempts} attempts / ${d.domains} domains over 7 d`;
  return [
    one(`6. domain list (${size}), 24h / 7d (goal < 200 ms)`, 'ms', `${fmt(d.listMs24h)} / ${fmt(d.listMs7d)}`),
    one('6. domain list sorted by rate, 24h / 7d', 'ms', `${fmt(d.listMs24hRate)} / ${fmt(d.listMs7dRate)}`),
    one(`6. one domain, 7d (the biggest: ${d.getDomainAttempts7d} attempts), with Temporal visibility`, 'ms', d.getMs),
    one('6. recordAttempt per attempt, with rollups / before them', 'ms', `${fmt(d.recordAttemptMsPerAttempt, 3)} / ${fmt(d.recordAttemptMsPerAttemptBefore, 3)}`),
    one('6. recordAttempt, 16 in flight on one domain, with rollups / before them', 'attempts/s', `${fmt(d.recordAttemptsPerSecondHot16)} / ${fmt(d.recordAttemptsPerSecondHot16Before)}`),
  ];
}

function rowsOf(r: BenchResult): { header: string[]; rows: Row[] } {
  const modes = Object.keys(r.modes) as PersistenceMode[];
  const col = <K extends keyof BenchResult['modes'][string]>(key: K, digits = 1): string[] =>
    modes.map((m) => fmt((r.modes[m] as BenchResult['modes'][string])[key], digits));
  const header = ['figure', 'unit', ...modes.map((m) => (m === 'file' ? 'file (SQLite, WAL)' : 'in memory'))];
  const one = (label: string, unit: string, v: unknown, digits = 1): Row => [label, unit, fmt(v, digits), ...modes.slice(1).map(() => '')];
  const rows: Row[] = [
    one(`1. raw SMTP ceiling (1 pooled transport, no Temporal, no DB; ${r.raw.n} messages)`, 'messages/s', r.rawPerSecond),
    [
      'sizes run: delivered / mixed / sleeping',
      'messages',
      ...modes.map((m) => {
        const z = r.modes[m]!.details.sizes;
        return `${z.messages} / ${z.mix} / ${z.sleeping}${z.reduced ? ' (cut to budget)' : ''}`;
      }),
    ],
    ['0. Temporal ceiling: empty workflows completed (1 workflow task each)', 'workflows/s', ...col('ceilingEmptyPerSecond')],
    ['0. Temporal ceiling: one-activity workflows completed (no-op activity)', 'workflows/s', ...col('ceilingOneActivityPerSecond')],
    [
      '0. CPU per workflow, empty / one activity: server (worker)',
      'ms',
      ...modes.map((m) => {
        const e = r.modes[m]!.ceilingEmptyCpuMs;
        const a = r.modes[m]!.ceilingOneActivityCpuMs;
        return e && a ? `${fmt(e.server)} (${fmt(e.worker)}) / ${fmt(a.server)} (${fmt(a.worker)})` : '-';
      }),
    ],
    ['warm-up rate (sizes the run)', 'messages/s', ...col('warmupPerSecond')],
    ['2. submit rate (client SDK, ' + r.options.concurrency + ' in flight)', 'messages/s', ...col('submitPerSecond')],
    ['2. delivered end to end (first submit -> last accepted)', 'messages/s', ...col('deliveredPerSecond')],
    ['2. ratio delivered / raw SMTP', '-', ...col('ratio', 3)],
    ['2. ratio delivered / Temporal one-activity ceiling (0)', '-', ...col('deliveredOfCeiling', 2)],
    ['2. sustained: first submit -> server and worker idle again', 'messages/s', ...col('sustainedPerSecond')],
    ['2. submit -> accepted p50 / p95 / p99 (full speed)', 'ms', ...modes.map((m) => `${fmt(r.modes[m]!.acceptedP50Ms)} / ${fmt(r.modes[m]!.acceptedP95Ms)} / ${fmt(r.modes[m]!.acceptedP99Ms)}`)],
    ['2. send() call p50 / p99 (full speed)', 'ms', ...modes.map((m) => `${fmt(r.modes[m]!.clientCallP50Ms)} / ${fmt(r.modes[m]!.clientCallP99Ms)}`)],
    [
      '2. CPU per delivered message: server / worker / postgres / client',
      'ms',
      ...modes.map((m) => {
        const c = r.modes[m]!.cpuMsPerMessage;
        return `${fmt(c.server)} / ${fmt(c.worker)} / ${fmt(c.postgres)} / ${fmt(c.client)}`;
      }),
    ],
    ['2. paced at half the sustained rate', 'messages/s', ...col('halfRatePerSecond')],
    ['2. submit -> accepted p50 / p95 / p99 (half rate)', 'ms', ...modes.map((m) => `${fmt(r.modes[m]!.halfRateAcceptedP50Ms)} / ${fmt(r.modes[m]!.halfRateAcceptedP95Ms)} / ${fmt(r.modes[m]!.halfRateAcceptedP99Ms)}`)],
    ['2. target p99 < 1 s at half rate met', '-', ...col('halfRateP99UnderOneSecond')],
    ['3. mix: time until every message final', 's', ...col('mixSeconds')],
    ['3. mix: SMTP attempts seen / expected by the model', 'attempts', ...modes.map((m) => `${r.modes[m]!.mixAttempts} / ${r.modes[m]!.mixExpectedAttempts} (${r.modes[m]!.mixMessages} messages)`)],
    ['4. sleeping messages', 'messages', ...col('sleeping')],
    ['4. sleeping: submit rate', 'messages/s', ...col('sleepingSubmitPerSecond')],
    ['4. sleeping: first submit -> all first attempts made', 's', ...col('sleepingFirstAttemptSeconds')],
    ['4. sleeping: first submit -> server and worker idle (all asleep)', 's', ...modes.map((m) => fmt(round(r.modes[m]!.details.sleeping.settledSeconds)))],
    ['4. worker RSS idle -> while sleeping', 'MB', ...modes.map((m) => `${fmt(r.modes[m]!.sleepingWorkerRssMbIdle, 0)} -> ${fmt(r.modes[m]!.sleepingWorkerRssMb, 0)}`)],
    ['4. worker RSS samples while sleeping (growth)', 'MB', ...modes.map((m) => `${r.modes[m]!.sleepingWorkerRssSamplesMb.map((x) => fmt(x, 0)).join(', ')} (${fmt(r.modes[m]!.sleepingWorkerRssGrowthMb)})`)],
    ['4. server RSS while sleeping', 'MB', ...col('sleepingServerRssMb', 0)],
    [
      '4. server / worker CPU while sleeping',
      '% of a core',
      ...modes.map((m) => `${fmt(r.modes[m]!.sleepingServerCpuPct)} / ${fmt(r.modes[m]!.sleepingWorkerCpuPct)}${r.modes[m]!.details.sleeping.settled ? '' : ' (still busy: not all asleep)'}`),
    ],
    one(
      `4. 100,000 sleeping (separate run, in memory${r.sleeping100kFrom ? `: ${r.sleeping100kFrom.commit}, ${r.sleeping100kFrom.startedAt?.slice(0, 10)}` : ': not run'}): worker RSS (goal < 600) / server RSS / first attempts`,
      'MB / MB / s',
      `${fmt(r.sleeping100kWorkerRssMb, 0)} / ${fmt(r.sleeping100kServerRssMb, 0)} / ${fmt(r.sleeping100kFirstAttemptSeconds, 0)}`,
    ),
    one('5. history events per message: delivered / soft bounce once', 'events', `${r.eventsPerDeliveredMessage} / ${r.eventsPerSoftBouncedMessage}`),
    one('5. workflow tasks per message: delivered / soft bounce once', 'tasks', `${r.workflowTasksPerDeliveredMessage} / ${r.workflowTasksPerSoftBouncedMessage}`),
    one('5. activities per message: delivered / soft bounce once', 'activities', `${r.activitiesPerDeliveredMessage} / ${r.activitiesPerSoftBouncedMessage}`),
    ...domainRows(r.domains, one),
    ...webhookRows(r.webhooks, one),
    ...lateRows(r.late, one),
    ...directRows(r.direct, one),
    ...peerRows(r, one),
    ...attemptFormRows(r.attemptForm, one),
    ['lost (submitted, not accepted/final as expected)', 'messages', ...col('lost')],
    one('duplicates (simulator, all scenarios)', 'messages', r.duplicates),
  ];
  return { header, rows };
}

function textTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => (c ?? '').padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

function mdTable(header: string[], rows: string[][]): string {
  const esc = (s: string): string => s.replace(/\|/g, '\\|');
  return [`| ${header.map(esc).join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`)].join('\n');
}

function breakdownRows(b: Breakdown): string[][] {
  const ms = (x: number | null): string => fmt(x === null ? null : Math.round(x * 10) / 10);
  return [
    ...b.path.map((p) => [p.phase, ms(p.p50Ms), ms(p.p95Ms)]),
    ['— delivery workflow wall time by what it waited for —', '', ''],
    ...b.phases.map((p) => [p.phase, ms(p.p50Ms), ms(p.p95Ms)]),
    ['— reputation (off the acceptance path) —', '', ''],
    ...(b.reputation.length > 0
      ? b.reputation.map((p) => [p.phase, ms(p.p50Ms), ms(p.p95Ms)])
      : [['no reputation workflow runs for these messages (a clean delivery starts none)', '', '']]),
  ];
}

function cpuLines(r: BenchResult): string[] {
  const out = [`raw SMTP: ${cpuText(r.raw.cpu)}`];
  for (const [mode, m] of Object.entries(r.modes)) {
    for (const c of m.details.ceiling.runs) out.push(`${mode}, scenario 0 ${c.kind} (worker = ceiling worker): ${cpuText(c.cpu)}`);
    out.push(`${mode}, scenario 2 full speed: ${cpuText(m.deliveredCpu)}`);
    out.push(`${mode}, scenario 4 submitting until all asleep: ${cpuText(m.sleepingSubmitCpu)}`);
    out.push(`${mode}, scenario 4 while asleep: ${cpuText(m.details.sleeping.sleepCpu)}`);
  }
  return out;
}

function machineLine(r: BenchResult): string {
  const m = r.machine;
  return `${m.cores} cores, ${m.memoryGb} GB, ${m.cpuModel}, Node ${m.node}, ${m.platform}`;
}

export function table(r: BenchResult): string {
  const { header, rows } = rowsOf(r);
  const primary = r.modes[r.primaryMode]!.details.delivered;
  return [
    `Rebound bench — ${machineLine(r)} — ${r.durationSeconds} s${r.quick ? ' (quick)' : ''}`,
    '',
    textTable(header, rows),
    '',
    'CPU, % of one core (200 % = both cores of a 2-core machine):',
    ...cpuLines(r).map((l) => `  ${l}`),
    '',
    `Where a message's time goes (${r.primaryMode}, half rate, sample of ${primary.breakdownHalfRate.sample}):`,
    textTable(['phase', 'p50 ms', 'p95 ms'], breakdownRows(primary.breakdownHalfRate)),
    '',
    `Same at full speed (${r.primaryMode}, sample of ${primary.breakdownFullSpeed.sample}):`,
    textTable(['phase', 'p50 ms', 'p95 ms'], breakdownRows(primary.breakdownFullSpeed)),
  ].join('\n');
}

function domainSection(d: DomainsResult): string[] {
  return [
    '## Domain health (scenario 6)',
    '',
    `Rollup rows standing for ${d.attempts} attempts over the last 7 days across ${d.domains} recipient domains (${d.domainsWithAttempts} got`,
    `attempts; rank k gets about 1/k of them, so a few big domains and a long tail), generated with set-based SQL in ${d.generateSeconds} s:`,
    `${d.hourlyRows} hourly, ${d.dailyRows} daily and ${d.replyRows} reply rows. \`Domains.list\` (the whole ranking, 100 returned) and`,
    `\`Domains.get\` of the biggest domain (${d.getDomain}, ${d.getDomainAttempts7d} attempts in 7 d; its Temporal visibility lookup included),`,
    'median of 5 runs after a warm-up. The write path: `recordAttempt` (one recipient per attempt, a soft first attempt',
    `followed by a second) against a copy of its statement from before the rollups, ${d.recordAttempts} attempts each, one at a time`,
    'and interleaved; then 16 in flight, all to the biggest domain, whose rollup rows every writer updates.',
    '',
    mdTable(
      ['figure', 'unit', 'value'],
      [
        ['list, 24h, by volume / by rate', 'ms', `${fmt(d.listMs24h)} / ${fmt(d.listMs24hRate)}`],
        ['list, 7d, by volume / by rate', 'ms', `${fmt(d.listMs7d)} / ${fmt(d.listMs7dRate)}`],
        ['get, the biggest domain, 7d', 'ms', fmt(d.getMs)],
        ['recordAttempt per attempt, with rollups / before them', 'ms', `${fmt(d.recordAttemptMsPerAttempt, 3)} / ${fmt(d.recordAttemptMsPerAttemptBefore, 3)}`],
        ['recordAttempt, 16 in flight on one domain, with rollups / before them', 'attempts/s', `${fmt(d.recordAttemptsPerSecondHot16)} / ${fmt(d.recordAttemptsPerSecondHot16Before)}`],
      ],
    ),
    '',
  ];
}

export function markdown(r: BenchResult): string {
  const { header, rows } = rowsOf(r);
  const primary = r.modes[r.primaryMode]!.details.delivered;
  const c = r.cost;
  const costRows = [c.delivered, c.softBouncedOnce].map((x) => [
    x.outcome,
    `${x.delivery.events} + ${x.reputation.events} = ${x.total.events}`,
    `${x.delivery.workflowTasks} + ${x.reputation.workflowTasks} = ${x.total.workflowTasks}`,
    `${x.delivery.activities} + ${x.reputation.activities} = ${x.total.activities}`,
    `${x.delivery.timers} + ${x.reputation.timers}`,
  ]);
  return [
    '# Rebound bench results',
    '',
    `Last run: ${r.startedAt}, ${r.durationSeconds} s${r.quick ? ' (`--quick`)' : ''}, code at ${r.commit}. Machine: ${machineLine(r)}.`,
    `Produced by \`npm run bench\` (bench/bench.ts); the full figures are in \`bench/results/latest.json\`.`,
    `Persistence: "file" is the dev server on a SQLite file (WAL, synchronous=OFF), "in memory" is \`--db-filename\` unset.`,
    `The worker is a child process (\`node ${WORKER_NODE_FLAGS.join(' ')} bin/rebound.js worker\`, default settings, info logs to a file); the`,
    'simulator is a child process; the client SDK runs in the bench process; all share the machine with PostgreSQL.',
    'Scenario 0 runs first on each fresh server: the same client, workflows that do nothing or run one no-op activity,',
    'on a worker process with Rebound\'s worker settings: the ceiling of the Temporal server itself on this machine.',
    '',
    mdTable(header, rows),
    '',
    '## CPU (% of one core)',
    '',
    ...cpuLines(r).map((l) => `- ${l}`),
    '',
    ...domainSection(r.domains),
    '## What each capability costs a message, off -> on',
    '',
    mdTable(['capability', 'history events', 'worker statements to PostgreSQL', 'CPU ms: server / worker / postgres', 'measured by', 'note'], capabilityRows(r.capabilities)),
    '',
    '## Cost per message (delivery + reputation workflow)',
    '',
    mdTable(['message', 'history events', 'workflow tasks', 'activities', 'timers'], costRows),
    '',
    `## Where a message's time goes (${r.primaryMode}, paced at half rate, sample of ${primary.breakdownHalfRate.sample})`,
    '',
    'From the recorded histories (server timestamps) and the simulator\'s receive time; each gap between two',
    'history events is attributed to what the later event ends.',
    '',
    mdTable(['phase', 'p50 ms', 'p95 ms'], breakdownRows(primary.breakdownHalfRate)),
    '',
    `At full speed (${r.options.concurrency} in flight, sample of ${primary.breakdownFullSpeed.sample}):`,
    '',
    mdTable(['phase', 'p50 ms', 'p95 ms'], breakdownRows(primary.breakdownFullSpeed)),
    '',
  ].join('\n');
}
