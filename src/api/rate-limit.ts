// The per-key request limit of the HTTP API (README "HTTP API"): REBOUND_API_RATE_LIMIT requests
// a minute per API key, counted in this process (@fastify/rate-limit, a fixed one-minute window
// per key), answered 429 with Retry-After beyond it. Counted after the key is checked, on the
// routes that take one, so the limit is the key's, not an address's behind a shared proxy.
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Problem } from './problems';

export const RATE_LIMIT_WINDOW_MS = 60_000;

/** Registers the limit; must come before the routes it applies to (it hooks each route as it is added). */
export async function registerRateLimit(app: FastifyInstance, perMinute: number): Promise<void> {
  await app.register(rateLimit, {
    global: true,
    max: perMinute,
    timeWindow: RATE_LIMIT_WINDOW_MS,
    // Runs in onRequest after the route's own key check (requireScope), before the body is read.
    hook: 'onRequest',
    // Health, docs and the OpenAPI document take no key, and are not counted.
    allowList: (request: FastifyRequest) => request.apiKey === undefined,
    keyGenerator: (request: FastifyRequest) => (request.apiKey ? `key:${request.apiKey.id}` : 'no-key'),
    errorResponseBuilder: (request, context) =>
      new Problem(429, 'rate-limited', `API key "${request.apiKey?.name ?? '?'}" made more than ${context.max} requests in a minute; wait ${Math.ceil(context.ttl / 1000)} s (Retry-After) or raise REBOUND_API_RATE_LIMIT`),
  });
}
