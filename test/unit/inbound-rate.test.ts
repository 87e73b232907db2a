// The inbound listener's per-client message rate: fixed one-minute windows, a bounded table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClientRateLimiter, clientKey } from '../../src/bounces/inbound-rate';

/** Takes one message per entry [client, at ms] and returns what was allowed, as 1 and 0. */
function run(limiter: ClientRateLimiter, takes: [string, number][]): string {
  return takes.map(([client, at]) => (limiter.take(client, at) ? '1' : '0')).join('');
}

const WINDOWS: [string, number, [string, number][], string][] = [
  ['up to the limit, then refused', 3, [['a', 0], ['a', 1], ['a', 2], ['a', 3], ['a', 59_999]], '11100'],
  ['a new window a minute after the first message', 2, [['a', 0], ['a', 10], ['a', 20], ['a', 60_000], ['a', 60_001], ['a', 60_002]], '110110'],
  ['clients are counted apart', 1, [['a', 0], ['b', 0], ['a', 1], ['b', 1], ['c', 2]], '11001'],
  ['refused messages are not counted', 2, [['a', 0], ['a', 1], ['a', 2], ['a', 3], ['a', 60_000], ['a', 60_001]], '110011'],
];

for (const [name, limit, takes, expected] of WINDOWS) {
  test(`rate: ${name}`, () => {
    assert.equal(run(new ClientRateLimiter({ limit }), takes), expected);
  });
}

test('the table holds at most maxClients addresses: ended windows go first, then the oldest', () => {
  const limiter = new ClientRateLimiter({ limit: 1, maxClients: 3 });
  assert.equal(run(limiter, [['a', 0], ['b', 30_000], ['c', 40_000]]), '111');
  // a's window is over at 60 000: it goes, b and c stay (and are still refused)
  assert.equal(run(limiter, [['d', 60_000], ['b', 60_001], ['c', 60_002]]), '100');
  assert.equal(limiter.size, 3);
  // all windows live: the oldest (b) goes to make room for e, so b starts afresh
  assert.equal(run(limiter, [['e', 60_003], ['b', 60_004]]), '11');
  assert.equal(limiter.size, 3);
});

test('a limit that is not a positive whole number is refused, naming it', () => {
  for (const limit of [0, -1, 1.5, Number.NaN]) assert.throws(() => new ClientRateLimiter({ limit }), /rate limit must be a positive whole number/);
});

const KEYS: [string, string][] = [
  ['192.0.2.7', '192.0.2.7'],
  ['::ffff:192.0.2.7', '192.0.2.7'],
  ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
  ['2001:db8:1:2::99', '2001:db8:1:2::/64'],
  ['2001:DB8:0001:0002:ffff::1', '2001:db8:1:2::/64'],
  ['2001:db8::1', '2001:db8:0:0::/64'],
  ['::1', '0:0:0:0::/64'],
  ['fe80::1%eth0', 'fe80:0:0:0::/64'],
];

for (const [address, key] of KEYS) {
  test(`client key of ${address}`, () => {
    assert.equal(clientKey(address), key);
  });
}
