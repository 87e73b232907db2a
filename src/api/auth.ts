// Bearer API keys on the HTTP API (README "HTTP API"). Checked in onRequest, before the body is
// read: a caller without a key is turned away without the API parsing what it sent.
import type { FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import type { Pool } from 'pg';
import { authenticateApiKey, type ApiKeyRecord, type ApiKeyScope, scopeAllows } from './keys';
import { Problem } from './problems';

declare module 'fastify' {
  interface FastifyRequest {
    /** The key that authorised the request, on routes that require one. */
    apiKey?: ApiKeyRecord;
  }
}

/** `Authorization: Bearer <key>` → the key; anything else → null. */
export function bearerToken(header: string | undefined): string | null {
  const m = /^Bearer +(\S+) *$/i.exec(header ?? '');
  return m ? m[1] : null;
}

/** A hook that lets through requests whose key is active and whose scope covers `need`. */
export function requireScope(pool: Pool, need: ApiKeyScope): onRequestHookHandler {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    reply.header('WWW-Authenticate', 'Bearer');
    const token = bearerToken(request.headers.authorization);
    if (!token) throw new Problem(401, 'unauthorized', 'send an API key as "Authorization: Bearer <key>"; create one with `rebound api-keys create`');
    const key = await authenticateApiKey(pool, token);
    if (!key) throw new Problem(401, 'unauthorized', 'the API key is unknown or revoked; create a new one with `rebound api-keys create`');
    if (!scopeAllows(key.scope, need)) {
      throw new Problem(403, 'forbidden', `this route needs a key of scope "${need}" (or a wider one); key "${key.name}" has scope "${key.scope}"`);
    }
    reply.removeHeader('WWW-Authenticate');
    request.apiKey = key;
  };
}
