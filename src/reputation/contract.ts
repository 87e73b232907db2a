// The reputation contract: what delivery workflows, the reputation workflow, the client and
// tests share about an address (README "Reputation and suppression"): send outcomes and their
// signals, the suppression status, the `reputation` query and the `suppress`/`lift` updates.
// Imported by workflow code: no I/O, no Node built-ins.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { BounceCategory, ClassifiedReply, ReplyScope } from '../delivery/contract';
import type { ReputationEntry } from './policy';

/** Hard-bounce categories that are the sender's problem, not the address's. */
export const NON_SUPPRESSING_CATEGORIES: readonly BounceCategory[] = ['policy_block', 'message_too_large'];

/** Why an address is suppressed: Rebound's own reasons, or an operator's word (`complaint`, ...). */
export type SuppressionReason = 'soft_bounce_threshold' | 'hard_bounce' | 'manual' | 'import' | (string & {});
/** Who suppressed it: the reputation workflow, an operator, or a CSV import. */
export type SuppressionSource = 'auto' | 'manual' | 'import';

/**
 * One suppression, the one shape every part uses: the reputation workflow's state, the
 * suppression list's rows (with the address and when it was lifted), the CSV columns.
 */
export interface Suppression {
  reason: SuppressionReason;
  category: BounceCategory | null;
  source: SuppressionSource;
  messageId: string | null;
  reply: string | null;
  since: string;
  /** ISO time the suppression lifts itself; null = until an operator lifts it. */
  until: string | null;
  actor: string | null;
  note: string | null;
}

/** Whether an address is suppressed right now, as the table and the reputation workflow tell it. */
export interface SuppressionStatus {
  address: string;
  suppressed: boolean;
  reason: SuppressionReason | null;
  category: BounceCategory | null;
  source: SuppressionSource | null;
  since: string | null;
  until: string | null;
}

/** A suppressed recipient as a sender sees it: the address and why. */
export type SuppressionCheck = { address: string } & Pick<Suppression, 'reason'>;

export type ReputationEventType = 'delivered' | 'softBounced' | 'hardBounced';

export interface ReputationSignal {
  messageId: string;
  category: BounceCategory;
  /**
   * Whom the deciding reply was about. Absent from signals of older workers, which reported a
   * soft bounce while the send was still retrying (it counts nothing now).
   */
  scope?: ReplyScope;
  reply: Pick<ClassifiedReply, 'code' | 'enhanced' | 'text'>;
  at: string;
}

export interface ReputationNotice extends ReputationSignal {
  address: string;
  event: ReputationEventType;
}

/** Names shared by the worker, the client and the workflows. */
export const REPUTATION_WORKFLOW_TYPE = 'reputationWorkflow';
export const reputationWorkflowId = (normalisedAddress: string): string => `address:${normalisedAddress}`;

/**
 * Outcomes of a send, from delivery workflows to an address's reputation workflow (README "Reputation and suppression"):
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
  /** `auto` for Rebound's own (a complaint, README "Late outcomes"); absent: `manual`. */
  source?: 'auto' | 'manual';
  /** The message that caused it (a complaint's). */
  messageId?: string;
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
