// Domain health as pure logic: windows, rates, verdicts, ranking and the checks of what callers
// ask for. No I/O: src/domains/store.ts reads the rollups, src/client/domains.ts puts both together.
import { ValidationError, quoteValue } from '../errors';
import { addressProblem } from '../message/address';
import { DELIVERY_WORKFLOW_TYPE, deliveryWorkflowId } from '../delivery/contract';
import { DOMAIN_SORTS, VERDICTS, type DomainHealth, type DomainListOptions, type DomainSort, type Verdict } from './contract';

/**
 * Verdict thresholds (README "Domain health"), for both rates: under `watch` is healthy, from `watch` to `bad`
 * inclusive is watch, over `bad` is bad.
 */
export const HEALTH_THRESHOLDS = { watch: 0.02, bad: 0.05 } as const;

export const DEFAULT_WINDOW = '24h';
export const MAX_WINDOW_HOURS = 30 * 24;
export const DEFAULT_LIST_LIMIT = 100;
export const MAX_LIST_LIMIT = 10_000;

/**
 * A window of whole hours: `hours` hourly buckets ending with the current one, so `1h` at 10:20
 * covers 10:00-10:20 and `24h` covers yesterday 11:00 until now.
 */
export interface HealthWindow {
  /** Normalised, e.g. `24h`, `7d`. */
  label: string;
  hours: number;
}

export function parseWindow(value: unknown): HealthWindow {
  const m = typeof value === 'string' ? /^\s*(\d{1,4})\s*([hd])\s*$/i.exec(value) : null;
  const n = m ? Number(m[1]) : 0;
  const unit = m ? m[2]!.toLowerCase() : 'h';
  const hours = unit === 'd' ? n * 24 : n;
  if (!m || n < 1 || hours > MAX_WINDOW_HOURS) {
    throw new ValidationError('window', `must be a whole number of hours or days from 1h to 30d, such as 1h, 24h or 7d; got ${quoteValue(value)}`);
  }
  return { label: `${n}${unit}`, hours };
}

/** part / whole, 0 when there is no whole. */
export function rate(part: number, whole: number): number {
  return whole > 0 ? part / whole : 0;
}

export function verdictOf(r: number): Verdict {
  if (r < HEALTH_THRESHOLDS.watch) return 'healthy';
  return r <= HEALTH_THRESHOLDS.bad ? 'watch' : 'bad';
}

export function worseVerdict(a: Verdict, b: Verdict): Verdict {
  return VERDICTS.indexOf(a) >= VERDICTS.indexOf(b) ? a : b;
}

/** A domain's sums over a window, as the rollups hold them. */
export interface DomainCounts {
  domain: string;
  attempts: number;
  sends: number;
  delivered: number;
  softRecipient: number;
  softDestination: number;
  softSender: number;
  softMessage: number;
  hard: number;
  expired: number;
}

export function zeroCounts(domain: string): DomainCounts {
  return { domain, attempts: 0, sends: 0, delivered: 0, softRecipient: 0, softDestination: 0, softSender: 0, softMessage: 0, hard: 0, expired: 0 };
}

export function domainHealth(c: DomainCounts, window: string): DomainHealth {
  const soft = { recipient: c.softRecipient, destination: c.softDestination, sender: c.softSender, message: c.softMessage };
  const total = soft.recipient + soft.destination + soft.sender + soft.message;
  const softBounceRate = rate(total, c.attempts);
  const hardBounceRate = rate(c.hard, c.sends);
  const softVerdict = verdictOf(softBounceRate);
  const hardVerdict = verdictOf(hardBounceRate);
  return {
    domain: c.domain,
    window,
    attempts: c.attempts,
    sends: c.sends,
    delivered: c.delivered,
    softBounces: { ...soft, total },
    hardBounces: c.hard,
    expired: c.expired,
    softBounceRate,
    hardBounceRate,
    verdict: worseVerdict(softVerdict, hardVerdict),
    softVerdict,
    hardVerdict,
  };
}

export interface ListQuery {
  window: HealthWindow;
  sort: DomainSort;
  limit: number;
  verdict: Verdict | null;
}

/** The list options checked and completed with their defaults; a ValidationError names the bad one. */
export function listQuery(opts: DomainListOptions): ListQuery {
  const { sort = 'volume', limit = DEFAULT_LIST_LIMIT, verdict } = opts;
  if (!DOMAIN_SORTS.includes(sort)) throw new ValidationError('sort', `must be one of ${DOMAIN_SORTS.join(', ')}; got ${quoteValue(sort)}`);
  if (!(Number.isInteger(limit) && limit >= 1 && limit <= MAX_LIST_LIMIT)) {
    throw new ValidationError('limit', `must be an integer from 1 to ${MAX_LIST_LIMIT}; got ${quoteValue(limit)}`);
  }
  if (verdict !== undefined && !VERDICTS.includes(verdict)) throw new ValidationError('verdict', `must be one of ${VERDICTS.join(', ')}; got ${quoteValue(verdict)}`);
  return { window: parseWindow(opts.window ?? DEFAULT_WINDOW), sort, limit, verdict: verdict ?? null };
}

/** The worse of a domain's two rates: what `rate` sorts by (the verdict follows the same order). */
const worstRate = (h: DomainHealth): number => Math.max(h.softBounceRate, h.hardBounceRate);
const byName = (a: DomainHealth, b: DomainHealth): number => (a.domain < b.domain ? -1 : a.domain > b.domain ? 1 : 0);
const byVolume = (a: DomainHealth, b: DomainHealth): number => b.attempts - a.attempts || byName(a, b);
const COMPARE: Record<DomainSort, (a: DomainHealth, b: DomainHealth) => number> = {
  rate: (a, b) => worstRate(b) - worstRate(a) || byVolume(a, b),
  volume: byVolume,
  domain: byName,
};

/** Filters by verdict, sorts (ties: more attempts first, then by name) and keeps the first `limit`. */
export function rankDomains(list: DomainHealth[], q: Pick<ListQuery, 'sort' | 'limit' | 'verdict'>): DomainHealth[] {
  return list
    .filter((h) => q.verdict === null || h.verdict === q.verdict)
    .sort(COMPARE[q.sort])
    .slice(0, q.limit);
}

/** A domain as the caller wrote it, trimmed and lower-cased like recipient addresses; ValidationError naming `domain`. */
export function checkedDomain(value: unknown): string {
  const domain = typeof value === 'string' ? value.trim().toLowerCase() : '';
  if (domain === '') throw new ValidationError('domain', `must be a domain name such as example.org; got ${quoteValue(value)}`);
  if (domain.includes('@')) throw new ValidationError('domain', `give the domain only, without "@", e.g. example.org; got ${quoteValue(value)}`);
  // A recipient domain is whatever makes a valid address: the address rules decide.
  const problem = addressProblem(`postmaster@${domain}`);
  if (problem) throw new ValidationError('domain', problem);
  return domain;
}

/** A string literal of Temporal's visibility query language. */
const visibilityString = (s: string): string => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/** The delivery workflows to a domain that are waiting for their next attempt (the DeliveryState and RecipientDomains search attributes). */
export function retryingQuery(domain: string): string {
  return `WorkflowType = ${visibilityString(DELIVERY_WORKFLOW_TYPE)} AND RecipientDomains = ${visibilityString(domain)} AND DeliveryState = "retrying"`;
}

const DELIVERY_PREFIX = deliveryWorkflowId('');

export function messageIdOfWorkflow(workflowId: string): string {
  return workflowId.startsWith(DELIVERY_PREFIX) ? workflowId.slice(DELIVERY_PREFIX.length) : workflowId;
}
