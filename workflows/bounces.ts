// One stored report = one run of this workflow, id `report:<id>` (README "Late outcomes"): a
// worker's sweeper starts it once the intake has stored the report. The activity reads,
// correlates, records and tells; it is retried until PostgreSQL and Temporal answer, so a
// report taken with a 250 is never dropped. The history holds the report's id and counts, never
// its content or addresses.
import { proxyActivities } from '@temporalio/workflow';
import type { createActivities } from '../activities';
import type { ReportProcessing } from '../src/bounces/contract';

type Activities = ReturnType<typeof createActivities>;

const { processInboundReport } = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

export async function inboundReportWorkflow(input: { reportId: string }): Promise<ReportProcessing> {
  return processInboundReport(input.reportId);
}
