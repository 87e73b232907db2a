// DKIM signing (README "DKIM"): composed messages signed with nodemailer's signer and checked by
// an independent verifier (mailauth); which From domains are signed; what the key checks say.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { inspect } from 'node:util';
import { composeMessage } from '../../src/message/compose';
import { validateSendRequest } from '../../src/message/validate';
import { dkimKeyFor, signMessage, DkimSignError } from '../../src/message/dkim';
import { checkDkimPrivateKey, MAX_KEY_FILE_BYTES } from '../../src/message/dkim-key';
import { withReboundRef } from '../../src/bounces/verp';
import { makeDkimKey, verifyDkim, type TestDkimKey } from '../helpers/dkim';

const EXAMPLE = makeDkimKey('example.com', 's2026');
const OTHER = makeDkimKey('other.test', 'mail', { bits: 1024, headers: ['From', 'Subject'] });
const NEWS = makeDkimKey('news.shop.test', 'n1', { bits: 1024 });
const KEYS = [EXAMPLE, OTHER, NEWS];

async function compose(from: string, keys: readonly TestDkimKey[], extra: Record<string, unknown> = {}): Promise<Buffer> {
  const request = validateSendRequest({ from, to: ['rcpt@receiver.test'], subject: 'Your receipt', text: 'Thank you.\r\n\r\n\r\n', ...extra });
  const composed = await composeMessage(request, 'm-1', { dkim: keys.map((k) => k.key) });
  return composed.raw;
}

const headerBlock = (raw: Buffer): string => raw.toString('latin1').split('\r\n\r\n')[0];
/** The DKIM-Signature field, unfolded. */
const signatureOf = (raw: Buffer): string => (/^DKIM-Signature:[^]*?(?=\r\n\S)/m.exec(headerBlock(raw))?.[0] ?? '').replace(/\r\n\s+/g, ' ');

test('a composed message is signed for its From domain and mailauth verifies it: pass', async () => {
  const raw = await compose('Shop <orders@example.com>', KEYS);
  assert.match(raw.toString('latin1'), /^DKIM-Signature: /);
  const [result, ...more] = await verifyDkim(raw, KEYS);
  assert.equal(more.length, 0, 'one signature');
  assert.equal(result.status.result, 'pass', result.status.comment);
  assert.equal(result.signingDomain, 'example.com');
  assert.equal(result.selector, 's2026');
  assert.equal(result.status.header?.a, 'rsa-sha256');
  assert.match(signatureOf(raw), /\bc=relaxed\/relaxed;/);
  assert.equal(result.status.aligned, 'example.com', 'd= aligns with the From domain (DMARC)');
});

const unsignedCases: { name: string; from: string }[] = [
  { name: 'a From domain without a key', from: 'a@nokey.test' },
  { name: 'a subdomain of a domain with a key (exact domains only)', from: 'a@mail.example.com' },
  { name: 'a parent of a domain with a key', from: 'a@shop.test' },
];

for (const { name, from } of unsignedCases) {
  test(`not signed: ${name}`, async () => {
    const raw = await compose(from, KEYS);
    assert.doesNotMatch(headerBlock(raw), /^DKIM-Signature:/im);
  });
}

test('the From domain is matched case-insensitively', async () => {
  const raw = await compose('orders@EXAMPLE.Com', [EXAMPLE]);
  const [result] = await verifyDkim(raw, [EXAMPLE]);
  assert.equal(result.status.result, 'pass', result.status.comment);
});

test('X-Rebound-Ref put in front of the signed bytes keeps the signature valid', async () => {
  const signed = await compose('orders@example.com', [EXAMPLE]);
  const sent = withReboundRef(signed, '0123456789abcdef0123456789abcdef012345');
  assert.match(sent.toString('latin1'), /^X-Rebound-Ref: 0123/);
  const [result] = await verifyDkim(sent, [EXAMPLE]);
  assert.equal(result.status.result, 'pass', result.status.comment);
});

// RFC 6376 6.1.3: a body hash mismatch is reported apart from a bad signature (mailauth: neutral).
const tamperCases: { name: string; change: (text: string) => string; result: string; comment: string }[] = [
  { name: 'a signed header changed', change: (t) => t.replace('Subject: Your receipt', 'Subject: Your refund'), result: 'fail', comment: 'bad signature' },
  { name: 'the body changed', change: (t) => t.replace('Thank you.', 'Thank you!'), result: 'neutral', comment: 'body hash did not verify' },
  {
    name: 'a second From added',
    change: (t) => t.replace('\r\n\r\n', '\r\nFrom: evil@attacker.test\r\n\r\n'),
    result: 'fail',
    comment: 'bad signature',
  },
];

for (const { name, change, result: expected, comment } of tamperCases) {
  test(`the verifier is not a rubber stamp: ${name} is ${expected}`, async () => {
    const signed = await compose('orders@example.com', [EXAMPLE]);
    const [result] = await verifyDkim(Buffer.from(change(signed.toString('latin1')), 'latin1'), [EXAMPLE]);
    assert.deepEqual({ result: result.status.result, comment: result.status.comment }, { result: expected, comment });
  });
}

