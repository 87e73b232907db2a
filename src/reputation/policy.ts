// Reputation policy (README "Reputation and suppression") as pure state transitions, so the rules are tested without a
// server and the workflow only sequences them with I/O. Imported by workflow code: no I/O, no
// clock, no randomness here — times are passed in.
import { HARD_CATEGORIES, type BounceCategory } from '../delivery/contract';
import { NON_SUPPRESSING_CATEGORIES, type ReputationEventType, type ReputationSignal, type Suppression, type SuppressionReason, type SuppressionStatus } from './contract';
import { OUTCOME_KIND, outcomeBlame, type Blame } from './blame';
import { replyScope } from '../delivery/classify';

export const DEFAULT_SOFT_BOUNCE_THRESHOLD = 5;
export const MIN_SOFT_BOUNCE_THRESHOLD = 1;
export const MAX_SOFT_BOUNCE_THRESHOLD = 20;
export const DEFAULT_SUPPRESSION_DAYS = 180;
/** Longest suppression with an expiry, in days (manual, import and REBOUND_SUPPRESSION_DAYS). */
export const MAX_SUPPRESSION_DAYS = 3650;
export const RECENT_EVENTS = 20;
const DAY_MS = 24 * 60 * 60 * 1000;
/** How long a message id is remembered for deduplication: longer than any deadline (30 days). */
export const DEDUP_WINDOW_MS = 31 * DAY_MS;
/** Upper bound of remembered ids, so a very busy address keeps a bounded state. */
export const DEDUP_MAX_KEYS = 5000;

export type ReputationEntryType = ReputationEventType | 'suppressed' | 'lifted';

export interface ReputationEntry {
  type: ReputationEntryType;
  at: string;
  messageId?: string;
  category?: string;
  /** Whom the outcome's reply was about. */
  scope?: string;
  /** Whether the outcome counted against the address (absent for entries recorded before scopes). */
  counted?: boolean;
  /** Why it did not count. */
  why?: string;
  reason?: string;
  actor?: string | null;
}

export interface ReputationSettings {
  softBounceThreshold: number;
  suppressionDays: number;
}

export interface ReputationWorkflowSettings extends ReputationSettings {
  /** Close after this long without events while not suppressed (the database keeps the record). */
  idleCloseDays: number;
  /** Continue-as-new once the history holds this many events (or when the server suggests it). */
  continueAsNewAfterEvents: number;
}

export const DEFAULT_IDLE_CLOSE_DAYS = 30;
export const DEFAULT_CONTINUE_AS_NEW_AFTER_EVENTS = 2000;

export interface ReputationState {
  consecutiveSoftBounces: number;
  suppression: Suppression | null;
  recent: ReputationEntry[];
  totals: Record<ReputationEventType, number>;
  /** Deduplication keys `event:messageId` with the time they were seen. */
  seen: [string, number][];
  lastEventAtMs: number;
}

export function initialReputationState(nowMs: number): ReputationState {
  return { consecutiveSoftBounces: 0, suppression: null, recent: [], totals: { delivered: 0, softBounced: 0, hardBounced: 0 }, seen: [], lastEventAtMs: nowMs };
}

export function validateSettings<T extends ReputationSettings>(s: T): T {
  const t = s.softBounceThreshold;
  if (!Number.isInteger(t) || t < MIN_SOFT_BOUNCE_THRESHOLD || t > MAX_SOFT_BOUNCE_THRESHOLD) {
    throw new RangeError(`REBOUND_SOFT_BOUNCE_THRESHOLD must be an integer from ${MIN_SOFT_BOUNCE_THRESHOLD} to ${MAX_SOFT_BOUNCE_THRESHOLD}, got ${t}`);
  }
  if (!validSuppressionDays(s.suppressionDays)) {
    throw new RangeError(`REBOUND_SUPPRESSION_DAYS must be a positive number of days, at most ${MAX_SUPPRESSION_DAYS}, got ${s.suppressionDays}`);
  }
  return s;
}

