// What one recorded attempt adds to the per-site metrics (README "Metrics", sites): a pure
// mapping from its replies and where each came from (the attempt log's site and error code) to
// increments. A reply Rebound made itself because the site was suspended or had no room
// (ESITESUSPENDED, ESITETHROTTLED) is a deferral held back, not an attempt at the site; a reply
// without a site (an earlier run's acceptance, a sender that does not know it) counts nothing here.
import type { AttemptReply, ReplyKind } from '../delivery/contract';
import type { HeldBackReason } from './contract';

/** The error codes of the deferrals traffic shaping makes (src/sites/deferral.ts and the gate's). */
export const HELD_BACK_CODES: Readonly<Record<string, HeldBackReason>> = { ESITESUSPENDED: 'suspended', ESITETHROTTLED: 'throttled' };

export type SiteIncrement =
  | { metric: 'siteAttempts'; labels: { site: string; kind: ReplyKind } }
  | { metric: 'siteHeldBack'; labels: { site: string; reason: HeldBackReason } };

/** Answers the label a site is counted under (a bounded set, like recipient domains). */
export type SiteLabeller = (site: string) => string;

export function siteIncrements(replies: readonly Pick<AttemptReply, 'address' | 'kind'>[], sites: Readonly<Record<string, { site?: string | null; errorCode?: string | null }>>, label: SiteLabeller): SiteIncrement[] {
  const out: SiteIncrement[] = [];
  for (const r of replies) {
    const where = Object.hasOwn(sites, r.address) ? sites[r.address] : undefined;
    if (!where?.site) continue;
    const held = where.errorCode && Object.hasOwn(HELD_BACK_CODES, where.errorCode) ? HELD_BACK_CODES[where.errorCode] : null;
    const site = label(where.site);
    out.push(held ? { metric: 'siteHeldBack', labels: { site, reason: held } } : { metric: 'siteAttempts', labels: { site, kind: r.kind } });
  }
  return out;
}
