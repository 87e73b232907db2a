// From `inbound_reports` to Temporal (README "Late outcomes"): the intake paths only store
// (so they answer fast and need no Temporal client); each worker sweeps for stored reports no
// workflow was started for and starts `report:<id>`, which Temporal refuses a second time, so
// two workers sweeping at once start each report once.
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { Pool } from 'pg';
import type { Logger } from '../log';
import { startSweeping } from '../sweeper';
import { REPORT_WORKFLOW_TYPE, reportWorkflowId } from './contract';
import { markStarted, unstartedReports } from './store';

export const REPORT_SWEEP_INTERVAL_MS = 1_000;
const SWEEP_BATCH = 200;

export interface ReportSweeperDeps {
  pool: Pool;
  client: Client;
  taskQueue: string;
  logger: Logger;
}

/** Starts the workflows of these stored reports; returns how many it started. */
export async function startReportWorkflows({ pool, client, taskQueue }: Omit<ReportSweeperDeps, 'logger'>, ids: string[]): Promise<number> {
  let started = 0;
  await Promise.all(
    ids.map(async (reportId) => {
      try {
        await client.workflow.start(REPORT_WORKFLOW_TYPE, { workflowId: reportWorkflowId(reportId), taskQueue, args: [{ reportId }], workflowIdReusePolicy: 'REJECT_DUPLICATE' });
        started += 1;
      } catch (err) {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      }
    }),
  );
  // Marked only once every start went through: a failure leaves the rest to the next sweep.
  await markStarted(pool, ids);
  return started;
}

/** Sweeps every second until the returned function is called; that function waits for a sweep in progress. */
export function startReportSweeper(deps: ReportSweeperDeps): () => Promise<void> {
  return startSweeping({
    name: 'report sweeper',
    intervalMs: REPORT_SWEEP_INTERVAL_MS,
    logger: deps.logger,
    failing: 'report sweeper cannot start report workflows; retrying every second',
    async run(stopped) {
      for (let more = true; more && !stopped(); ) {
        const ids = await unstartedReports(deps.pool, 0, SWEEP_BATCH);
        if (ids.length > 0) await startReportWorkflows(deps, ids);
        more = ids.length === SWEEP_BATCH;
      }
    },
  });
}
