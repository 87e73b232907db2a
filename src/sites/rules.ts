// Rules that react to receivers' replies (README "Traffic shaping"): a reply that says "you
// are sending too fast" suspends its site for a while, so no worker connects to it until then.
// Only replies a receiver gave count (they carry an SMTP code): Rebound's own deferrals of a
// suspended site have none, so a suspension cannot extend itself. Pure.
import type { RawReply } from '../delivery/contract';
import type { Site } from './policy';

/** What a rule does when it matches; this slice only suspends. */
export type SiteAction = 'suspend';

export interface ReplyMatch {
  /** On the enhanced status code (RFC 3463), e.g. /^4\.7\.28$/. */
  enhanced?: RegExp;
  /** On the reply text (without the codes). */
  text?: RegExp;
  /** The basic code, when the rule is about one (e.g. 451). */
  code?: number;
  /** Only replies from this site (a provider's own wording means nothing elsewhere). */
  site?: Site;
}

export interface SiteRule {
  name: string;
  match: ReplyMatch;
  action: SiteAction;
  durationMs: number;
}

const MINUTE = 60_000;

/**
 * The shipped defaults, first match wins. Durations follow what the providers ask for in their
 * postmaster pages: Gmail's 4.7.28 and Yahoo's TSS04 clear within the hour, Outlook's RP codes
 * are hourly limits, Exchange Online's 4.7.500 "server busy" is short.
 */
export const DEFAULT_SITE_RULES: readonly SiteRule[] = [
  { name: 'gmail-421-4.7.28', match: { enhanced: /^4\.7\.28$/ }, action: 'suspend', durationMs: 60 * MINUTE },
  // Gmail's "450 4.2.1 ... receiving mail at a rate that prevents additional messages".
  { name: 'gmail-450-4.2.1-rate', match: { code: 450, enhanced: /^4\.2\.1$/, text: /\brate\b/i, site: 'google' }, action: 'suspend', durationMs: 15 * MINUTE },
  { name: 'yahoo-tss04', match: { text: /\bTSS04\b/ }, action: 'suspend', durationMs: 60 * MINUTE },
  { name: 'yahoo-tss05', match: { text: /\bTSS05\b/ }, action: 'suspend', durationMs: 120 * MINUTE },
  { name: 'outlook-rp-001-003', match: { text: /\bRP-00[1-3]\b/ }, action: 'suspend', durationMs: 60 * MINUTE },
  // Exchange Online throttling, "451 4.7.500-699 (ASxxx)": the sending IP is throttled.
  { name: 'microsoft-451-4.7.500', match: { code: 451, enhanced: /^4\.7\.(?:5\d\d|6\d\d)$/ }, action: 'suspend', durationMs: 15 * MINUTE },
];

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

/** A suspension to write: the rule and the reply that asked for it. */
export interface SuspensionOrder {
  site: Site;
  rule: string;
  reply: string;
  durationMs: number;
}

/** The reply as operators read it: "421 4.7.28 text". */
export function replyLine(reply: RawReply): string {
  return [reply.code, reply.enhanced, reply.text].filter((p) => p !== null && p !== undefined && p !== '').join(' ');
}

/** The first rule any of a transaction's replies matches, as an order to suspend; null when none does. */
export function suspensionFor(site: Site, replies: readonly RawReply[], rules: readonly SiteRule[] = DEFAULT_SITE_RULES): SuspensionOrder | null {
  for (const rule of rules) {
    const reply = replies.find((r) => ruleMatches(rule, r, site));
    if (reply) return { site, rule: rule.name, reply: replyLine(reply), durationMs: rule.durationMs };
  }
  return null;
}
