// The payload codec (README "Payload encryption"): round trip, what an encrypted payload shows,
// rotation, an unknown key, tampering, pass-through of plain payloads, and REBOUND_PAYLOAD_KEYS.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { ENCRYPTED_ENCODING, KEY_ID_METADATA, PayloadDecryptError } from '../../src/codec/contract';
import { keyringOf, parsePayloadKeys } from '../../src/codec/keyring';
import { AesGcmPayloadCodec, KeylessPayloadCodec } from '../../src/codec/payload-codec';
import { loadConfig } from '../../src/config';
import { reboundDataConverter } from '../../src/codec/data-converter';

const k1 = Buffer.alloc(32, 1);
const k2 = Buffer.alloc(32, 2);
const codecOf = (...keys: [string, Buffer][]) => new AesGcmPayloadCodec(keyringOf(keys.map(([id, key]) => ({ id, key }))));
const input = { messageId: 'm-1', recipients: ['alice@example.com'], reply: '550 5.1.1 <alice@example.com> unknown' };
const payload = (): Payload => defaultPayloadConverter.toPayload(input);
const utf8 = (b: Uint8Array | null | undefined) => Buffer.from(b ?? []).toString('utf8');

test('codec: a payload round-trips, and its encrypted form hides data and encoding', async () => {
  const codec = codecOf(['k1', k1]);
  const [encrypted] = await codec.encode([payload()]);
  assert.equal(utf8(encrypted.metadata!.encoding), ENCRYPTED_ENCODING);
  assert.equal(utf8(encrypted.metadata![KEY_ID_METADATA]), 'k1');
  assert.deepEqual(Object.keys(encrypted.metadata!).sort(), ['encoding', KEY_ID_METADATA].sort());
  const bytes = Buffer.from(encrypted.data!).toString('latin1');
  assert.ok(!bytes.includes('alice') && !bytes.includes('json/plain') && !bytes.includes('550'), 'no plaintext in the encrypted bytes');
  const [decoded] = await codec.decode([encrypted]);
  assert.deepEqual(defaultPayloadConverter.fromPayload(decoded), input);
  assert.equal(utf8(decoded.metadata!.encoding), 'json/plain');
});

test('codec: every payload gets a fresh IV (the same input encrypts differently)', async () => {
  const codec = codecOf(['k1', k1]);
  const [a, b] = await codec.encode([payload(), payload()]);
  assert.notDeepEqual(Buffer.from(a.data!), Buffer.from(b.data!));
  assert.notDeepEqual(Buffer.from(a.data!).subarray(0, 12), Buffer.from(b.data!).subarray(0, 12));
});

test('codec: rotation — the first key encrypts, every listed key decrypts', async () => {
  const [old] = await codecOf(['k1', k1]).encode([payload()]);
  const rotated = codecOf(['k2', k2], ['k1', k1]);
  const [fresh] = await rotated.encode([payload()]);
  assert.equal(utf8(fresh.metadata![KEY_ID_METADATA]), 'k2');
  const [a, b] = await rotated.decode([old, fresh]);
  assert.deepEqual(defaultPayloadConverter.fromPayload(a), input);
  assert.deepEqual(defaultPayloadConverter.fromPayload(b), input);
});

test('codec: an unknown key id is an error naming it', async () => {
  const [old] = await codecOf(['k1', k1]).encode([payload()]);
  await assert.rejects(codecOf(['k2', k2]).decode([old]), (err: unknown) => {
    assert.ok(err instanceof PayloadDecryptError);
    assert.equal(err.keyId, 'k1');
    assert.match(err.message, /key "k1", which is not in REBOUND_PAYLOAD_KEYS \(ids: k2\)/);
    return true;
  });
});

test('codec: a wrong key under the same id, or altered bytes, fail the tag with the key id named', async () => {
  const [encrypted] = await codecOf(['k1', k1]).encode([payload()]);
  await assert.rejects(codecOf(['k1', k2]).decode([encrypted]), /key "k1" does not decrypt \(authentication tag mismatch\)/);
  for (const at of [0, 20, encrypted.data!.length - 1]) {
    const data = Buffer.from(encrypted.data!);
    data[at] ^= 0x01;
    await assert.rejects(codecOf(['k1', k1]).decode([{ ...encrypted, data }]), (err: unknown) => err instanceof PayloadDecryptError && err.keyId === 'k1', `byte ${at}`);
  }
  await assert.rejects(codecOf(['k1', k1]).decode([{ ...encrypted, data: Buffer.alloc(10) }]), /too short/);
  await assert.rejects(codecOf(['k1', k1]).decode([{ metadata: { encoding: Buffer.from(ENCRYPTED_ENCODING) }, data: encrypted.data }]), /no "encryption-key-id" metadata/);
});

test('codec: payloads it did not encrypt pass through decode unchanged', async () => {
  const plain = payload();
  const binary: Payload = { metadata: { encoding: Buffer.from('binary/null') } };
  const [a, b] = await codecOf(['k1', k1]).decode([plain, binary]);
  assert.equal(a, plain);
  assert.equal(b, binary);
});

