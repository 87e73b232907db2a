// What `rebound domains`, `rebound domain <domain>` and `rebound.domains` return: the health of
// recipient domains over a window of whole hours (README "Domain health").
import type { ReplyKind, ReplyScope } from '../delivery/contract';

export const VERDICTS = ['healthy', 'watch', 'bad'] as const;
export type Verdict = (typeof VERDICTS)[number];

export const DOMAIN_SORTS = ['rate', 'volume', 'domain'] as const;
/** `rate`: worst of the two rates first; `volume`: most attempts first; `domain`: by name. */
export type DomainSort = (typeof DOMAIN_SORTS)[number];

export interface SoftBounces {
  recipient: number;
  destination: number;
  sender: number;
  message: number;
  total: number;
}

export interface DomainHealth {
  domain: string;
  /** The window as asked for, e.g. `24h`. */
  window: string;
  /** Attempt rows: one per recipient per SMTP transaction. */
  attempts: number;
  /** Recipients' first attempts of a message: retries of a message are the same send. */
  sends: number;
  delivered: number;
  /** Soft replies by whom they were about (the reply's scope). */
  softBounces: SoftBounces;
  hardBounces: number;
  /** Recipients whose send ended expired (soft until the deadline). */
  expired: number;
  /** Soft replies / attempts, 0..1: a deferral rate, as MTAs report it. */
  softBounceRate: number;
  /** Hard bounces / sends, 0..1: a bounce rate, as ESPs report it. */
  hardBounceRate: number;
  /** The worse of the two verdicts. */
  verdict: Verdict;
  softVerdict: Verdict;
  hardVerdict: Verdict;
}

export interface TopReply {
  kind: Exclude<ReplyKind, 'delivered'>;
  category: string;
  scope: ReplyScope;
  code: number | null;
  enhanced: string | null;
  /** The first reply text seen for this kind, category, scope and codes in the window. */
  sample: string;
  count: number;
}

export interface RetryingMessage {
  messageId: string;
  workflowId: string;
}

export interface DomainDetail extends DomainHealth {
  /** The most frequent non-delivered replies in the window, most frequent first. */
  topReplies: TopReply[];
  /** Up to 20 messages to the domain retrying now (Temporal visibility); null when Temporal is unreachable. */
  retrying: RetryingMessage[] | null;
  /** Why `retrying` is null; null otherwise. */
  retryingError: string | null;
}

export interface DomainListOptions {
  /** `Nh` or `Nd`, up to 30 days; default `24h`. */
  window?: string;
  /** Default `volume`. */
  sort?: DomainSort;
  /** 1 to 10,000; default 100. */
  limit?: number;
  /** Only domains with this verdict. */
  verdict?: Verdict;
}
