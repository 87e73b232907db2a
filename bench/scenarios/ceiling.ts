// Scenario 0: the ceiling of the Temporal server itself on this machine. The same client starts
// workflows that do nothing (one workflow task) and workflows with one no-op activity (the shape
// of a delivered Rebound message: two workflow tasks around one activity) on a worker with
// Rebound's settings, as fast as scenario 2 submits. What the server can complete per second,
// and the CPU it spends on each, bound what any one-workflow-per-message design can do here.
import type { Client } from '@temporalio/client';
import { cpuBetween, cpuSnapshot, round, runBounded, sleep, type CpuUse } from '../measure';
import { startCeilingChild, type BenchServer, type Cleanup } from '../stack';

export type CeilingKind = 'emptyWorkflow' | 'oneActivityWorkflow';

export interface CeilingRun {
  kind: CeilingKind;
  n: number;
  /** First start until the last completion (visibility polled every 250 ms). */
  seconds: number;
  completedPerSecond: number;
  cpuMsPerWorkflow: { server: number; worker: number; client: number };
  cpu: CpuUse;
}

export interface CeilingResult {
  runs: CeilingRun[];
  lost: number;
}

async function completed(client: Client, taskQueue: string, kind: CeilingKind): Promise<number> {
  const r = await client.workflow.count(`TaskQueue = "${taskQueue}" AND WorkflowType = "${kind}" AND ExecutionStatus = "Completed"`);
  return r.count;
}

async function runKind(
  client: Client,
  taskQueue: string,
  kind: CeilingKind,
  n: number,
  concurrency: number,
  pids: { server: number; worker: number },
  label: string,
): Promise<CeilingRun & { done: number }> {
  const ids = Array.from({ length: n }, (_, i) => `${taskQueue}-${kind}-${label}-${i}`);
  const base = await completed(client, taskQueue, kind);
  const before = cpuSnapshot({ ...pids, sink: null });
  const t0 = Date.now();
  await runBounded(ids, concurrency, async (workflowId) => {
    await client.workflow.start(kind, { taskQueue, workflowId });
  });
  const until = Date.now() + 120_000;
  let done = 0;
  while (Date.now() < until) {
    done = (await completed(client, taskQueue, kind)) - base;
    if (done >= n) break;
    await sleep(250);
  }
  const seconds = (Date.now() - t0) / 1000;
  const after = cpuSnapshot({ ...pids, sink: null });
  const perWorkflow = (a: number, b: number): number => round(((b - a) * 1000) / n)!;
  return {
    kind,
    n,
    seconds: round(seconds)!,
    completedPerSecond: round(n / seconds)!,
    cpuMsPerWorkflow: { server: perWorkflow(before.server, after.server), worker: perWorkflow(before.worker, after.worker), client: perWorkflow(before.bench, after.bench) },
    cpu: cpuBetween(before, after),
    done,
  };
}

export async function runCeiling(
  client: Client,
  server: BenchServer,
  opts: { n: number; concurrency: number; tag: string; cleanup: Cleanup; log: (msg: string) => void },
): Promise<CeilingResult> {
  const taskQueue = `ceiling-${opts.tag}`;
  const child = await startCeilingChild(server.address, taskQueue, opts.cleanup);
  try {
    const runs: CeilingRun[] = [];
    let lost = 0;
    for (const kind of ['emptyWorkflow', 'oneActivityWorkflow'] as const) {
      // Warm-up, not measured: the worker's bundle and JIT, the client's channel.
      const pids = { server: server.pid, worker: child.pid };
      await runKind(client, taskQueue, kind, 20, opts.concurrency, pids, 'warm');
      const { done, ...run } = await runKind(client, taskQueue, kind, opts.n, opts.concurrency, pids, 'run');
      lost += opts.n - Math.min(done, opts.n);
      opts.log(
        `[${server.mode}]   ${kind}: ${run.completedPerSecond}/s; CPU per workflow: server ${run.cpuMsPerWorkflow.server} ms, ` +
          `worker ${run.cpuMsPerWorkflow.worker} ms, client ${run.cpuMsPerWorkflow.client} ms`,
      );
      runs.push(run);
    }
    return { runs, lost };
  } finally {
    await child.stop();
  }
}
