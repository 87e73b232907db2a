// The pg-boss peer's one decision (README "Performance", the peer): after an attempt, which
// recipients are done, and whether the message gets another job, when. Pure: Rebound's own
// classifier decides delivered / soft / hard and Rebound's own schedule policy picks the time,
// so the peer makes the same decisions as a delivery workflow for a message without per-domain
// rules, reputation or suppression.
import type { ClassifiedReply, RetrySchedule } from '../../src/delivery/contract';
import { resolveSchedule, planNextAttempt } from '../../src/delivery/schedule';

/**
 * The compressed schedule the bench gives Rebound's retries (scenario 3: 1 s, then 2 s between
 * attempts, 30 s deadline), so a soft bounce costs both the same wait.
 */
export const PEER_SCHEDULE: RetrySchedule = resolveSchedule({ delays: ['1s', '2s'], deadline: '30s' }).schedule;

export type PeerState = 'queued' | 'sending' | 'deferred' | 'delivered' | 'failed' | 'partial' | 'expired';

export interface AttemptInput {
  /** The replies of this attempt, one per recipient it was sent to. */
  replies: { address: string; reply: ClassifiedReply }[];
  /** Recipients accepted or refused for good in earlier attempts. */
  delivered: string[];
  failed: string[];
  /** This attempt's number, from 1. */
  attempt: number;
  /** When the message was stored, epoch ms: the deadline counts from here. */
  startMs: number;
  nowMs: number;
  random: () => number;
  schedule?: RetrySchedule;
}

export interface AttemptDecision {
  delivered: string[];
  failed: string[];
  /** Recipients still to try (soft this time). */
  pending: string[];
  /** The message's state after this attempt. */
  state: PeerState;
  /** Set when another job is due: epoch ms for pg-boss's startAfter. */
  nextAt: number | null;
}

/** Final state from the recipients: all accepted, none accepted, or some of each. */
function finalState(delivered: number, failed: number): PeerState {
  if (failed === 0) return 'delivered';
  return delivered === 0 ? 'failed' : 'partial';
}

export function decideAfterAttempt(input: AttemptInput): AttemptDecision {
  const delivered = [...input.delivered];
  const failed = [...input.failed];
  const pending: string[] = [];
  const soft: ClassifiedReply[] = [];
  for (const { address, reply } of input.replies) {
    if (reply.kind === 'delivered') delivered.push(address);
    else if (reply.kind === 'hard') failed.push(address);
    else {
      pending.push(address);
      soft.push(reply);
    }
  }
  if (pending.length === 0) return { delivered, failed, pending, state: finalState(delivered.length, failed.length), nextAt: null };
  const plan = planNextAttempt({
    schedule: input.schedule ?? PEER_SCHEDULE,
    attemptsMade: input.attempt,
    startMs: input.startMs,
    nowMs: input.nowMs,
    random: input.random,
    softReplies: soft.map((r) => ({ category: r.category, retryAfterMs: r.retryAfterMs })),
  });
  if (plan.action === 'expire') {
    // Past the deadline: the soft recipients fail for good, as Rebound's recipients expire.
    return { delivered, failed: [...failed, ...pending], pending: [], state: delivered.length === 0 ? 'expired' : 'partial', nextAt: null };
  }
  return { delivered, failed, pending, state: 'deferred', nextAt: plan.atMs };
}
