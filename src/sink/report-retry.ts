// When the bounce simulator tries a late report again (README "The bounce simulator"): like a real
// MTA, it retries a report the receiver deferred (4xx, Rebound's inbound listener answers
// `451 4.3.0` while its database is down) or could not be reached, with a doubling delay, for a
// bounded time; a permanent refusal (5xx) is final. Pure.

export interface ReportRetryPolicy {
  /** Delay before the second try, in milliseconds; each next delay doubles. */
  firstDelayMs: number;
  /** The longest delay between two tries. */
  maxDelayMs: number;
  /** No try starts later than this after the first one. */
  giveUpAfterMs: number;
}

export const DEFAULT_REPORT_RETRY: ReportRetryPolicy = { firstDelayMs: 1_000, maxDelayMs: 15_000, giveUpAfterMs: 120_000 };

/** How one try ended: the receiver's reply, or no reply at all (connection refused, timeout). */
export type SendResult =
  | { kind: 'accepted'; reply: string }
  | { kind: 'deferred'; reply: string }
  | { kind: 'refused'; reply: string }
  | { kind: 'unreachable'; error: string };

/** A reply line ("451 4.3.0 ...") as a try's result. */
export function resultOfReply(reply: string): SendResult {
  const code = Number(reply.slice(0, 3));
  if (code >= 200 && code < 300) return { kind: 'accepted', reply };
  if (code >= 500 && code < 600) return { kind: 'refused', reply };
  return { kind: 'deferred', reply };
}

/**
 * The delay before the next try after `tries` tries (1-based) that began `elapsedMs` ago with
 * the first; null: no more tries (the report was taken, refused, or the time is up).
 */
export function nextTryDelay(result: SendResult, tries: number, elapsedMs: number, policy: ReportRetryPolicy = DEFAULT_REPORT_RETRY): number | null {
  if (result.kind === 'accepted' || result.kind === 'refused') return null;
  const delay = Math.min(policy.maxDelayMs, policy.firstDelayMs * 2 ** Math.max(0, tries - 1));
  return elapsedMs + delay > policy.giveUpAfterMs ? null : delay;
}
