// Which MTA-STS policy applies to a domain now, from what the `_mta-sts` TXT lookup said and
// the policy cached for the domain (RFC 8461 sections 3.3 and 5.1): a policy is fetched again
// only when the TXT record's id changed or the cached policy expired, and an unexpired cached
// policy outlives a missing TXT record or a failed fetch, so an attacker who strips the DNS
// record or blocks the HTTPS fetch cannot downgrade the domain. Pure; the cache lives in memory,
// one per worker process (README "Direct delivery", MTA-STS).
import type { MtaStsPolicy } from './tls-policy';

/** What the `_mta-sts.<domain>` TXT lookup found. */
export type StsRecord = { kind: 'id'; id: string } | { kind: 'none' } | { kind: 'failed'; errorCode: string };

export interface CachedPolicy {
  policy: MtaStsPolicy;
  /** ms since the epoch: fetched at + max_age. */
  expiresAt: number;
}

/** A fetch that failed for this id: not tried again before `retryAt`. */
export interface FailedFetch {
  id: string;
  retryAt: number;
}

export interface CacheEntry {
  cached: CachedPolicy | null;
  failed: FailedFetch | null;
}

/** What to do: use this policy (or none), or fetch the policy of this id. */
export type PolicyStep = { kind: 'use'; policy: MtaStsPolicy | null } | { kind: 'fetch'; id: string };

/** How long a failed fetch keeps the domain at "no policy" before it is tried again. */
export const FAILED_FETCH_BACKOFF_MS = 5 * 60_000;

const unexpired = (entry: CacheEntry, now: number): MtaStsPolicy | null => (entry.cached && entry.cached.expiresAt > now ? entry.cached.policy : null);

export function policyStep(record: StsRecord, entry: CacheEntry, now: number): PolicyStep {
  const current = unexpired(entry, now);
  if (record.kind !== 'id') return { kind: 'use', policy: current };
  if (current && current.id === record.id) return { kind: 'use', policy: current };
  if (entry.failed && entry.failed.id === record.id && entry.failed.retryAt > now) return { kind: 'use', policy: current };
  return { kind: 'fetch', id: record.id };
}

/** The entry after a fetch: the new policy, or (it failed) the old entry with the failure noted. */
export function afterFetch(entry: CacheEntry, id: string, fetched: MtaStsPolicy | null, now: number): CacheEntry {
  if (fetched) return { cached: { policy: fetched, expiresAt: now + fetched.maxAgeSeconds * 1000 }, failed: null };
  return { cached: entry.cached, failed: { id, retryAt: now + FAILED_FETCH_BACKOFF_MS } };
}

/** The policy after a fetch: the fetched one, else whatever unexpired policy was cached. */
export function policyAfter(entry: CacheEntry, now: number): MtaStsPolicy | null {
  return unexpired(entry, now);
}
