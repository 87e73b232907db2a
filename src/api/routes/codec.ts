// The codec server (README "Payload encryption", codec server): POST /codec/decode and
// /codec/encode in Temporal's codec-server protocol, so the Temporal UI and the `temporal` CLI can
// show what the server keeps only as ciphertext. Every call needs an API key: as
// `Authorization: Bearer` (the CLI's --codec-auth, scripts), or as the HttpOnly cookie that
// POST /codec/session sets for a browser (the dashboard does it when a key is entered), which the
// Temporal UI sends when it includes credentials. A cookie counts only from the UIs in
// REBOUND_CODEC_CORS_ORIGINS, so a page elsewhere cannot decode with the operator's browser.
import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import type { Pool } from 'pg';
import type { PayloadKeyring } from '../../codec/contract';
import { PayloadDecryptError } from '../../codec/contract';
import { AesGcmPayloadCodec } from '../../codec/payload-codec';
import { payloadsFromJson, payloadsToJson } from '../../codec/payloads-json';
import type { ReboundConfig } from '../../config';
import { ValidationError } from '../../errors';
import { bearerToken } from '../auth';
import { authenticateApiKey, scopeAllows, type ApiKeyScope } from '../keys';
import { problemResponses } from '../contract';
import { Problem } from '../problems';

/** The cookie that carries the key for the Temporal UI; only ever sent to /codec. */
export const CODEC_COOKIE = 'rebound_codec';
/** How long a browser's codec session lasts before the operator enters the key again. */
export const CODEC_SESSION_SECONDS = 8 * 60 * 60;
/** Room for a page of history's payloads (each up to Temporal's 2 MB blob limit is rare). */
export const CODEC_BODY_LIMIT = 8 * 1024 * 1024;
/** Decoding shows what the read routes show (addresses, replies); encoding makes input a worker trusts, like steering a run. */
const SCOPE: Record<'decode' | 'encode', ApiKeyScope> = { decode: 'read', encode: 'admin' };

export interface CodecRouteDeps {
  pool: Pool;
  config: Partial<Pick<ReboundConfig, 'payloadKeys' | 'codecCorsOrigins'>>;
}

function cookieValue(header: string | undefined, name: string): string | null {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return null;
}

function sessionCookie(request: FastifyRequest, value: string, maxAge: number): string {
  // Secure over HTTPS; over plain HTTP (the local stack on localhost) a Secure cookie would be dropped.
  const secure = request.protocol === 'https' ? '; Secure' : '';
  return `${CODEC_COOKIE}=${encodeURIComponent(value)}; Path=/codec; HttpOnly; SameSite=Strict; Max-Age=${maxAge}${secure}`;
}

