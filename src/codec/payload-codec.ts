// The payload codec (README "Payload encryption"): AES-256-GCM over the whole serialized Payload
// (its metadata, `encoding` included, as well as its data), so the Temporal server and its
// database keep only ciphertext of workflow inputs, results, signals, queries, memos and
// failure details. Runs in the client and the worker, outside the workflow sandbox.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { ENCRYPTED_ENCODING, IV_BYTES, KEY_ID_METADATA, PayloadDecryptError, TAG_BYTES, type PayloadKeyring } from './contract';

const ALGORITHM = 'aes-256-gcm';
const utf8 = (s: string): Uint8Array => Buffer.from(s, 'utf8');
const text = (b: Uint8Array | null | undefined): string | null => (b ? Buffer.from(b).toString('utf8') : null);

/** Whether a payload is one this codec wrote (others pass through decode unchanged). */
export function isEncryptedPayload(payload: Payload): boolean {
  return text(payload.metadata?.encoding) === ENCRYPTED_ENCODING;
}

/** The key id an encrypted payload names, or null. */
export function payloadKeyId(payload: Payload): string | null {
  return text(payload.metadata?.[KEY_ID_METADATA]);
}

export function encryptPayload(payload: Payload, keyring: PayloadKeyring): Payload {
  const { id, key } = keyring.primary;
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv(ALGORITHM, key, iv);
  const plain = temporal.api.common.v1.Payload.encode(payload).finish();
  const sealed = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
  return { metadata: { encoding: utf8(ENCRYPTED_ENCODING), [KEY_ID_METADATA]: utf8(id) }, data: sealed };
}

export function decryptPayload(payload: Payload, keyring: PayloadKeyring): Payload {
  const keyId = payloadKeyId(payload);
  if (keyId === null) throw new PayloadDecryptError(null, `an encrypted payload has no "${KEY_ID_METADATA}" metadata: it was not written by Rebound's codec, or was altered`);
  const entry = keyring.byId(keyId);
  if (!entry) {
    throw new PayloadDecryptError(keyId, `a payload is encrypted with key "${keyId}", which is not in REBOUND_PAYLOAD_KEYS (ids: ${keyring.ids.join(', ')}); add that key back (after the first) to read it`);
  }
  const data = Buffer.from(payload.data ?? []);
  if (data.length < IV_BYTES + TAG_BYTES) throw new PayloadDecryptError(keyId, `a payload encrypted with key "${keyId}" is ${data.length} bytes, too short to hold an IV and a tag: it was truncated or altered`);
  const decipher = createDecipheriv(ALGORITHM, entry.key, data.subarray(0, IV_BYTES));
  decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
  let plain: Buffer;
  try {
    plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
  } catch {
    throw new PayloadDecryptError(keyId, `a payload encrypted with key "${keyId}" does not decrypt (authentication tag mismatch): the key under that id is not the one it was written with, or the payload was altered`);
  }
  return temporal.api.common.v1.Payload.decode(plain);
}

/**
 * The Temporal PayloadCodec: encode encrypts every payload with the first key; decode decrypts
 * the payloads it wrote, with the key their metadata names, and passes any other payload through
 * unchanged (histories recorded before the codec, a rollout where some writers lack it yet).
 */
export class AesGcmPayloadCodec implements PayloadCodec {
  constructor(private readonly keyring: PayloadKeyring) {}

  get keyIds(): readonly string[] {
    return this.keyring.ids;
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => encryptPayload(p, this.keyring));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => (isEncryptedPayload(p) ? decryptPayload(p, this.keyring) : p));
  }
}

/**
 * The codec of a client or worker without keys: payloads stay plain JSON, and an encrypted one
 * (a run written by workers that have keys) fails with what to set instead of the SDK's
 * "Unknown encoding: binary/encrypted".
 */
export class KeylessPayloadCodec implements PayloadCodec {
  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads;
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    const encrypted = payloads.find(isEncryptedPayload);
    if (encrypted) {
      const keyId = payloadKeyId(encrypted);
      throw new PayloadDecryptError(
        keyId,
        `a payload is encrypted (key "${keyId ?? '?'}") but REBOUND_PAYLOAD_KEYS is not set here: set it to the keys the workers use (for \`rebound dev\` and \`rebound demo\`: export REBOUND_PAYLOAD_KEYS="$(cat .data/payload-keys)")`,
      );
    }
    return payloads;
  }
}
