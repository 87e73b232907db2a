// The least a workflow can cost: used by the bench to measure what the Temporal server on this
// machine can do at all, next to what Rebound does with it.
import { proxyActivities } from '@temporalio/workflow';
import type { ceilingActivities } from './ceiling-child';

const { noop } = proxyActivities<typeof ceilingActivities>({ startToCloseTimeout: '1 minute' });

/** Started, one workflow task, completed. */
export async function emptyWorkflow(): Promise<void> {}

/** The shape of a delivered Rebound message without its work: one activity between two tasks. */
export async function oneActivityWorkflow(): Promise<void> {
  await noop();
}