/** A number of days a suppression may last: positive, at most MAX_SUPPRESSION_DAYS. */
export function validSuppressionDays(days: number): boolean {
  return Number.isFinite(days) && days > 0 && days <= MAX_SUPPRESSION_DAYS;
}

/** A suppression an operator adds; `days` null = until an operator lifts it. */
export function manualSuppression(request: { reason?: string; actor?: string; note?: string; source?: 'auto' | 'manual'; messageId?: string | null; category?: Suppression['category'] }, days: number | null, nowMs: number): Suppression {
  return {
    reason: request.reason ?? 'manual',
    category: request.category ?? null,
    // Rebound's own suppressions outside the blame rules (a complaint) are `auto`; an operator's `manual`.
    source: request.source ?? 'manual',
    messageId: request.messageId ?? null,
    reply: null,
    since: new Date(nowMs).toISOString(),
    until: days === null ? null : new Date(nowMs + days * DAY_MS).toISOString(),
    actor: request.actor ?? null,
    note: request.note ?? null,
  };
}

/** What senders and operators are told about an address, from its active suppression if any. */
export function suppressionStatus(address: string, active: Suppression | null): SuppressionStatus {
  return {
    address,
    suppressed: active !== null,
    reason: active?.reason ?? null,
    category: active?.category ?? null,
    source: active?.source ?? null,
    since: active?.since ?? null,
    until: active?.until ?? null,
  };
}

/** A hard bounce suppresses unless it is the sender's problem (policy_block, message_too_large). */
export function hardBounceSuppresses(category: BounceCategory): boolean {
  return (HARD_CATEGORIES as readonly string[]).includes(category) && !NON_SUPPRESSING_CATEGORIES.includes(category);
}

function remember(state: ReputationState, entry: ReputationEntry): void {
  state.recent.push(entry);
  if (state.recent.length > RECENT_EVENTS) state.recent.splice(0, state.recent.length - RECENT_EVENTS);
}

export function isActive(s: Suppression | null, nowMs: number): s is Suppression {
  return s !== null && (s.until === null || Date.parse(s.until) > nowMs);
}

/** What the caller must persist after a transition. */
export type ReputationEffect = { type: 'suppress'; suppression: Suppression } | { type: 'lift'; reason: string; actor: string | null; at: string } | null;

/** A soft bounce reported by an older worker while its send was still retrying. */
const RETRYING_REPORT: Blame = { counts: false, why: 'reported while the send was still retrying (an older worker): only a send that ends expired counts' };

/**
 * Applies one send outcome: a delivery resets the count; a send that ended `expired`
 * counts as failed when its deciding reply blames the address (src/reputation/blame.ts), and the
 * Nth failed send in a row suppresses; a hard bounce that blames the address suppresses at
 * once. Every outcome is remembered with whether it counted and why not. Returns the
 * suppression to write, or null. A repeated (event, messageId) changes nothing.
 */
export function applyOutcome(
  state: ReputationState,
  event: ReputationEventType,
  signal: ReputationSignal,
  settings: ReputationSettings,
  nowMs: number,
): ReputationEffect {
  const retryingReport = event === 'softBounced' && signal.scope === undefined;
  // A retrying report has its own key, so the same send's final outcome still counts.
  if (!firstSighting(state, `${retryingReport ? 'retrying' : event}:${signal.messageId}`, nowMs)) return null;
  state.lastEventAtMs = nowMs;
  const scope = signal.scope ?? replyScope({ ...signal.reply, category: signal.category });
  const blame = retryingReport ? RETRYING_REPORT : outcomeBlame({ kind: OUTCOME_KIND[event], category: signal.category, scope });
  if (!retryingReport) state.totals[event] += 1;
  remember(state, {
    type: event,
    at: new Date(nowMs).toISOString(),
    messageId: signal.messageId,
    category: signal.category,
    scope,
    counted: blame.counts,
    ...(blame.counts ? {} : { why: blame.why }),
  });
  if (!blame.counts) return null;
  // The blame rules already kept out the hard bounces that are not the address's fault.
  return countOutcome(state, event, signal, settings, nowMs, true);
}

