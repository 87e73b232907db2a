import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkResolvedHost, guardedLookup, RefusedAddressError } from '../../src/webhooks/resolve';
import { checkWebhookUrl, parseIpv6, privateAddressRange } from '../../src/webhooks/url-policy';

test('IP addresses: which are inside the network', () => {
  const cases: [string, 'private' | 'public'][] = [
    ['127.0.0.1', 'private'],
    ['127.255.1.2', 'private'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['172.32.0.1', 'public'],
    ['172.15.0.1', 'public'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'private'],
    ['100.64.0.1', 'private'],
    ['100.127.255.255', 'private'],
    ['100.128.0.1', 'public'],
    ['0.0.0.0', 'private'],
    ['224.0.0.1', 'private'],
    ['255.255.255.255', 'private'],
    ['198.18.0.1', 'private'],
    ['8.8.8.8', 'public'],
    ['93.184.216.34', 'public'],
    ['::1', 'private'],
    ['::', 'private'],
    ['[::1]', 'private'],
    ['fe80::1', 'private'],
    ['fe80::1%eth0', 'private'],
    ['fc00::1', 'private'],
    ['fd00:ec2::254', 'private'],
    ['ff02::1', 'private'],
    ['::ffff:127.0.0.1', 'private'],
    ['::ffff:7f00:1', 'private'],
    ['::ffff:10.0.0.1', 'private'],
    ['::ffff:8.8.8.8', 'public'],
    ['::127.0.0.1', 'private'],
    ['64:ff9b::a9fe:a9fe', 'private'],
    ['64:ff9b::8.8.8.8', 'public'],
    ['2001:db8::1', 'private'],
    ['::ffff:0:127.0.0.1', 'private'],
    ['::ffff:0:8.8.8.8', 'public'],
    ['64:ff9b:1::a00:1', 'private'],
    ['2002:7f00:1::1', 'private'],
    ['2002:a9fe:a9fe::', 'private'],
    ['2002:808:808::1', 'public'],
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'private'],
    ['fec0::1', 'private'],
    ['2606:4700:4700::1111', 'public'],
    ['2a00:1450:4001:80b::200e', 'public'],
  ];
  for (const [ip, expected] of cases) {
    const range = privateAddressRange(ip);
    assert.notEqual(range, undefined, `${ip} parses as an IP address`);
    assert.equal(range === null ? 'public' : 'private', expected, `${ip}: ${range}`);
  }
  for (const notIp of ['example.com', '1.2.3', '1.2.3.256', '1::2::3', '12345::', 'hooks.example.org']) assert.equal(privateAddressRange(notIp), undefined, notIp);
});

