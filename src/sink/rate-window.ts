// A receiver's rate limit for the bounce simulator (README "The bounce simulator", "Direct
// demo"): the first `after` recipients of a window are taken, every further RCPT until the
// window ends is refused with Gmail's "421 4.7.28" (the `ratelimit-ip` scenario's reply), and the
// next recipient after the window opens a new one. That is how a rate limit looks from the
// sending side: fine, then "slow down" for a while, then fine again. It applies to every
// recipient of the sink, whatever its local part: a sink given one stands for a provider's MX
// that limits the sending IP, not an address. Pure: the caller gives the time.
import { parseDuration } from '../delivery/duration';

/** `rateLimit` of the sink: recipients per window, and the window's length. */
export interface RateLimit {
  /** Recipients taken in one window; the next ones get the 421 until it ends. At least 1. */
  after: number;
  /** Length of a window in milliseconds, from the first recipient taken in it. At least 1. */
  windowMs: number;
}

/** Where a rate limit stands: the window open (its start) and how many it took. */
export interface RateWindowState {
  /** Start of the window in force (ms), or null before the first recipient. */
  openedAt: number | null;
  taken: number;
}

export const FRESH_WINDOW: RateWindowState = { openedAt: null, taken: 0 };

/** The limit, checked: a RangeError names the field that is not a positive whole number. */
export function checkedRateLimit(limit: RateLimit): RateLimit {
  if (!Number.isInteger(limit.after) || limit.after < 1) throw new RangeError(`rateLimit.after must be a whole number of recipients, at least 1; got ${String(limit.after)}`);
  if (!Number.isInteger(limit.windowMs) || limit.windowMs < 1) throw new RangeError(`rateLimit.windowMs must be a whole number of milliseconds, at least 1; got ${String(limit.windowMs)}`);
  return limit;
}

/**
 * One RCPT at `nowMs`: whether it is taken, and the state after it. A refused RCPT does not
 * move the window: the limit clears when the window that filled up ends.
 */
export function rateDecision(limit: RateLimit, state: RateWindowState, nowMs: number): { accept: boolean; state: RateWindowState } {
  const expired = state.openedAt === null || nowMs >= state.openedAt + limit.windowMs;
  const current = expired ? { openedAt: nowMs, taken: 0 } : state;
  if (current.taken >= limit.after) return { accept: false, state: current };
  return { accept: true, state: { openedAt: current.openedAt, taken: current.taken + 1 } };
}

/** `N/DURATION` as `rebound sink --rate-limit` takes it: "20/60s" is 20 recipients per 60 seconds. */
export function parseRateLimit(text: string): RateLimit {
  const m = /^\s*(\d{1,9})\s*\/\s*(\S.*?)\s*$/.exec(text);
  if (!m) throw new RangeError(`rate limit must be N/DURATION, e.g. 20/60s (20 recipients per 60 seconds); got "${text}"`);
  let windowMs: number;
  try {
    windowMs = parseDuration(m[2]!, 'rateLimit.window');
  } catch (err) {
    throw new RangeError(`rate limit must be N/DURATION, e.g. 20/60s: ${(err as Error).message}`);
  }
  return checkedRateLimit({ after: Number(m[1]), windowMs });
}