test('codec without keys: plain payloads as they are; an encrypted one says which variable to set', async () => {
  const keyless = new KeylessPayloadCodec();
  const plain = payload();
  assert.deepEqual(await keyless.encode([plain]), [plain]);
  assert.deepEqual(await keyless.decode([plain]), [plain]);
  const [encrypted] = await codecOf(['dev-1', k1]).encode([payload()]);
  await assert.rejects(keyless.decode([plain, encrypted]), /encrypted \(key "dev-1"\) but REBOUND_PAYLOAD_KEYS is not set here/);
});

test('REBOUND_PAYLOAD_KEYS: id:base64 entries, the first encrypting; the keyring never shows its keys', () => {
  const raw = `new:${k2.toString('base64')}, old:${k1.toString('base64')}`;
  const ring = parsePayloadKeys(raw);
  assert.equal(ring.primary.id, 'new');
  assert.deepEqual(ring.ids, ['new', 'old']);
  assert.deepEqual(ring.byId('old')!.key, k1);
  const config = loadConfig({ REBOUND_PAYLOAD_KEYS: raw });
  assert.deepEqual(config.payloadKeys?.ids, ['new', 'old']);
  for (const shown of [JSON.stringify(config), inspect(config, { depth: 10 })]) {
    assert.ok(!shown.includes(k1.toString('base64')) && !shown.includes(k2.toString('base64')) && !shown.includes('AQEBAQ'), shown.slice(0, 200));
  }
  assert.equal(loadConfig({}).payloadKeys, null);
  assert.equal(loadConfig({ REBOUND_PAYLOAD_KEYS: 'off' }).payloadKeys, null);
});

test('REBOUND_PAYLOAD_KEYS: a bad entry names its position and what is wrong, never the key', () => {
  const good = `a:${k1.toString('base64')}`;
  const secret = Buffer.alloc(16, 9).toString('base64');
  const cases: [string, RegExp][] = [
    [`${good},b:${secret}`, /entry 2 of 2 \(id "b"\): the key must be 32 bytes \(AES-256\), got 16/],
    [`${good},${secret}`, /entry 2 of 2 has no ":"/],
    [`${good},,`, /entry 2 of 3 is empty/],
    [`${good},c:not base64!`, /entry 2 of 2 \(id "c"\): the key is not base64/],
    [`bad id:${k1.toString('base64')}`, /entry 1 of 1: the key id must be 1 to 64 letters/],
    [`${good},a:${k2.toString('base64')}`, /entry 2 of 2: the key id "a" is used twice/],
  ];
  for (const [raw, expected] of cases) {
    assert.throws(() => loadConfig({ REBOUND_PAYLOAD_KEYS: raw }), (err: Error) => {
      assert.match(err.message, expected);
      assert.ok(!err.message.includes(secret) && !err.message.includes(k1.toString('base64')) && !err.message.includes(k2.toString('base64')), err.message);
      return true;
    });
  }
});

test('REBOUND_CODEC_CORS_ORIGINS: origins only, the dev UI by default', () => {
  assert.deepEqual(loadConfig({}).codecCorsOrigins, ['http://localhost:8233', 'http://127.0.0.1:8233']);
  assert.deepEqual(loadConfig({ REBOUND_CODEC_CORS_ORIGINS: 'https://temporal.example.com, http://localhost:8080' }).codecCorsOrigins, ['https://temporal.example.com', 'http://localhost:8080']);
  assert.throws(() => loadConfig({ REBOUND_CODEC_CORS_ORIGINS: 'https://temporal.example.com/ui' }), /REBOUND_CODEC_CORS_ORIGINS must be origins/);
  assert.throws(() => loadConfig({ REBOUND_CODEC_CORS_ORIGINS: '*' }), /REBOUND_CODEC_CORS_ORIGINS must be origins/);
});

test('with the codec, a failure message and stack trace are encrypted too, and read back with the keys', async () => {
  // The SDK's own helpers, as the worker and the client apply the data converter to failures.
  const { loadDataConverter, encodeErrorToFailure, decodeOptionalFailureToOptionalError } = { ...(await import('@temporalio/common/lib/internal-non-workflow/data-converter-helpers.js')), ...(await import('@temporalio/common/lib/internal-non-workflow/codec-helpers.js')) };
  const converter = loadDataConverter(reboundDataConverter(keyringOf([{ id: 'k1', key: k1 }])));
  const failure = await encodeErrorToFailure(converter, new Error('550 5.1.1 <alice@example.com>: Recipient address rejected'));
  assert.equal(failure.message, 'Encoded failure');
  assert.equal(failure.stackTrace, '');
  assert.equal(utf8(failure.encodedAttributes?.metadata?.encoding), ENCRYPTED_ENCODING);
  assert.ok(!Buffer.from(failure.encodedAttributes!.data!).toString('latin1').includes('alice'));
  const back = await decodeOptionalFailureToOptionalError(converter, failure);
  assert.match(back?.message ?? '', /alice@example\.com/);
});
