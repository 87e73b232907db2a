// REBOUND_PAYLOAD_KEYS (README "Payload encryption"): `id:base64key,id:base64key`, parsed once
// by src/config.ts. A bad entry names its position and what is wrong with it, never its value.
import { inspect } from 'node:util';
import { KEY_BYTES, type PayloadKey, type PayloadKeyring } from './contract';

const ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
const BASE64_PATTERN = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

class Keyring implements PayloadKeyring {
  readonly #keys: ReadonlyMap<string, PayloadKey>;
  readonly #primary: PayloadKey;

  constructor(keys: PayloadKey[]) {
    this.#keys = new Map(keys.map((k) => [k.id, k]));
    this.#primary = keys[0];
  }

  get primary(): PayloadKey {
    return this.#primary;
  }

  get ids(): readonly string[] {
    return [...this.#keys.keys()];
  }

  byId(id: string): PayloadKey | undefined {
    return this.#keys.get(id);
  }

  toJSON(): { ids: readonly string[] } {
    return { ids: this.ids };
  }

  [inspect.custom](): string {
    return `PayloadKeyring { ids: [${this.ids.join(', ')}] }`;
  }
}

/** A keyring from given keys (tests, the dev stack); each must be 32 bytes. */
export function keyringOf(keys: { id: string; key: Buffer }[]): PayloadKeyring {
  if (keys.length === 0) throw new Error('a payload keyring needs at least one key');
  return new Keyring(keys.map((k, i) => checkedKey(k.id, k.key, i + 1, keys.length)));
}

function checkedKey(id: string, key: Buffer, position: number, count: number): PayloadKey {
  const where = `REBOUND_PAYLOAD_KEYS entry ${position} of ${count}`;
  if (!ID_PATTERN.test(id)) throw new Error(`${where}: the key id must be 1 to 64 letters, digits, ".", "_" or "-", got ${JSON.stringify(id.slice(0, 70))}`);
  if (key.length !== KEY_BYTES) throw new Error(`${where} (id "${id}"): the key must be ${KEY_BYTES} bytes (AES-256), got ${key.length}; make one with \`openssl rand -base64 32\``);
  return Object.freeze({ id, key });
}

/** Parses `id1:base64key,id2:base64key`; the first key encrypts, all decrypt. */
export function parsePayloadKeys(raw: string): PayloadKeyring {
  const entries = raw.split(',').map((e) => e.trim());
  const seen = new Set<string>();
  const keys = entries.map((entry, i) => {
    const where = `REBOUND_PAYLOAD_KEYS entry ${i + 1} of ${entries.length}`;
    const colon = entry.indexOf(':');
    if (entry === '') throw new Error(`${where} is empty; the form is id:base64key,id:base64key (value not shown: it holds keys)`);
    if (colon < 0) throw new Error(`${where} has no ":"; the form is id:base64key (e.g. k2026:$(openssl rand -base64 32)) (value not shown: it holds keys)`);
    const id = entry.slice(0, colon);
    const encoded = entry.slice(colon + 1);
    if (!BASE64_PATTERN.test(encoded) || encoded === '') throw new Error(`${where} (id "${ID_PATTERN.test(id) ? id : '?'}"): the key is not base64 (value not shown)`);
    const key = checkedKey(id, Buffer.from(encoded, 'base64'), i + 1, entries.length);
    if (seen.has(id)) throw new Error(`${where}: the key id "${id}" is used twice; each key needs its own id`);
    seen.add(id);
    return key;
  });
  return new Keyring(keys);
}
