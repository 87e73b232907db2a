// Which MTA-STS policy applies (RFC 8461 sections 3.3 and 5.1): fetched only when the TXT id
// changed or the cached policy expired; an unexpired policy outlives a missing TXT record and a
// failed fetch; a failed fetch is not retried at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FAILED_FETCH_BACKOFF_MS, afterFetch, policyAfter, policyStep, type CacheEntry, type StsRecord } from '../../src/smtp/direct/mta-sts-cache';
import type { MtaStsPolicy } from '../../src/smtp/direct/tls-policy';

const NOW = 1_000_000_000;
const P1: MtaStsPolicy = { id: 'one', mode: 'enforce', mx: ['mx.example.org'], maxAgeSeconds: 3600 };
const fresh: CacheEntry = { cached: { policy: P1, expiresAt: NOW + 1000 }, failed: null };
const expired: CacheEntry = { cached: { policy: P1, expiresAt: NOW - 1 }, failed: null };
const empty: CacheEntry = { cached: null, failed: null };
const failedTwo: CacheEntry = { cached: null, failed: { id: 'two', retryAt: NOW + 1000 } };
const failedTwoLongAgo: CacheEntry = { cached: null, failed: { id: 'two', retryAt: NOW - 1 } };

const id = (value: string): StsRecord => ({ kind: 'id', id: value });

test('policyStep: use the cache, or fetch', () => {
  const cases: [string, StsRecord, CacheEntry, ReturnType<typeof policyStep>][] = [
    ['nothing published, nothing cached', { kind: 'none' }, empty, { kind: 'use', policy: null }],
    ['same id, unexpired: cached', id('one'), fresh, { kind: 'use', policy: P1 }],
    ['new id: fetch', id('two'), fresh, { kind: 'fetch', id: 'two' }],
    ['same id, expired: fetch', id('one'), expired, { kind: 'fetch', id: 'one' }],
    ['first sight: fetch', id('one'), empty, { kind: 'fetch', id: 'one' }],
    ['TXT gone, unexpired: still the cached policy', { kind: 'none' }, fresh, { kind: 'use', policy: P1 }],
    ['TXT lookup failed, unexpired: cached', { kind: 'failed', errorCode: 'ESERVFAIL' }, fresh, { kind: 'use', policy: P1 }],
    ['TXT gone, expired: none', { kind: 'none' }, expired, { kind: 'use', policy: null }],
    ['fetch of this id failed recently: not again yet', id('two'), failedTwo, { kind: 'use', policy: null }],
    ['fetch of this id failed long ago: again', id('two'), failedTwoLongAgo, { kind: 'fetch', id: 'two' }],
    ['a failed fetch of another id does not hold back a new one', id('three'), failedTwo, { kind: 'fetch', id: 'three' }],
  ];
  for (const [name, record, entry, expected] of cases) assert.deepEqual(policyStep(record, entry, NOW), expected, name);
});

test('afterFetch: a new policy replaces the entry; a failure keeps the unexpired one and backs off', () => {
  const P2: MtaStsPolicy = { ...P1, id: 'two', maxAgeSeconds: 60 };
  const cases: [string, CacheEntry, MtaStsPolicy | null, CacheEntry, MtaStsPolicy | null][] = [
    ['fetched', fresh, P2, { cached: { policy: P2, expiresAt: NOW + 60_000 }, failed: null }, P2],
    ['failed, cached unexpired', fresh, null, { cached: fresh.cached, failed: { id: 'two', retryAt: NOW + FAILED_FETCH_BACKOFF_MS } }, P1],
    ['failed, nothing cached', empty, null, { cached: null, failed: { id: 'two', retryAt: NOW + FAILED_FETCH_BACKOFF_MS } }, null],
    ['failed, cached expired', expired, null, { cached: expired.cached, failed: { id: 'two', retryAt: NOW + FAILED_FETCH_BACKOFF_MS } }, null],
  ];
  for (const [name, entry, fetched, next, applies] of cases) {
    const after = afterFetch(entry, 'two', fetched, NOW);
    assert.deepEqual(after, next, name);
    assert.deepEqual(policyAfter(after, NOW), applies, name);
  }
});
