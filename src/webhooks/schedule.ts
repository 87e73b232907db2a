// When a webhook is tried (README "Webhooks", schedule): the Standard Webhooks schedule, each
// delay counted from the try before, and a receiver's Retry-After as a floor. Pure: imported
// by the delivery workflow.

const S = 1000;
const M = 60 * S;
const H = 60 * M;

/** The wait before try 1, 2, ...: at once, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h. */
export const WEBHOOK_SCHEDULE_MS: readonly number[] = [0, 5 * S, 5 * M, 30 * M, 2 * H, 5 * H, 10 * H, 14 * H, 20 * H, 24 * H];
export const WEBHOOK_MAX_TRIES = WEBHOOK_SCHEDULE_MS.length;

/** The longest Retry-After honoured: a receiver cannot park an event for longer than the schedule's longest step. */
export const MAX_RETRY_AFTER_MS = 24 * H;

/**
 * The wait before try `nextTry` (2 or more) after a failed one, or null when the schedule is
 * used up. A Retry-After longer than the scheduled delay replaces it (bounded); a shorter one
 * does not bring the try forward, so a receiver answering `Retry-After: 1` cannot use up the
 * tries in seconds.
 */
export function waitBeforeTry(nextTry: number, retryAfterMs: number | null): number | null {
  if (!Number.isInteger(nextTry) || nextTry < 2 || nextTry > WEBHOOK_MAX_TRIES) return null;
  const scheduled = WEBHOOK_SCHEDULE_MS[nextTry - 1];
  const asked = retryAfterMs === null || !(retryAfterMs > 0) ? 0 : Math.min(retryAfterMs, MAX_RETRY_AFTER_MS);
  return Math.max(scheduled, asked);
}
