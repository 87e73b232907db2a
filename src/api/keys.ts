// API keys of the HTTP API (README "HTTP API"): their format, their hash, what each scope may do,
// and their table (migrations/1764500000000_api-keys.sql). A key is `rbk_` and 32 random bytes in
// base64url; only its SHA-256 is stored, so the table leaks nothing that authorises a request.
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Pool } from 'pg';
import { ValidationError } from '../errors';

export const API_KEY_SCOPES = ['read', 'send', 'admin'] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

const KEY_PREFIX = 'rbk_';
const KEY_BYTES = 32;
/** `rbk_` + 43 base64url characters (32 bytes, unpadded). */
const KEY_PATTERN = /^rbk_[A-Za-z0-9_-]{43}$/;

/** A new random key, in the form it is handed out once. */
export function generateApiKey(): string {
  return `${KEY_PREFIX}${randomBytes(KEY_BYTES).toString('base64url')}`;
}

export function isWellFormedApiKey(key: string): boolean {
  return KEY_PATTERN.test(key);
}

/** The SHA-256 of a key: what the table stores and lookups compare. */
export function hashApiKey(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

/**
 * Whether a key of scope `have` may do what needs `need`. The scopes are nested: `read` reads
 * messages; `send` also posts and cancels them; `admin` does everything, retry-now included.
 */
export function scopeAllows(have: ApiKeyScope, need: ApiKeyScope): boolean {
  return API_KEY_SCOPES.indexOf(have) >= API_KEY_SCOPES.indexOf(need);
}

export function parseScope(value: unknown): ApiKeyScope {
  if (typeof value === 'string' && (API_KEY_SCOPES as readonly string[]).includes(value)) return value as ApiKeyScope;
  throw new ValidationError('scope', `expected one of ${API_KEY_SCOPES.join(', ')}, got ${JSON.stringify(value)}`);
}

export interface ApiKeyRecord {
  id: string;
  name: string;
  scope: ApiKeyScope;
  createdAt: string;
  revokedAt: string | null;
}

/** A created key: the record and the key itself, which is never available again. */
export interface CreatedApiKey extends ApiKeyRecord {
  key: string;
}

const COLUMNS = 'id, name, scope, created_at, revoked_at';

function toRecord(r: Record<string, any>): ApiKeyRecord {
  return { id: r.id, name: r.name, scope: r.scope, createdAt: r.created_at.toISOString(), revokedAt: r.revoked_at ? r.revoked_at.toISOString() : null };
}

/** The table is missing: the database was not migrated. Says what to run. */
function explainMissingTable(err: unknown): never {
  if ((err as { code?: string }).code === '42P01') {
    throw new Error(`the api_keys table does not exist: migrate the database first (\`npm run setup\`, or \`node dist/src/db/setup-cli.js\`): ${(err as Error).message}`);
  }
  throw err;
}

export async function createApiKey(pool: Pool, opts: { name: string; scope: ApiKeyScope }): Promise<CreatedApiKey> {
  const name = opts.name.trim();
  if (!name || name.length > 200) throw new ValidationError('name', 'expected 1 to 200 characters');
  const scope = parseScope(opts.scope);
  const key = generateApiKey();
  const res = await pool
    .query(`INSERT INTO api_keys (id, name, scope, key_hash) VALUES ($1, $2, $3, $4) RETURNING ${COLUMNS}`, [`key_${randomUUID()}`, name, scope, hashApiKey(key)])
    .catch(explainMissingTable);
  return { ...toRecord(res.rows[0]), key };
}

export async function listApiKeys(pool: Pool): Promise<ApiKeyRecord[]> {
  const res = await pool.query(`SELECT ${COLUMNS} FROM api_keys ORDER BY created_at, id`).catch(explainMissingTable);
  return res.rows.map(toRecord);
}

/** Revokes a key; revoking it again keeps the first revocation time. Null when no key has the id. */
export async function revokeApiKey(pool: Pool, id: string): Promise<ApiKeyRecord | null> {
  const res = await pool
    .query(`UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1 RETURNING ${COLUMNS}`, [id])
    .catch(explainMissingTable);
  return res.rows[0] ? toRecord(res.rows[0]) : null;
}

/**
 * The active key a request presents, or null (malformed, unknown or revoked). The lookup is by
 * hash, so the database never compares the secret itself; the hashes are compared once more in
 * constant time, so the answer's timing does not depend on how much of a hash matched.
 */
export async function authenticateApiKey(pool: Pool, presented: string): Promise<ApiKeyRecord | null> {
  if (!isWellFormedApiKey(presented)) return null;
  const hash = hashApiKey(presented);
  const res = await pool.query(`SELECT ${COLUMNS}, key_hash FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL`, [hash]).catch(explainMissingTable);
  const row = res.rows[0];
  if (!row || !timingSafeEqual(row.key_hash as Buffer, hash)) return null;
  return toRecord(row);
}