test('IPv6 parsing expands :: and an IPv4 tail', () => {
  assert.deepEqual(parseIpv6('::1'), [0, 0, 0, 0, 0, 0, 0, 1]);
  assert.deepEqual(parseIpv6('2001:db8::8:800:200c:417a'), [0x2001, 0xdb8, 0, 0, 0x8, 0x800, 0x200c, 0x417a]);
  assert.deepEqual(parseIpv6('::ffff:1.2.3.4'), [0, 0, 0, 0, 0, 0xffff, 0x102, 0x304]);
  assert.deepEqual(parseIpv6('1:2:3:4:5:6:7:8'), [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.equal(parseIpv6('1:2:3:4:5:6:7:8:9'), null);
  assert.equal(parseIpv6('1:2:3:4:5:6:7::8'), null);
});

test('webhook URLs: http(s) only, private hosts refused unless allowed, names left to DNS', () => {
  const cases: [url: string, allowPrivate: boolean, expected: RegExp | { hostName: string | null }][] = [
    ['https://hooks.example.com/rebound', false, { hostName: 'hooks.example.com' }],
    ['http://hooks.example.com:8080/x?y=1', false, { hostName: 'hooks.example.com' }],
    ['https://8.8.8.8/hook', false, { hostName: null }],
    ['https://[2606:4700:4700::1111]/hook', false, { hostName: null }],
    ['ftp://hooks.example.com/', false, /http or https, not ftp/],
    ['file:///etc/passwd', false, /http or https/],
    ['javascript:alert(1)', false, /http or https/],
    ['not a url', false, /is not a URL/],
    ['', false, /http or https URL/],
    ['https://user:pw@hooks.example.com/', false, /user name or password/],
    ['http://127.0.0.1:3000/hook', false, /loopback.*REBOUND_WEBHOOKS_ALLOW_PRIVATE/],
    ['http://127.0.0.1:3000/hook', true, { hostName: null }],
    ['http://localhost:3000/', false, /loopback/],
    ['http://api.localhost/', false, /loopback/],
    ['http://localhost:3000/', true, { hostName: 'localhost' }],
    ['http://2130706433/', false, /loopback/], // 127.0.0.1 in decimal
    ['http://0x7f.1/', false, /loopback/],
    ['http://10.0.0.5/', false, /private \(10/],
    ['http://169.254.169.254/latest/meta-data/', false, /metadata/],
    ['http://100.64.1.1/', false, /CGNAT/],
    ['http://[::1]/', false, /loopback/],
    ['http://[::ffff:127.0.0.1]/', false, /loopback/],
    ['http://[fd00:ec2::254]/', false, /unique-local/],
    ['http://[fe80::1]/', false, /link-local/],
    ['http://0.0.0.0/', false, /unspecified/],
    [`https://example.com/${'a'.repeat(2000)}`, false, /at most 2000/],
    // Every spelling of an address inside the network, as WHATWG parsing normalises it.
    ['http://0177.0.0.1/', false, /loopback/], // octal
    ['http://0x7f000001/', false, /loopback/], // one hexadecimal number
    ['http://017700000001/', false, /loopback/], // one octal number
    ['http://127.1/', false, /loopback/], // two parts
    ['http://0/', false, /unspecified/],
    ['http://[::]/', false, /unspecified/],
    ['http://169.254.169.254./latest/meta-data/', false, /metadata/], // a trailing dot
    ['http://0251.0376.0251.0376/', false, /metadata/], // 169.254.169.254 in octal
    ['http://2852039166/', false, /metadata/], // 169.254.169.254 in decimal
    ['http://[::ffff:169.254.169.254]/', false, /metadata/],
    ['http://[::ffff:a9fe:a9fe]/', false, /metadata/],
    ['http://[0:0:0:0:0:ffff:7f00:1]/', false, /loopback/],
    ['http://[fc00::1]/', false, /unique-local/],
    ['http://[fe80::1%25eth0]/', false, /is not a URL|link-local/],
    ['http://[2002:7f00:1::1]/', false, /loopback.*6to4/],
    ['http://172.16.0.1/', false, /private \(172\.16/],
    ['http://172.31.255.254/', false, /private \(172\.16/],
    ['http://192.168.0.1/', false, /private \(192\.168/],
    ['http://LOCALHOST./', false, /loopback/],
    ['http://foo.localhost./', false, /loopback/],
    ['http://172.32.0.1/', false, { hostName: null }],
    ['http://[2002:808:808::1]/', false, { hostName: null }],
  ];
  for (const [url, allowPrivate, expected] of cases) {
    if (expected instanceof RegExp) {
      assert.throws(() => checkWebhookUrl(url, allowPrivate), expected, url);
    } else {
      assert.equal(checkWebhookUrl(url, allowPrivate).hostName, expected.hostName, url);
    }
  }
});

test('webhook host names: one that resolves inside the network is refused, at registration and by the lookup a try connects with', async () => {
  // localhost resolves to loopback on every machine: through the resolver, not the name rule.
  await assert.rejects(checkResolvedHost('localhost', false), /localhost resolves to (127\.0\.0\.1|::1), which is loopback.*REBOUND_WEBHOOKS_ALLOW_PRIVATE/);
  await checkResolvedHost('localhost', true);
  await assert.rejects(checkResolvedHost('no-such-host.invalid', true), /does not resolve/);
  const lookup = (allowPrivate: boolean) =>
    new Promise<{ err: NodeJS.ErrnoException | null; address: unknown }>((resolve) =>
      (guardedLookup(allowPrivate) as unknown as (h: string, o: object, cb: (err: NodeJS.ErrnoException | null, address?: unknown) => void) => void)('localhost', {}, (err, address) => resolve({ err, address })),
    );
  const refused = await lookup(false);
  assert.ok(refused.err instanceof RefusedAddressError, String(refused.err));
  assert.equal(refused.err.code, 'EREFUSEDADDRESS');
  const allowed = await lookup(true);
  assert.equal(allowed.err, null);
  assert.match(String(allowed.address), /^(127\.0\.0\.1|::1)$/);
});
