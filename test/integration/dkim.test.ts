// DKIM end to end (README "DKIM"): the real client signs when it composes, the real worker
// sends through SMTP to a real server in this test, which records the bytes it received, and an
// independent verifier (mailauth) checks them. With a return path, X-Rebound-Ref is put in
// front of the signed bytes and the signature still holds; a retried attempt sends the same
// signed bytes.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { returnPathAddress } from '../../src/bounces/verp';
import { ReboundClient } from '../../src/client/rebound-client';
import { loadConfig } from '../../src/config';
import { makeDkimKey, verifyDkim } from '../helpers/dkim';
import { startRecordingServer, type Answer, type Recorded, type RecordingServer } from '../helpers/recording-smtp';
import { startTimeSkippingStack, uid, type TimeSkippingStack } from '../helpers/stack';

const BOUNCE_DOMAIN = 'bounces.test';
const SECRET = 'dkim-test-secret-0123456789abcdef0123';
const KEY = makeDkimKey('shop.test', 's2026');

/** A `greylist+` recipient's first DATA is answered 451, then accepted. */
const greylisted = new Set<string>();
const greylisting: Answer = ({ to }) => {
  const first = to.find((a) => a.startsWith('greylist+') && !greylisted.has(a));
  if (first === undefined) return { code: 250, text: '2.0.0 Queued' };
  greylisted.add(first);
  return { code: 451, text: '4.7.1 Greylisted, try again later' };
};

let receiver: RecordingServer;
let stack: TimeSkippingStack;
let rebound: ReboundClient;

before(async () => {
  receiver = await startRecordingServer(greylisting);
  const inbound = { ...loadConfig({}).inbound, bounceDomain: BOUNCE_DOMAIN, bounceSecret: SECRET };
  stack = await startTimeSkippingStack({ smtpUrl: `smtp://${receiver.host}:${receiver.port}`, inbound, dkim: [KEY.key] });
  // Built here like ReboundClient.connect builds it from the configuration: with its keys.
  rebound = new ReboundClient({ client: stack.env.client, pool: stack.pool, taskQueue: stack.config.taskQueue, domains: stack.config.domains, dkim: stack.config.dkim });
});

after(async () => {
  await stack?.teardown();
  await receiver?.close();
});

const receivedBy = (address: string): Recorded[] => receiver.got.filter((g) => g.to.includes(address));

describe('DKIM through the worker (time-skipping server, real SMTP)', () => {
  test('a message from a domain with a key arrives signed; mailauth: pass, also without X-Rebound-Ref', async () => {
    const to = `a+${uid()}@receiver.test`;
    const { messageId } = await rebound.send({ from: 'Shop <orders@shop.test>', to, subject: 'Your receipt', text: 'Thank you for your order.' });
    const final = await rebound.result(messageId);
    assert.equal(final.state, 'delivered');

    const [received, ...more] = receivedBy(to);
    assert.equal(more.length, 0);
    assert.equal(received.from, returnPathAddress(messageId, { domain: BOUNCE_DOMAIN, secret: SECRET }));
    const text = received.raw.toString('latin1');
    assert.match(text, /^X-Rebound-Ref: [0-9a-f]{36}\r\nDKIM-Signature: /);

    const [result] = await verifyDkim(received.raw, [KEY]);
    assert.equal(result.status.result, 'pass', result.status.comment);
    assert.equal(result.signingDomain, 'shop.test');
    assert.equal(result.selector, 's2026');
    const afterRef = Buffer.from(text.slice(text.indexOf('\r\n') + 2), 'latin1');
    const [stored] = await verifyDkim(afterRef, [KEY]);
    assert.equal(stored.status.result, 'pass', stored.status.comment);
  });

  test('an attempt retried after a 451 sends the same signed bytes', async () => {
    const to = `greylist+${uid()}@receiver.test`;
    const { messageId } = await rebound.send({ from: 'orders@shop.test', to, subject: 'Greylisted', text: 'Try me twice.' });
    const final = await rebound.result(messageId);
    assert.equal(final.state, 'delivered');
    const copies = receivedBy(to);
    assert.deepEqual(copies.map((c) => c.answered), [451, 250]);
    assert.ok(copies[0].raw.equals(copies[1].raw), 'both attempts sent identical bytes');
    const [result] = await verifyDkim(copies[1].raw, [KEY]);
    assert.equal(result.status.result, 'pass', result.status.comment);
  });

  test('a message from a domain without a key arrives unsigned', async () => {
    const to = `b+${uid()}@receiver.test`;
    const { messageId } = await rebound.send({ from: 'someone@unsigned.test', to, subject: 'Hello', text: 'No key for me.' });
    assert.equal((await rebound.result(messageId)).state, 'delivered');
    const [received] = receivedBy(to);
    assert.doesNotMatch(received.raw.toString('latin1').split('\r\n\r\n')[0], /^DKIM-Signature:/im);
    assert.deepEqual((await verifyDkim(received.raw, [KEY])).map((r) => r.status.result), ['none']);
  });
});
