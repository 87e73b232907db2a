// The API's request log names routes, not the addresses they were called for.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { redactAddresses } from '../../src/api/request-log';

test('request log: addresses in the path and in query values are redacted, everything else kept', () => {
  const cases: [string, string][] = [
    ['/v1/suppressions/alice%40example.org', '/v1/suppressions/<redacted>'],
    ['/v1/suppressions/alice@example.org', '/v1/suppressions/<redacted>'],
    ['/v1/addresses/Bob%2Btag%40Example.org?x=1', '/v1/addresses/<redacted>?x=1'],
    ['/v1/suppressions?address=carol%40example.org&limit=10', '/v1/suppressions?address=<redacted>&limit=10'],
    ['/v1/suppressions?limit=10&reason=manual', '/v1/suppressions?limit=10&reason=manual'],
    ['/v1/messages/order-1234/cancel', '/v1/messages/order-1234/cancel'],
    ['/v1/domains/example.org', '/v1/domains/example.org'],
    ['/healthz', '/healthz'],
  ];
  for (const [url, expected] of cases) assert.equal(redactAddresses(url), expected, url);
});