export function registerCodecRoutes(app: FastifyInstance, deps: CodecRouteDeps): void {
  const origins = new Set(deps.config.codecCorsOrigins ?? []);
  const keys: PayloadKeyring | null = deps.config.payloadKeys ?? null;
  const codec = keys ? new AesGcmPayloadCodec(keys) : null;
  const allowedOrigin = (request: FastifyRequest): string | null => {
    const origin = request.headers.origin;
    return origin && origins.has(origin) ? origin : null;
  };

  /** CORS for the configured UIs, on every answer (errors too, so the UI can show them). */
  const cors: onRequestHookHandler = async (request, reply) => {
    const origin = allowedOrigin(request);
    reply.header('Vary', 'Origin');
    if (origin) reply.header('Access-Control-Allow-Origin', origin).header('Access-Control-Allow-Credentials', 'true');
  };

  const requireKey = (need: ApiKeyScope): onRequestHookHandler => async (request: FastifyRequest, reply: FastifyReply) => {
    if (!codec) throw new Problem(404, 'not-found', 'the codec server is off: REBOUND_PAYLOAD_KEYS is not set on this API (payloads are stored unencrypted)');
    reply.header('WWW-Authenticate', 'Bearer');
    const fromHeader = bearerToken(request.headers.authorization);
    const fromCookie = fromHeader ? null : cookieValue(request.headers.cookie, CODEC_COOKIE);
    if (fromCookie && !allowedOrigin(request)) {
      throw new Problem(403, 'forbidden', `the codec session cookie is accepted only from the Temporal UIs in REBOUND_CODEC_CORS_ORIGINS; this request came from ${JSON.stringify(request.headers.origin ?? 'no Origin')}`);
    }
    const token = fromHeader ?? fromCookie;
    if (!token) {
      throw new Problem(401, 'unauthorized', 'the codec server needs an API key: "Authorization: Bearer <key>" (temporal --codec-auth), or a browser session from the dashboard (/ui) with the Temporal UI including credentials');
    }
    const key = await authenticateApiKey(deps.pool, token);
    if (!key) throw new Problem(401, 'unauthorized', 'the API key is unknown or revoked; create a new one with `rebound api-keys create`');
    if (!scopeAllows(key.scope, need)) throw new Problem(403, 'forbidden', `this codec route needs a key of scope "${need}" (or a wider one); key "${key.name}" has scope "${key.scope}"`);
    reply.removeHeader('WWW-Authenticate');
    request.apiKey = key;
  };

  const preflight = async (request: FastifyRequest, reply: FastifyReply) => {
    const origin = allowedOrigin(request);
    reply.header('Vary', 'Origin');
    if (!origin) throw new Problem(403, 'forbidden', `origin ${JSON.stringify(request.headers.origin ?? '')} may not call the codec server; add it to REBOUND_CODEC_CORS_ORIGINS`);
    return reply
      .code(204)
      .header('Access-Control-Allow-Origin', origin)
      .header('Access-Control-Allow-Credentials', 'true')
      .header('Access-Control-Allow-Methods', 'POST, OPTIONS')
      .header('Access-Control-Allow-Headers', 'Content-Type, X-Namespace, Authorization')
      .header('Access-Control-Max-Age', '600')
      .send();
  };

  const payloadsSchema = {
    type: 'object',
    properties: { payloads: { type: 'array', items: { type: 'object', properties: { metadata: { type: 'object', additionalProperties: { type: 'string', contentEncoding: 'base64' } }, data: { type: 'string', contentEncoding: 'base64' } } } } },
  } as const;

  for (const op of ['decode', 'encode'] as const) {
    app.options(`/codec/${op}`, { schema: { hide: true } }, preflight);
    app.post(
      `/codec/${op}`,
      {
        bodyLimit: CODEC_BODY_LIMIT,
        onRequest: [cors, requireKey(SCOPE[op])],
        schema: {
          summary: op === 'decode' ? 'Decrypt payloads (Temporal codec server)' : 'Encrypt payloads (Temporal codec server)',
          description:
            op === 'decode'
              ? 'The Temporal UI and CLI send the payloads they show; encrypted ones come back decrypted, others unchanged. Needs scope read.'
              : 'The Temporal UI and CLI send the input they start or signal with; it comes back encrypted with the first key. Needs scope admin.',
          tags: ['codec'],
          security: [{ apiKey: [] }],
          body: payloadsSchema,
          response: { 200: { description: 'the payloads, in the same order', ...payloadsSchema }, ...problemResponses(401, 403, 404, 413, 422) },
        },
      },
      async (request) => {
        const payloads = payloadsFromJson(request.body);
        if (op === 'encode') return payloadsToJson(await codec!.encode(payloads));
        // One at a time, so an error names the payload that does not decrypt.
        const decoded = [];
        for (const [i, payload] of payloads.entries()) {
          try {
            decoded.push(...(await codec!.decode([payload])));
          } catch (err) {
            if (err instanceof PayloadDecryptError) throw new ValidationError(`payloads[${i}]`, err.message);
            throw err;
          }
        }
        return payloadsToJson(decoded);
      },
    );
  }

  app.post(
    '/codec/session',
    {
      schema: {
        summary: 'Start a browser session for the Temporal UI',
        description: `Sets an HttpOnly cookie (Path=/codec, SameSite=Strict, ${CODEC_SESSION_SECONDS / 3600} h) holding the key, which the Temporal UI sends to /codec/decode when it includes credentials. Any scope; the codec routes check it as they check a Bearer key.`,
        tags: ['codec'],
        security: [{ apiKey: [] }],
        response: {
          200: { description: 'the session is set (session true), or the codec is off (session false)', type: 'object', properties: { session: { type: 'boolean' }, key: { type: 'string' }, scope: { type: 'string' }, expiresAt: { type: 'string' }, detail: { type: 'string' } } },
          ...problemResponses(401),
        },
      },
    },
    async (request, reply) => {
      // The Bearer header only: a session is never made from a cookie.
      const token = bearerToken(request.headers.authorization);
      const key = token ? await authenticateApiKey(deps.pool, token) : null;
      if (!token || !key) throw new Problem(401, 'unauthorized', 'send the API key as "Authorization: Bearer <key>" to start a codec session');
      request.apiKey = key;
      reply.header('Cache-Control', 'no-store');
      // Answered, not refused, when the codec is off: the dashboard asks on every sign-in.
      if (!codec) return { session: false, key: key.name, scope: key.scope, detail: 'the codec server is off: REBOUND_PAYLOAD_KEYS is not set on this API (payloads are stored unencrypted)' };
      reply.header('Set-Cookie', sessionCookie(request, token, CODEC_SESSION_SECONDS));
      return { session: true, key: key.name, scope: key.scope, expiresAt: new Date(Date.now() + CODEC_SESSION_SECONDS * 1000).toISOString() };
    },
  );

  app.delete('/codec/session', { schema: { hide: true } }, async (request, reply) => {
    reply.header('Set-Cookie', sessionCookie(request, '', 0));
    return reply.code(204).send();
  });
}
