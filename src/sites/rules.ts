// Rules that react to receivers' replies (README "Traffic shaping", Rules): a reply that says
// "you are sending too fast" suspends its site (or the recipient domain at it), or lowers the
// site's rate or connections, for a while, so that no worker goes on as before. Only replies a
// receiver gave count (they carry an SMTP code): Rebound's own deferrals of a suspended or
// throttled site have none, so a suspension cannot extend itself. Pure.
import type { RawReply } from '../delivery/contract';
import type { RuleScope, Site, SiteRule } from './contract';

export type { ReplyMatch, RuleAction, RuleScope, RuleThreshold, SiteRule } from './contract';

const MINUTE = 60_000;
const immediate = { kind: 'immediate' } as const;
const suspend = { kind: 'suspend' } as const;

/**
 * The shipped defaults, first match wins. Each is restricted to its provider's site: a
 * provider's code means something only from that provider (and a relay that passes on a
 * "421 4.7.28" from somewhere is not itself Gmail, so relay mode is never suspended by these).
 * Durations follow what the providers ask for in their postmaster pages: Gmail's 4.7.28 and
 * Yahoo's TSS04 clear within the hour, Outlook's RP codes are hourly limits, Exchange Online's
 * 4.7.500 "server busy" is short.
 */
export const DEFAULT_SITE_RULES: readonly SiteRule[] = [
  { name: 'gmail-421-4.7.28', match: { enhanced: /^4\.7\.28$/, site: 'google' }, scope: 'site', threshold: immediate, action: suspend, durationMs: 60 * MINUTE },
  // Gmail's "450 4.2.1 ... receiving mail at a rate that prevents additional messages".
  { name: 'gmail-450-4.2.1-rate', match: { code: 450, enhanced: /^4\.2\.1$/, text: /\brate\b/i, site: 'google' }, scope: 'site', threshold: immediate, action: suspend, durationMs: 15 * MINUTE },
  { name: 'yahoo-tss04', match: { text: /\bTSS04\b/, site: 'yahoo' }, scope: 'site', threshold: immediate, action: suspend, durationMs: 60 * MINUTE },
  { name: 'yahoo-tss05', match: { text: /\bTSS05\b/, site: 'yahoo' }, scope: 'site', threshold: immediate, action: suspend, durationMs: 120 * MINUTE },
  { name: 'outlook-rp-001-003', match: { text: /\bRP-00[1-3]\b/, site: 'microsoft' }, scope: 'site', threshold: immediate, action: suspend, durationMs: 60 * MINUTE },
  // Exchange Online throttling, "451 4.7.500-699 (ASxxx)": the sending IP is throttled.
  { name: 'microsoft-451-4.7.500', match: { code: 451, enhanced: /^4\.7\.(?:5\d\d|6\d\d)$/, site: 'microsoft' }, scope: 'site', threshold: immediate, action: suspend, durationMs: 15 * MINUTE },
];

/** The rules in the order they are tried: the file's first, then the shipped ones whose name the file did not reuse. */
export function mergeRules(fileRules: readonly SiteRule[], shippedRules: boolean, shipped: readonly SiteRule[] = DEFAULT_SITE_RULES): SiteRule[] {
  if (!shippedRules) return [...fileRules];
  const replaced = new Set(fileRules.map((r) => r.name));
  return [...fileRules, ...shipped.filter((r) => !replaced.has(r.name))];
}

/** Whether a receiver said it: an SMTP code, not a connection failure or a reply Rebound made. */
export function isReceiverReply(reply: RawReply): boolean {
  return reply.code !== null && !reply.errorCode;
}

export function ruleMatches(rule: SiteRule, reply: RawReply, site: Site): boolean {
  const m = rule.match;
  if (!isReceiverReply(reply)) return false;
  if (m.site !== undefined && m.site !== site) return false;
  if (m.code !== undefined && m.code !== reply.code) return false;
  if (m.enhanced && !m.enhanced.test(reply.enhanced ?? '')) return false;
  if (m.text && !m.text.test(reply.text ?? '')) return false;
  return m.enhanced !== undefined || m.text !== undefined || m.code !== undefined;
}

/** The reply as operators read it: "421 4.7.28 text". */
export function replyLine(reply: RawReply): string {
  return [reply.code, reply.enhanced, reply.text].filter((p) => p !== null && p !== undefined && p !== '').join(' ');
}

/** A rule a transaction's reply matched, and what it applies to. */
export interface RuleHit {
  rule: SiteRule;
  /** The reply that matched, as operators read it. */
  reply: string;
  scope: RuleScope;
  /** What the suspension or adjustment is keyed by: the site, or the recipient domain (scope domain). */
  key: string;
}

/**
 * The first rule any of a transaction's replies matches; null when none does. `domain` is the
 * recipient domain of the transaction (null in relay mode, where one transaction carries many
 * domains: a domain-scope rule then falls back to the site).
 */
export function ruleHit(site: Site, domain: string | null, replies: readonly RawReply[], rules: readonly SiteRule[] = DEFAULT_SITE_RULES): RuleHit | null {
  for (const rule of rules) {
    const reply = replies.find((r) => ruleMatches(rule, r, site));
    if (!reply) continue;
    // Connections are the site's, shared by every domain at it: an action on them is site-wide.
    const scope = rule.scope === 'domain' && domain && rule.action.kind !== 'connections' ? 'domain' : 'site';
    return { rule, reply: replyLine(reply), scope, key: scope === 'domain' ? domain! : site };
  }
  return null;
}

/** Whether a hit acts now: at once, or when the count of hits within the window (from PostgreSQL, this one included) reaches the threshold. */
export function thresholdReached(rule: SiteRule, hitsInWindow: number): boolean {
  return rule.threshold.kind === 'immediate' || hitsInWindow >= rule.threshold.count;
}
