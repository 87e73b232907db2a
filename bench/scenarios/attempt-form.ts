// Scenario 11: what running the attempt as a local activity saves (README "Performance"). The
// same messages, delivered at once, in batches that alternate between a client that starts its
// deliveries with regular activity tasks (REBOUND_ATTEMPTS=activity, every run before local
// attempts) and one with local attempts (the default), on the same worker and server. Per form:
// CPU per delivered message of each process, first submit until idle, and the history events,
// workflow tasks and activity tasks of a delivery workflow and its address's reputation workflow.
import { ReboundClient } from '../../src/client/rebound-client';
import type { AttemptForm } from '../../src/config';
import { deliveryWorkflowId } from '../../src/delivery/contract';
import { reputationWorkflowId } from '../../src/reputation/contract';
import { request, type ModeContext } from '../context';
import { runBatch, type BatchCpuMs } from '../batch';
import { countEvents, fetchEvents, settledEvents, type EventCounts } from '../history';
import { round } from '../measure';

export interface AttemptFormFigures {
  messages: number;
  deliveredPerSecond: number | null;
  cpuMsPerMessage: BatchCpuMs;
  /** Statements the worker sent to PostgreSQL per message. */
  statementsPerMessage: number | null;
  /** One delivered message's delivery workflow. */
  delivery: Omit<EventCounts, 'byType'>;
  /** The same message's reputation workflow (a fresh address). */
  reputation: Omit<EventCounts, 'byType'>;
}

export interface AttemptFormResult {
  mode: string;
  /** Batches per form, alternated: activity, local, activity, local... */
  rounds: number;
  activity: AttemptFormFigures;
  local: AttemptFormFigures;
  /** local / activity, per figure: below 1 is a saving. */
  ratios: { serverCpu: number | null; workerCpu: number | null; deliveredPerSecond: number | null; historyEvents: number | null; workflowTasks: number | null };
  lost: number;
}

const ratio = (a: number | null, b: number | null): number | null => (a === null || b === null || b === 0 ? null : round(a / b, 3));

export async function runAttemptForm(ctx: ModeContext, opts: { messages: number; concurrency: number; rounds?: number }): Promise<AttemptFormResult> {
  const rounds = opts.rounds ?? 2;
  const perBatch = Math.max(10, Math.floor(opts.messages / rounds));
  ctx.log(`[${ctx.mode}] scenario 11: attempts as activity tasks against local activities, ${rounds} x ${perBatch} each`);
  const clients: Record<AttemptForm, ReboundClient> = {
    activity: new ReboundClient({ client: ctx.temporal, pool: ctx.rebound.pool, taskQueue: ctx.taskQueue, attempts: 'activity' }),
    local: new ReboundClient({ client: ctx.temporal, pool: ctx.rebound.pool, taskQueue: ctx.taskQueue, attempts: 'local' }),
  };
  const sums: Record<AttemptForm, { cpu: BatchCpuMs; seconds: number; drained: boolean; n: number; sample: string | null; statements: number | null }> = {
    activity: { cpu: { server: 0, worker: 0, postgres: 0, bench: 0 }, seconds: 0, drained: true, n: 0, sample: null, statements: 0 },
    local: { cpu: { server: 0, worker: 0, postgres: 0, bench: 0 }, seconds: 0, drained: true, n: 0, sample: null, statements: 0 },
  };
  let lost = 0;
  for (let r = 0; r < rounds; r++) {
    for (const form of ['activity', 'local'] as const) {
      const kind = `af${form[0]}${r}`;
      const reqs = Array.from({ length: perBatch }, (_, i) => request(`${ctx.tag}-${kind}-${i}`, `rcpt+${ctx.tag}${kind}${i}@example.test`));
      const batch = await runBatch({ ...ctx, rebound: clients[form] }, reqs, { concurrency: opts.concurrency, settled: async () => undefined });
      const s = sums[form];
      for (const k of Object.keys(s.cpu) as (keyof BatchCpuMs)[]) s.cpu[k] += batch.cpu[k] * perBatch;
      if (batch.drainedSeconds === null) s.drained = false;
      else s.seconds += batch.drainedSeconds;
      s.n += perBatch;
      s.statements = s.statements === null || batch.statementsPerMessage === null ? null : s.statements + batch.statementsPerMessage * perBatch;
      s.sample ??= reqs[0]!.id!;
      lost += batch.lost;
    }
  }
  const figures = async (form: AttemptForm): Promise<AttemptFormFigures> => {
    const s = sums[form];
    const id = s.sample!;
    const delivery = countEvents(await fetchEvents(ctx.temporal, deliveryWorkflowId(id)));
    const address = `rcpt+${ctx.tag}af${form[0]}00@example.test`;
    const reputation = countEvents(await settledEvents(ctx.temporal, reputationWorkflowId(address)));
    const per = (v: number): number => round(v / s.n, 1) ?? 0;
    const { byType: _d, ...d } = delivery;
    const { byType: _r, ...rep } = reputation;
    return {
      messages: s.n,
      deliveredPerSecond: s.drained && s.seconds > 0 ? round(s.n / s.seconds, 1) : null,
      cpuMsPerMessage: { server: per(s.cpu.server), worker: per(s.cpu.worker), postgres: per(s.cpu.postgres), bench: per(s.cpu.bench) },
      statementsPerMessage: s.statements === null ? null : round(s.statements / s.n, 2),
      delivery: d,
      reputation: rep,
    };
  };
  const activity = await figures('activity');
  const local = await figures('local');
  ctx.log(
    `[${ctx.mode}]   activity tasks: ${activity.delivery.events} events, ${activity.delivery.workflowTasks} workflow tasks, server ${activity.cpuMsPerMessage.server} ms, worker ${activity.cpuMsPerMessage.worker} ms per message; ` +
      `local: ${local.delivery.events} events, ${local.delivery.workflowTasks} workflow tasks, server ${local.cpuMsPerMessage.server} ms, worker ${local.cpuMsPerMessage.worker} ms`,
  );
  return {
    mode: ctx.mode,
    rounds,
    activity,
    local,
    ratios: {
      serverCpu: ratio(local.cpuMsPerMessage.server, activity.cpuMsPerMessage.server),
      workerCpu: ratio(local.cpuMsPerMessage.worker, activity.cpuMsPerMessage.worker),
      deliveredPerSecond: ratio(local.deliveredPerSecond, activity.deliveredPerSecond),
      historyEvents: ratio(local.delivery.events, activity.delivery.events),
      workflowTasks: ratio(local.delivery.workflowTasks, activity.delivery.workflowTasks),
    },
    lost,
  };
}
