// The webhook URL rule on real requests (README "Webhooks", URLs): a try to a loopback or
// private receiver is refused before anything is sent unless REBOUND_WEBHOOKS_ALLOW_PRIVATE;
// a name that resolves inside is refused by the lookup the request connects with; a redirect
// is an answer, never followed, so a public receiver cannot bounce a try to an inside address.
// Real HTTP servers on 127.0.0.1 and port 0; postWebhook is what the webhook activity calls.
import assert from 'node:assert/strict';
import { promises as dns } from 'node:dns';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { after, before, describe, test } from 'node:test';
import { decideAnswer } from '../../src/webhooks/answer';
import { postWebhook } from '../../src/webhooks/post';
import { privateAddressRange } from '../../src/webhooks/url-policy';

interface Receiver {
  server: http.Server;
  port: number;
  hits: { url: string; headers: http.IncomingHttpHeaders }[];
}

async function receiver(answer: (req: http.IncomingMessage, res: http.ServerResponse) => void): Promise<Receiver> {
  const hits: Receiver['hits'] = [];
  const server = http.createServer((req, res) => {
    hits.push({ url: req.url ?? '/', headers: req.headers });
    req.resume();
    req.on('end', () => answer(req, res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port, hits };
}

let target: Receiver;
let redirector: Receiver;

before(async () => {
  target = await receiver((_req, res) => res.writeHead(200).end('ok'));
  redirector = await receiver((_req, res) => res.writeHead(302, { location: `http://127.0.0.1:${target.port}/inside` }).end());
});
after(async () => {
  await Promise.all([target, redirector].map((r) => new Promise((resolve) => r?.server.close(resolve))));
});

const body = JSON.stringify({ type: 'webhook.test', timestamp: new Date().toISOString(), data: {} });
const headers = { 'webhook-id': 'evt_policy', 'webhook-timestamp': '1', 'webhook-signature': 'v1,x' };

describe('webhook URL rule on real requests', () => {
  test('loopback receivers: refused without REBOUND_WEBHOOKS_ALLOW_PRIVATE (nothing reaches them), delivered with it', async () => {
    const before = target.hits.length;
    for (const url of [`http://127.0.0.1:${target.port}/a`, `http://2130706433:${target.port}/b`, `http://0177.0.0.1:${target.port}/c`, `http://[::ffff:127.0.0.1]:${target.port}/d`, `http://localhost:${target.port}/e`]) {
      const answer = await postWebhook(url, headers, body, { allowPrivate: false, timeoutMs: 5_000 });
      assert.equal(answer.status, null, url);
      assert.match((answer as { error: string }).error, /^the URL is refused: .*REBOUND_WEBHOOKS_ALLOW_PRIVATE/, url);
      assert.equal(decideAnswer(answer, Date.now()).action, 'retry');
    }
    assert.equal(target.hits.length, before, 'no request reached the receiver');
    const allowed = await postWebhook(`http://127.0.0.1:${target.port}/allowed`, headers, body, { allowPrivate: true, timeoutMs: 5_000 });
    assert.equal(allowed.status, 200);
    assert.equal(target.hits.at(-1)?.url, '/allowed');
  });

  test('a host name that resolves inside the network is refused by the lookup of the try itself', async (t) => {
    // The machine's own name: not "localhost", so only what it resolves to can refuse it.
    const name = hostname();
    const addresses = await dns.lookup(name, { all: true }).catch(() => []);
    if (addresses.length === 0 || !addresses.every((a) => privateAddressRange(a.address))) {
      t.skip(`${name} does not resolve to private addresses only here`);
      return;
    }
    const before = target.hits.length;
    const answer = await postWebhook(`http://${name}:${target.port}/by-name`, headers, body, { allowPrivate: false, timeoutMs: 5_000 });
    assert.equal(answer.status, null);
    assert.match((answer as { error: string }).error, new RegExp(`^${name} resolves to .*, which is .*; set REBOUND_WEBHOOKS_ALLOW_PRIVATE=1`));
    assert.equal(target.hits.length, before, 'no request reached the receiver');
  });

  test('a redirect to an inside address is not followed: the 302 is the answer, and tried again on the schedule', async () => {
    const before = target.hits.length;
    const answer = await postWebhook(`http://127.0.0.1:${redirector.port}/hook`, headers, body, { allowPrivate: true, timeoutMs: 5_000 });
    assert.equal(answer.status, 302);
    assert.equal(redirector.hits.length, 1);
    assert.equal(target.hits.length, before, 'the Location was never requested');
    const decision = decideAnswer(answer, Date.now());
    assert.equal(decision.action, 'retry');
    assert.match((decision as { reason: string }).reason, /redirects are not followed/);
  });
});
