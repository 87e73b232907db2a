// Signals and queries of Rebound's workflows, shared by workflow code, activities and the client.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { ReputationEntry } from '../src/policy/reputation';
import type { DeliveryStatus, ReputationSignal, SuppressionStatus } from '../src/types';

/** Current delivery status of a message (spec 4). */
export const statusQuery = defineQuery<DeliveryStatus>('status');
/** Operator: end the current wait and attempt the pending recipients at once. */
export const retryNowSignal = defineSignal('retryNow');

/**
 * Outcomes of a send, from delivery workflows to an address's reputation workflow (spec 5):
 * `delivered` (on any attempt), `hardBounced`, and `softBounced` when the send ended `expired`
 * (older workers sent it at a send's first soft reply; it carries no scope then).
 */
export const deliveredSignal = defineSignal<[ReputationSignal]>('delivered');
export const softBouncedSignal = defineSignal<[ReputationSignal]>('softBounced');
export const hardBouncedSignal = defineSignal<[ReputationSignal]>('hardBounced');
/** The signal for each send outcome, by event name. */
export const outcomeSignals = { delivered: deliveredSignal, softBounced: softBouncedSignal, hardBounced: hardBouncedSignal } as const;

/** An operator's suppression: `days` null means no expiry; absent means the default. */
export interface SuppressRequest {
  reason?: string;
  days?: number | null;
  actor?: string;
  note?: string;
}

export interface LiftRequest {
  reason?: string;
  actor?: string;
}

/** The answer to the `reputation` query. */
export interface ReputationView extends SuppressionStatus {
  /** Failed sends in a row: sends that ended expired on replies that blame the address. */
  consecutiveSoftBounces: number;
  threshold: number;
  totals: Record<'delivered' | 'softBounced' | 'hardBounced', number>;
  recent: ReputationEntry[];
}

export const reputationQuery = defineQuery<ReputationView>('reputation');
/** Operator controls, recorded with who and why; they return the address's new view. */
export const suppressUpdate = defineUpdate<ReputationView, [SuppressRequest]>('suppress');
export const liftUpdate = defineUpdate<ReputationView, [LiftRequest]>('lift');
