// The reply every recipient of a suspended site gets instead of an SMTP attempt (README
// "Traffic shaping"). It has no SMTP code, so the classifier makes it a soft network_error of
// destination scope (nobody's reputation) and the rules never match it; its "try again in N
// seconds" is the wait hint the retry schedule honours. Pure.
import type { RawReply } from '../delivery/contract';
import type { SiteSuspension } from './contract';

export type { SiteSuspension } from './contract';

/** The errorCode of a deferral made because the site is suspended. */
export const SITE_SUSPENDED = 'ESITESUSPENDED';

/** Spread after the reopening: a tenth of the wait, at least 1 s and at most 5 min. */
export const SPREAD_RATIO = 0.1;
export const SPREAD_MIN_MS = 1_000;
export const SPREAD_MAX_MS = 300_000;

/**
 * How long a recipient should wait: until the site reopens, plus a random share of the spread
 * so that the messages held back do not all come back in the same second.
 */
export function waitMs(suspension: SiteSuspension, nowMs: number, random: () => number): number {
  const remaining = Math.max(0, suspension.until.getTime() - nowMs);
  const spread = Math.min(SPREAD_MAX_MS, Math.max(SPREAD_MIN_MS, remaining * SPREAD_RATIO));
  return remaining + Math.floor(Math.min(Math.max(random(), 0), 1) * spread);
}

/**
 * The deferral. The wait hint comes before the receiver's reply on purpose: parseWaitHint takes
 * the first hint in the text, and the receiver's own ("try again in 1 minute") is not the one.
 */
export function suspendedReply(suspension: SiteSuspension, nowMs: number, random: () => number): RawReply {
  const seconds = Math.max(1, Math.ceil(waitMs(suspension, nowMs, random) / 1_000));
  const cause = suspension.reply ? `; after: ${suspension.reply}` : '';
  return {
    code: null,
    enhanced: null,
    text: `${suspension.scope === 'domain' ? 'domain' : 'site'} ${suspension.site} suspended until ${suspension.until.toISOString()} by rule ${suspension.rule}; try again in ${seconds} seconds${cause}`,
    errorCode: SITE_SUSPENDED,
  };
}

/** The errorCode of a deferral made because the site's (or the domain's) messages per minute are used up for now. */
export const SITE_THROTTLED = 'ESITETHROTTLED';

/**
 * The deferral of a message whose pace slot is further away than a send may wait in the
 * activity (limits.ts MAX_PACE_WAIT_MS). Like a suspension's: no SMTP code (a soft network_error
 * of destination scope, nobody's reputation, no rule matches it), with a wait hint covering the
 * backlog plus a spread.
 */
export function throttledReply(scope: 'site' | 'domain', key: string, messagesPerMinute: number, backlogMs: number, random: () => number): RawReply {
  const spread = Math.min(SPREAD_MAX_MS, Math.max(SPREAD_MIN_MS, backlogMs * SPREAD_RATIO));
  const seconds = Math.max(1, Math.ceil((Math.max(0, backlogMs) + Math.floor(Math.min(Math.max(random(), 0), 1) * spread)) / 1_000));
  return {
    code: null,
    enhanced: null,
    text: `${scope} ${key} throttled to ${messagesPerMinute} per minute; try again in ${seconds} seconds`,
    errorCode: SITE_THROTTLED,
  };
}

/** The errorCode when every connection a site allows is open (all workers together) and none came free in time. */
export const SITE_BUSY = 'ESITEBUSY';
