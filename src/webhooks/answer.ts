// What a receiver's answer means (README "Webhooks"): 2xx delivered; 410 disables the
// endpoint; 429 and 503 may say when to come back (Retry-After, bounded by the schedule's
// policy); anything else, and no answer at all, is tried again on the schedule. Redirects are
// not followed: the registered URL is the one that was checked. Pure.
import { MAX_RETRY_AFTER_MS } from './schedule';

/** What came back from one request: a status and its Retry-After header, or no answer. */
export type ReceiverAnswer = { status: number; retryAfter?: string | null } | { status: null; error: string };

export type AnswerDecision =
  | { action: 'delivered' }
  | { action: 'disable'; reason: string }
  | { action: 'retry'; retryAfterMs: number | null; reason: string };

/**
 * Retry-After as RFC 9110 has it: delay-seconds or an HTTP date, in ms from `nowMs`; null when
 * absent or unreadable. Bounded to MAX_RETRY_AFTER_MS.
 */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | null {
  if (value === null || value === undefined) return null;
  const v = value.trim();
  if (v === '') return null;
  let ms: number;
  if (/^\d+$/.test(v)) ms = Number(v) * 1000;
  else {
    const at = Date.parse(v);
    if (Number.isNaN(at) || !/[a-z]/i.test(v)) return null;
    ms = at - nowMs;
  }
  if (!Number.isFinite(ms)) return null;
  return Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS);
}

export function decideAnswer(answer: ReceiverAnswer, nowMs: number): AnswerDecision {
  if (answer.status === null) return { action: 'retry', retryAfterMs: null, reason: answer.error };
  const { status } = answer;
  if (status >= 200 && status < 300) return { action: 'delivered' };
  if (status === 410) return { action: 'disable', reason: 'the receiver answered 410 Gone' };
  if (status === 429 || status === 503) {
    return { action: 'retry', retryAfterMs: parseRetryAfter(answer.retryAfter, nowMs), reason: `the receiver answered ${status}` };
  }
  if (status >= 300 && status < 400) return { action: 'retry', retryAfterMs: null, reason: `the receiver answered ${status} (redirects are not followed; register the final URL)` };
  return { action: 'retry', retryAfterMs: null, reason: `the receiver answered ${status}` };
}
