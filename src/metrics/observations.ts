// What a finished activity call adds to the worker's metrics (README "Metrics"): a pure mapping
// from an activity's type, arguments and result to metric increments, applied by the activity
// interceptor (./interceptor.ts). Only the activities below count; every other returns nothing.
import type { AttemptLog, DeliveryStateRecord, SendAttemptResult } from '../delivery/contract';
import { replyScope } from '../delivery/scope';
import { domainOf } from '../message/address';
import type { Suppression } from '../reputation/contract';
import { OTHER, SUPPRESSION_REASON_LABELS, SUPPRESSION_SOURCE_LABELS, type SuppressionReasonLabel, type SuppressionSourceLabel, type WorkerIncrement } from './contract';

/** Answers the label a recipient domain is counted under (DomainLabels.label). */
export type DomainLabeller = (domain: string) => string;

export function reasonLabel(reason: string | null | undefined): SuppressionReasonLabel {
  return (SUPPRESSION_REASON_LABELS as readonly string[]).includes(reason ?? '') ? (reason as SuppressionReasonLabel) : OTHER;
}

export function sourceLabel(source: string | null | undefined): SuppressionSourceLabel {
  return (SUPPRESSION_SOURCE_LABELS as readonly string[]).includes(source ?? '') ? (source as SuppressionSourceLabel) : OTHER;
}

/**
 * The increments of one successful activity call. A call that threw counts nothing: Temporal
 * retries it, and the retry that succeeds is counted. The final state is counted where it is
 * recorded: by the attempt that ended the message, by `recordAttemptLog` when that attempt's
 * log was handed over to the workflow, or by `recordDeliveryState` (expiry, cancellation).
 */
export function observeActivity(activityType: string, args: readonly unknown[], result: unknown, domainLabel: DomainLabeller): WorkerIncrement[] {
  switch (activityType) {
    case 'sendAttempt': {
      const r = result as SendAttemptResult;
      const out: WorkerIncrement[] = [];
      for (const reply of r.replies) {
        out.push({ metric: 'attempts', labels: { kind: reply.kind, category: reply.category, scope: replyScope(reply), domain: domainLabel(domainOf(reply.address)) } });
      }
      for (const s of r.suppressed) out.push({ metric: 'suppressedSkips', labels: { reason: reasonLabel(s.reason) } });
      if (r.finalState) out.push({ metric: 'messagesFinal', labels: { state: r.finalState } });
      return out;
    }
    case 'recordAttemptLog': {
      const log = args[0] as AttemptLog;
      return log.finalState ? [{ metric: 'messagesFinal', labels: { state: log.finalState } }] : [];
    }
    case 'recordDeliveryState': {
      const record = args[0] as DeliveryStateRecord;
      const out: WorkerIncrement[] = (record.expired ?? []).map((e) => ({
        metric: 'recipientsExpired' as const,
        labels: { category: e.reply.category, scope: replyScope(e.reply), domain: domainLabel(domainOf(e.address)) },
      }));
      if (record.state) out.push({ metric: 'messagesFinal', labels: { state: record.state } });
      return out;
    }
    case 'writeSuppression': {
      const s = args[0] as Pick<Suppression, 'reason' | 'source'>;
      return [{ metric: 'suppressions', labels: { reason: reasonLabel(s.reason), source: sourceLabel(s.source) } }];
    }
    default:
      return [];
  }
}
