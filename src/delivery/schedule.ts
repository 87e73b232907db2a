// Retry schedule policy (README "Behaviour", retry profiles). Pure and deterministic: imported by workflow code, so no clock
// and no Math.random here. The caller passes the current time and its deterministic random source.
import { ValidationError, quoteValue } from '../errors';
import { PROFILE_NAMES, type ProfileName, type RetrySchedule } from './contract';
import { formatDuration, parseDuration } from './duration';

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

function frozenSchedule(delaysMs: number[], deadlineMs: number): RetrySchedule {
  return Object.freeze({ delaysMs: Object.freeze(delaysMs) as number[], deadlineMs });
}

/** Built-in profiles (README "Behaviour"). Frozen: copy before changing. */
export const PROFILES: Readonly<Record<ProfileName, RetrySchedule>> = Object.freeze({
  standard: frozenSchedule([5 * MINUTE, 15 * MINUTE, 1 * HOUR, 4 * HOUR], 72 * HOUR),
  urgent: frozenSchedule([30 * SECOND, 1 * MINUTE, 2 * MINUTE, 5 * MINUTE], 15 * MINUTE),
  bulk: frozenSchedule([15 * MINUTE, 1 * HOUR, 4 * HOUR, 8 * HOUR], 72 * HOUR),
});

export const DEFAULT_PROFILE: ProfileName = 'standard';
/** No deadline may be longer than this: 72 hours, how long good MTAs keep retrying. */
export const MAX_DEADLINE_MS = 30 * DAY;
/** Each delay is drawn uniformly from [base * (1 - r), base * (1 + r)). */
export const JITTER_RATIO = 0.1;
/**
 * Shortest delay a caller may configure. Not in the spec: a guard against schedules such as
 * `delays: [1]` with a 30-day deadline, which would mean millions of attempts (and a runaway
 * workflow history) against a server that keeps answering 4xx.
 */
export const MIN_DELAY_MS = 1 * SECOND;
/** At most this many custom delays (the last one repeats anyway). */
export const MAX_DELAYS = 50;
/** Greylisting margin added to the server's hint: 10% of the hint, clamped to [1 s, 60 s]. */
export const GREYLIST_MARGIN_RATIO = 0.1;
export const GREYLIST_MARGIN_MIN_MS = 1 * SECOND;
export const GREYLIST_MARGIN_MAX_MS = 60 * SECOND;

export interface ScheduleOptions {
  profile?: ProfileName;
  delays?: (string | number)[];
  deadline?: string | number;
}

export interface ResolvedSchedule {
  schedule: RetrySchedule;
  /** `custom` as soon as the caller gave delays or a deadline of its own. */
  profile: ProfileName | 'custom';
}

function isProfileName(value: unknown): value is ProfileName {
  return typeof value === 'string' && (PROFILE_NAMES as readonly string[]).includes(value);
}

/**
 * The schedule for a message: a profile (default `standard`), optionally overridden by the
 * caller's own delays and/or deadline; the part not overridden comes from the profile.
 * Validates every duration (positive; delays >= 1 s; deadline <= 30 days; at least one delay,
 * at most 50; each given delay <= the deadline). Throws {@link ValidationError} naming
 * `profile`, `delays`, `delays[i]` or `deadline`. Returns a fresh (unfrozen) schedule.
 *
 * When only a deadline is given, the profile's delays are kept even if some exceed it: the
 * "last attempt at the deadline" rule of {@link planNextAttempt} already covers that.
 */
export function resolveSchedule(opts: ScheduleOptions = {}): ResolvedSchedule {
  const { profile, delays, deadline } = opts;
  if (profile !== undefined && !isProfileName(profile)) {
    throw new ValidationError('profile', `unknown profile ${quoteValue(profile)}; use one of ${PROFILE_NAMES.join(', ')}`);
  }
  const base = PROFILES[profile ?? DEFAULT_PROFILE];

  let deadlineMs = base.deadlineMs;
  if (deadline !== undefined) {
    deadlineMs = parseDuration(deadline, 'deadline');
    if (deadlineMs > MAX_DEADLINE_MS) {
      throw new ValidationError('deadline', `${formatDuration(deadlineMs)} is longer than the maximum of 30 days`);
    }
  }

  let delaysMs = [...base.delaysMs];
  if (delays !== undefined) {
    if (!Array.isArray(delays)) {
      throw new ValidationError('delays', `expected a list of durations such as ["5m", "15m", "1h"], got ${quoteValue(delays)}`);
    }
    if (delays.length === 0) throw new ValidationError('delays', 'at least one delay is required');
    if (delays.length > MAX_DELAYS) {
      throw new ValidationError('delays', `at most ${MAX_DELAYS} delays are allowed (the last one repeats), got ${delays.length}`);
    }
    delaysMs = delays.map((value, i) => {
      const field = `delays[${i}]`;
      const ms = parseDuration(value, field);
      if (ms < MIN_DELAY_MS) {
        throw new ValidationError(field, `${formatDuration(ms)} is shorter than the minimum delay of ${formatDuration(MIN_DELAY_MS)}`);
      }
      if (ms > deadlineMs) {
        throw new ValidationError(field, `${formatDuration(ms)} is longer than the deadline of ${formatDuration(deadlineMs)}`);
      }
      return ms;
    });
  }

  const custom = delays !== undefined || deadline !== undefined;
  return { schedule: { delaysMs, deadlineMs }, profile: custom ? 'custom' : (profile ?? DEFAULT_PROFILE) };
}

