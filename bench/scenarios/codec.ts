// What the payload codec costs (README "Payload encryption", "Performance"): every payload a
// client or worker hands Temporal is encrypted once and decrypted where it is read; measured in
// this process on a typical payload, a delivery's input with three recipients and a two-step plan.
import { defaultPayloadConverter } from '@temporalio/common';
import { keyringOf } from '../../src/codec/keyring';
import { AesGcmPayloadCodec } from '../../src/codec/payload-codec';
import { round } from '../measure';

export interface CodecResult {
  /** Microseconds to encrypt one typical payload (AES-256-GCM over the serialized Payload). */
  encodeUs: number;
  /** Microseconds to decrypt it. */
  decodeUs: number;
  /** Its size in plain JSON, and encrypted (IV, tag and metadata added). */
  payloadBytes: number;
  encryptedBytes: number;
}

export async function measureCodec(n = 2000): Promise<CodecResult> {
  const codec = new AesGcmPayloadCodec(keyringOf([{ id: 'bench', key: Buffer.alloc(32, 7) }]));
  const input = {
    messageId: '6f1c0f4e-8a51-4d2b-9a57-3c1f4b0d2e11',
    recipients: ['alice@example.com', 'bob@example.org', 'carol@example.net'],
    schedule: ['5m', '30m', '2h', '6h', '12h'],
    profile: 'standard',
    plans: [{ domains: ['example.com', 'example.org', 'example.net'], profile: 'standard', schedule: ['5m', '30m', '2h', '6h', '12h'], deadline: '72h' }],
  };
  const payload = defaultPayloadConverter.toPayload(input);
  let [encrypted] = await codec.encode([payload]);
  await codec.decode([encrypted]);
  let t0 = performance.now();
  for (let i = 0; i < n; i++) [encrypted] = await codec.encode([payload]);
  const encodeUs = ((performance.now() - t0) * 1000) / n;
  t0 = performance.now();
  for (let i = 0; i < n; i++) await codec.decode([encrypted]);
  const decodeUs = ((performance.now() - t0) * 1000) / n;
  return { encodeUs: round(encodeUs, 1)!, decodeUs: round(decodeUs, 1)!, payloadBytes: payload.data!.length, encryptedBytes: encrypted.data!.length + Object.values(encrypted.metadata ?? {}).reduce((s, v) => s + v.length, 0) };
}
