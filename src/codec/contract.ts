// The payload codec's types (README "Payload encryption"): what an encrypted payload's metadata
// says, and the keys it is encrypted with. The codec itself is payload-codec.ts.

/** `encoding` of an encrypted payload; its data is IV, ciphertext and tag of the whole serialized Payload. */
export const ENCRYPTED_ENCODING = 'binary/encrypted';
/** Metadata key naming the key a payload was encrypted with (REBOUND_PAYLOAD_KEYS ids). */
export const KEY_ID_METADATA = 'encryption-key-id';

/** AES-256-GCM: a 32-byte key, a fresh 12-byte IV per payload, a 16-byte tag. */
export const KEY_BYTES = 32;
export const IV_BYTES = 12;
export const TAG_BYTES = 16;

export interface PayloadKey {
  /** Written into each payload it encrypts; letters, digits, `.`, `_`, `-`. */
  readonly id: string;
  readonly key: Buffer;
}

/**
 * The keys of REBOUND_PAYLOAD_KEYS in their order: the first encrypts, all decrypt (rotation).
 * Never serialised with the key material: `toJSON` and `util.inspect` show the ids only, so a
 * logged configuration object leaks nothing.
 */
export interface PayloadKeyring {
  readonly primary: PayloadKey;
  readonly ids: readonly string[];
  byId(id: string): PayloadKey | undefined;
}

/** A payload that cannot be decrypted: its key is unknown, or the tag does not verify. */
export class PayloadDecryptError extends Error {
  constructor(
    readonly keyId: string | null,
    message: string,
  ) {
    super(message);
    this.name = 'PayloadDecryptError';
  }
}