/** A soft reply of the attempt just made, as far as the schedule cares. */
export interface SoftReplyHint {
  category: string;
  retryAfterMs: number | null;
  /** Rebound's own deferral at a held site: its hint is when the site reopens (ClassifiedReply.heldBack). */
  heldBack?: boolean;
}

export interface PlanArgs {
  schedule: RetrySchedule;
  /** Attempts made so far, including the one that just finished (>= 1). */
  attemptsMade: number;
  /** Workflow start (message accepted), epoch ms. The deadline counts from here. */
  startMs: number;
  /** Now, epoch ms (workflow time). */
  nowMs: number;
  /** Deterministic random source, values in [0, 1). */
  random: () => number;
  /** The soft replies of the attempt just made (one per recipient still pending). */
  softReplies: SoftReplyHint[];
  /**
   * Whether a held-back reply's hint is honoured alone, like greylisting's (README "Traffic
   * shaping"). Off for runs whose earlier plans were made without it (the workflow's patch).
   */
  honourHeldBackHints?: boolean;
}

export type NextAttempt =
  | { action: 'retry'; atMs: number; delayMs: number; lastAttempt: boolean }
  | { action: 'expire' };

/** The margin added to a greylisting hint: 10% of it, at least 1 s, at most 60 s. */
export function greylistMargin(hintMs: number): number {
  return Math.min(GREYLIST_MARGIN_MAX_MS, Math.max(GREYLIST_MARGIN_MIN_MS, Math.round(hintMs * GREYLIST_MARGIN_RATIO)));
}

/** Base delay with +-10% jitter; `r` in [0, 1) maps linearly onto [0.9, 1.1). */
export function jitter(baseMs: number, r: number): number {
  const u = Number.isFinite(r) ? Math.min(Math.max(r, 0), 1) : 0.5;
  return Math.round(baseMs * (1 + JITTER_RATIO * (2 * u - 1)));
}

function usableHint(hint: number | null | undefined): number | null {
  return typeof hint === 'number' && Number.isFinite(hint) && hint >= 0 ? hint : null;
}

/**
 * When to make the next attempt (README "Behaviour"), after `attemptsMade` attempts that left recipients
 * soft-bounced.
 *
 * - Base delay: `delaysMs[attemptsMade - 1]`, the last one repeating; +-10% jitter from
 *   `random()` (called exactly once per plan, so workflow replay stays deterministic).
 * - Each soft reply asks for a delay: `greylisted` with a hint asks for hint + margin
 *   (margin = 10% of the hint clamped to [1 s, 60 s]), even when that is shorter than the
 *   schedule; a held-back reply (Rebound's own deferral at a suspended, throttled or busy
 *   site) with a hint asks for the hint alone when `honourHeldBackHints` (the hint already
 *   carries its spread); any other reply asks for max(jittered base, hint ?? 0). The longest
 *   request wins; with no soft replies the jittered base is used.
 * - Deadline = startMs + deadlineMs. An attempt may start AT the deadline, never after it:
 *   nowMs >= deadline -> `expire`; nowMs + delay >= deadline -> one last attempt exactly at the
 *   deadline (`lastAttempt: true`, also when the regular attempt would land exactly on it);
 *   otherwise retry at nowMs + delay.
 *
 * All times are integers (Math.round).
 */
export function planNextAttempt(args: PlanArgs): NextAttempt {
  const { schedule, attemptsMade, startMs, nowMs, random, softReplies, honourHeldBackHints = false } = args;
  const deadline = startMs + schedule.deadlineMs;
  const r = random();
  if (nowMs >= deadline) return { action: 'expire' };

  const delays = schedule.delaysMs;
  const index = Math.min(Math.max(attemptsMade - 1, 0), delays.length - 1);
  const jittered = jitter(delays[index], r);

  let delayMs = softReplies.length === 0 ? jittered : 0;
  for (const reply of softReplies) {
    const hint = usableHint(reply.retryAfterMs);
    const wanted =
      reply.category === 'greylisted' && hint !== null
        ? hint + greylistMargin(hint)
        : honourHeldBackHints && reply.heldBack === true && hint !== null
          ? hint
          : Math.max(jittered, hint ?? 0);
    delayMs = Math.max(delayMs, wanted);
  }
  delayMs = Math.max(1, Math.round(delayMs));

  if (nowMs + delayMs >= deadline) {
    return { action: 'retry', atMs: deadline, delayMs: deadline - nowMs, lastAttempt: true };
  }
  return { action: 'retry', atMs: nowMs + delayMs, delayMs, lastAttempt: false };
}
