// The local stack's payload key (README "Payload encryption"): without REBOUND_PAYLOAD_KEYS,
// `rebound dev` and `rebound demo` encrypt with a development key kept in .data/payload-keys
// (gitignored), made once per checkout, so runs recorded before a restart still decrypt; the
// `rebound` commands run in the same checkout read it too, so they can follow those runs.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { PayloadKeyring } from '../codec/contract';
import { parsePayloadKeys } from '../codec/keyring';
import { PROJECT_ROOT } from './tools';

export const DEV_PAYLOAD_KEYS_FILE = path.join(PROJECT_ROOT, '.data/payload-keys');

/** The development keys, if `rebound dev` made them in this checkout; null otherwise. */
export function existingDevPayloadKeys(file = DEV_PAYLOAD_KEYS_FILE): PayloadKeyring | null {
  let raw: string;
  try {
    raw = readFileSync(file, 'utf8').trim();
  } catch {
    return null;
  }
  try {
    return parsePayloadKeys(raw);
  } catch (err) {
    throw new Error(`${file} (the local stack's payload key) is unreadable: ${(err as Error).message.replace('REBOUND_PAYLOAD_KEYS', 'the file')}; delete it to make a new one (runs encrypted with the old key then no longer decrypt)`);
  }
}

/** The configured keys, else the development keys, made on first use. */
export function devPayloadKeys(configured: PayloadKeyring | null, file = DEV_PAYLOAD_KEYS_FILE): { keys: PayloadKeyring; source: 'REBOUND_PAYLOAD_KEYS' | string } {
  if (configured) return { keys: configured, source: 'REBOUND_PAYLOAD_KEYS' };
  const kept = existingDevPayloadKeys(file);
  if (kept) return { keys: kept, source: path.relative(PROJECT_ROOT, file) };
  const id = `dev-${new Date().toISOString().slice(0, 10).replace(/-/g, '')}`;
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${id}:${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
  return { keys: existingDevPayloadKeys(file)!, source: path.relative(PROJECT_ROOT, file) };
}