/**
 * A counted outcome moves the count of failed sends in a row: a delivery resets it, a soft
 * bounce adds one. Returns the suppression it triggers, if any: a hard bounce that suppresses,
 * or the threshold reached.
 */
function countOutcome(state: ReputationState, event: ReputationEventType, signal: ReputationSignal, settings: ReputationSettings, nowMs: number, hardBounceSuppresses: boolean): ReputationEffect {
  if (event === 'delivered') {
    state.consecutiveSoftBounces = 0;
    return null;
  }
  if (event === 'softBounced') state.consecutiveSoftBounces += 1;
  if (isActive(state.suppression, nowMs)) return null;
  const reason: SuppressionReason | null =
    event === 'hardBounced' ? (hardBounceSuppresses ? 'hard_bounce' : null) : state.consecutiveSoftBounces >= settings.softBounceThreshold ? 'soft_bounce_threshold' : null;
  return reason ? suppress(state, automaticSuppression(reason, signal, settings, nowMs)) : null;
}

/** Records a deduplication key; false when it was seen within the window. */
function firstSighting(state: ReputationState, key: string, nowMs: number): boolean {
  if (state.seen.some(([k]) => k === key)) return false;
  state.seen.push([key, nowMs]);
  state.seen = state.seen.filter(([, at]) => nowMs - at <= DEDUP_WINDOW_MS).slice(-DEDUP_MAX_KEYS);
  return true;
}

function automaticSuppression(reason: SuppressionReason, signal: ReputationSignal, settings: ReputationSettings, nowMs: number): Suppression {
  const reply = [signal.reply.code, signal.reply.enhanced, signal.reply.text].filter((x) => x !== null && x !== '').join(' ');
  return {
    reason,
    category: signal.category,
    source: 'auto',
    messageId: signal.messageId,
    reply: reply || null,
    since: new Date(nowMs).toISOString(),
    until: new Date(nowMs + settings.suppressionDays * DAY_MS).toISOString(),
    actor: null,
    note: null,
  };
}

/**
 * The rules before scopes, kept only so that reputation workflows recorded under them replay
 * unchanged (the workflow picks them with `patched()`): every soft-bouncing send counted at its
 * first soft reply, and every hard bounce but the sender's problems suppressed.
 */
export function applyLegacyOutcome(
  state: ReputationState,
  event: ReputationEventType,
  signal: ReputationSignal,
  settings: ReputationSettings,
  nowMs: number,
): ReputationEffect {
  if (!firstSighting(state, `${event}:${signal.messageId}`, nowMs)) return null;
  state.totals[event] += 1;
  state.lastEventAtMs = nowMs;
  remember(state, { type: event, at: new Date(nowMs).toISOString(), messageId: signal.messageId, category: signal.category });
  return countOutcome(state, event, signal, settings, nowMs, hardBounceSuppresses(signal.category));
}

export function suppress(state: ReputationState, suppression: Suppression): ReputationEffect {
  state.suppression = suppression;
  remember(state, { type: 'suppressed', at: suppression.since, reason: suppression.reason, messageId: suppression.messageId ?? undefined, category: suppression.category ?? undefined, actor: suppression.actor });
  return { type: 'suppress', suppression };
}

/** Lifts the suppression (expiry or operator). The count starts again from zero. */
export function lift(state: ReputationState, reason: string, actor: string | null, nowMs: number): ReputationEffect {
  if (!state.suppression) return null;
  state.suppression = null;
  state.consecutiveSoftBounces = 0;
  const at = new Date(nowMs).toISOString();
  remember(state, { type: 'lifted', at, reason, actor });
  return { type: 'lift', reason, actor, at };
}
