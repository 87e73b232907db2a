// Signals and queries of Rebound's workflows, shared by workflow code, activities and the client.
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { DeliveryStatus, ReputationSignal } from '../src/types';

/** Current delivery status of a message (spec 4). */
export const statusQuery = defineQuery<DeliveryStatus>('status');
/** Operator: end the current wait and attempt the pending recipients at once. */
export const retryNowSignal = defineSignal('retryNow');

/** Outcomes of a send, from delivery workflows to an address's reputation workflow (spec 5). */
export const deliveredSignal = defineSignal<[ReputationSignal]>('delivered');
export const softBouncedSignal = defineSignal<[ReputationSignal]>('softBounced');
export const hardBouncedSignal = defineSignal<[ReputationSignal]>('hardBounced');
