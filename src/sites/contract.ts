// The sites contract (README "Traffic shaping"): what a site is, its limits, the rules that
// react to receivers' replies, what holds a site or a domain back, and what the API, the CLI,
// the dashboard and webhooks show of it. Imported by workers, the API, clients and tests; no I/O.

/** A site's name: a provider's ("google"), the MX host itself when no provider is known, or the relay's host in relay mode. */
export type Site = string;

/** What a rule's suspension or adjustment applies to: the whole site, or one recipient domain at it. */
export const RULE_SCOPES = ['site', 'domain'] as const;
export type RuleScope = (typeof RULE_SCOPES)[number];

/**
 * What one site may take from Rebound, across every worker process. Connections start at
 * `initialConnections` and grow to `connections` while the site answers well (Postfix's slow
 * start: initial_destination_concurrency 5, default_destination_concurrency_limit 20).
 */
export interface SiteLimits {
  /** Connections open at once to the site, all workers together. */
  connections: number;
  /** Where the connection limit starts before the site has answered well. */
  initialConnections: number;
  /** Messages sent over one connection before it is closed and a new one opened. */
  messagesPerConnection: number;
  /** Messages per minute to the site, all workers together; null: no cap. */
  messagesPerMinute: number | null;
}

/** What a reply must look like for a rule to match it. At least one of enhanced, text, code. */
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

/** When a rule acts: at the first matching reply, or at the count-th within the window. */
export type RuleThreshold = { kind: 'immediate' } | { kind: 'count'; count: number; windowMs: number };

/** What a rule does for its duration. */
export type RuleAction =
  | { kind: 'suspend' }
  | { kind: 'rate'; messagesPerMinute: number }
  | { kind: 'connections'; connections: number };

export interface SiteRule {
  name: string;
  match: ReplyMatch;
  scope: RuleScope;
  threshold: RuleThreshold;
  action: RuleAction;
  durationMs: number;
}

/** The configuration file's `sites:` section, parsed (README "Traffic shaping"). */
export interface ShapingConfig {
  /** Limits by site name, over the shipped table and the defaults. */
  limits: Record<Site, Partial<SiteLimits>>;
  /** The rules in the order they are tried: the file's first, then the shipped ones it did not replace. */
  rules: SiteRule[];
}

/** A suspension in force: no connection to the site (or to the domain at it) until `until`. */
export interface SiteSuspension {
  scope: RuleScope;
  /** The site, or the recipient domain when scope is domain. */
  site: Site;
  until: Date;
  /** The rule that matched, or "manual" for an operator's. */
  rule: string;
  /** The receiver's reply that matched, or an operator's note. */
  reply: string | null;
  createdAt: Date;
}

/** A rule's temporary change of a site's limits (action rate or connections). */
export interface SiteAdjustment {
  scope: RuleScope;
  site: Site;
  until: Date;
  connections: number | null;
  messagesPerMinute: number | null;
  rule: string;
  reply: string | null;
  createdAt: Date;
}

/** Webhook events about sites (README "Webhooks"). */
export const SITE_EVENT_TYPES = ['site.suspended', 'site.resumed'] as const;
export type SiteEventType = (typeof SITE_EVENT_TYPES)[number];

/** `data` of a site.* event. */
export interface SiteEventData {
  site: Site;
  scope: RuleScope;
  /** site.suspended: until when; site.resumed: when it reopened. */
  until: string;
  rule: string;
  reply: string | null;
  /** site.resumed: `expired` (its time ran out) or `manual` (an operator resumed it). */
  resumedBy?: 'expired' | 'manual';
}