test('a key with its own header list signs those fields (when present) and no others', async () => {
  const raw = await compose('news@other.test', [OTHER], { cc: ['cc@receiver.test'] });
  const h = /\bh=([^;]+)/.exec(signatureOf(raw))?.[1]?.replace(/\s+/g, '');
  assert.equal(h?.toLowerCase(), 'from:subject');
  const [result] = await verifyDkim(raw, [OTHER]);
  assert.equal(result.status.result, 'pass', result.status.comment);
});

test('the same composed bytes signed twice give the same signature (no timestamp, no randomness)', async () => {
  const composed = (await composeMessage(validateSendRequest({ from: 'a@example.com', to: ['b@receiver.test'], subject: 's', text: 't' }), 'm-2', { date: new Date(0) })).raw;
  const first = await signMessage(composed, EXAMPLE.key);
  const second = await signMessage(composed, EXAMPLE.key);
  assert.ok(first.equals(second));
});

test('a key that cannot sign rsa-sha256 is an error naming the domain, not an unsigned message', async () => {
  const { privateKey } = generateKeyPairSync('ed25519');
  const key = { ...EXAMPLE.key, privateKey };
  const composed = await compose('a@nokey.test', []);
  await assert.rejects(signMessage(composed, key), (err: unknown) => {
    assert.ok(err instanceof DkimSignError);
    assert.match(err.message, /^DKIM signing for example\.com \(selector s2026\) failed: .*dkim\["example\.com"\]/);
    return true;
  });
});

const keyForCases: { from: string; expected: string | null }[] = [
  { from: 'a@example.com', expected: 'example.com' },
  { from: 'a@Example.COM', expected: 'example.com' },
  { from: 'a@other.test', expected: 'other.test' },
  { from: 'a@sub.example.com', expected: null },
  { from: 'a@example.com.evil.test', expected: null },
  { from: 'no-at-sign', expected: null },
];

for (const { from, expected } of keyForCases) {
  test(`dkimKeyFor(${JSON.stringify(from)}) is ${expected ?? 'none'}`, () => {
    assert.equal(dkimKeyFor(from, [EXAMPLE.key, OTHER.key])?.domain ?? null, expected);
  });
}

// ---------------------------------------------------------------------------------------------
// Checking key files

const pem = (key: { export(o: { type: 'pkcs8' | 'spki'; format: 'pem' }): string | Buffer }, type: 'pkcs8' | 'spki' = 'pkcs8'): Buffer =>
  Buffer.from(key.export({ type, format: 'pem' }));
const rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 });
const rsa512 = generateKeyPairSync('rsa', { modulusLength: 512 });
const encrypted = Buffer.from(
  rsa1024.privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'secret' }),
);
const pkcs1 = Buffer.from(rsa1024.privateKey.export({ type: 'pkcs1', format: 'pem' }));

const keyCases: { name: string; file: Buffer; reason: string | null }[] = [
  { name: 'RSA 2048, PKCS#8', file: Buffer.from(EXAMPLE.privatePem), reason: null },
  { name: 'RSA 1024, PKCS#1 ("BEGIN RSA PRIVATE KEY")', file: pkcs1, reason: null },
  { name: 'RSA under 1024 bits', file: pem(rsa512.privateKey), reason: 'is an RSA key of 512 bits: at least 1024 (2048 recommended)' },
  {
    name: 'Ed25519',
    file: pem(generateKeyPairSync('ed25519').privateKey),
    reason: 'is an Ed25519 key, which Rebound cannot sign with yet: use an RSA key (2048 bits)',
  },
  { name: 'an EC key', file: pem(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey), reason: 'is a ec key: DKIM signs with RSA (2048 bits)' },
  { name: 'a public key', file: pem(rsa1024.publicKey, 'spki'), reason: 'holds a public key, not a private key' },
  { name: 'not PEM at all', file: Buffer.from('hello\n'), reason: 'is not a PEM private key (expected "-----BEGIN PRIVATE KEY-----")' },
  {
    name: 'a PEM armour around garbage',
    file: Buffer.from('-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n'),
    reason: 'is not a readable PEM private key',
  },
  { name: 'encrypted with a passphrase', file: encrypted, reason: 'is encrypted with a passphrase: store it unencrypted, readable only by Rebound' },
  { name: 'too large to be a key', file: Buffer.alloc(MAX_KEY_FILE_BYTES + 1, 'A'), reason: `is larger than ${MAX_KEY_FILE_BYTES} bytes: not a PEM key file` },
];

for (const { name, file, reason } of keyCases) {
  test(`key file: ${name}`, () => {
    const checked = checkDkimPrivateKey(file);
    assert.equal(checked.ok ? null : checked.reason, reason);
    if (checked.ok) assert.equal(checked.key.type, 'private');
  });
}

test('a loaded key prints as its type, never its bytes', () => {
  const body = EXAMPLE.privatePem.split('\n')[1];
  assert.ok(body.length > 40);
  assert.ok(!inspect(EXAMPLE.key, { depth: 5 }).includes(body));
  assert.ok(!JSON.stringify(EXAMPLE.key).includes(body));
});
