// The address and domain routes of the HTTP API (README "HTTP API"): a suppression checked,
// added and lifted, an address's reputation, and per-domain health. Thin layers over the SDK
// (src/client/suppressions.ts, src/client/domains.ts), whose validation names the fields.
import type { FastifyInstance } from 'fastify';
import type { Pool } from 'pg';
import type { ReboundClient } from '../../client/rebound-client';
import type { DomainListOptions } from '../../domains/contract';
import { requireScope } from '../auth';
import { problemResponses } from '../contract';

const security = [{ apiKey: [] }];
const addressParams = { type: 'object', required: ['address'], properties: { address: { type: 'string', description: 'the recipient address' } } } as const;
const domainParams = { type: 'object', required: ['domain'], properties: { domain: { type: 'string', description: 'the recipient domain' } } } as const;
/** The SDK's answers are passed on whole: these schemas document their main fields. */
const suppressionStatusSchema = {
  type: 'object',
  additionalProperties: true,
  properties: {
    address: { type: 'string' },
    suppressed: { type: 'boolean' },
    reason: { type: ['string', 'null'] },
    category: { type: ['string', 'null'] },
    source: { type: ['string', 'null'], enum: ['auto', 'manual', 'import', null] },
    since: { type: ['string', 'null'] },
    until: { type: ['string', 'null'] },
  },
} as const;
const openObject = { type: 'object', additionalProperties: true } as const;

interface SuppressBody {
  reason?: string;
  days?: number;
  forever?: boolean;
  note?: string;
}

export function registerAddressRoutes(app: FastifyInstance, deps: { rebound: ReboundClient; pool: Pool }): void {
  const { rebound, pool } = deps;
  const actorOf = (request: { apiKey?: { name: string } }) => `api:${request.apiKey?.name ?? 'unknown'}`;

  app.get<{ Params: { address: string } }>(
    '/v1/suppressions/:address',
    {
      onRequest: requireScope(pool, 'read'),
      schema: { summary: 'Check an address', description: 'Whether senders skip this address right now, why and until when.', tags: ['suppressions'], security, params: addressParams, response: { 200: suppressionStatusSchema, ...problemResponses(401, 403, 422, 503) } },
    },
    async (request) => rebound.suppressions.check(request.params.address),
  );

  app.put<{ Params: { address: string }; Body: SuppressBody | undefined }>(
    '/v1/suppressions/:address',
    {
      onRequest: requireScope(pool, 'admin'),
      schema: {
        summary: 'Suppress an address',
        description: 'Adds or replaces a manual suppression, recorded with this key as its actor. `days` (1 to 3650, default 180) or `forever`.',
        tags: ['suppressions'],
        security,
        params: addressParams,
        body: { type: 'object', properties: { reason: { type: 'string' }, days: { type: 'number' }, forever: { type: 'boolean' }, note: { type: 'string' } } },
        response: { 200: suppressionStatusSchema, ...problemResponses(400, 401, 403, 415, 422, 503) },
      },
    },
    async (request) => {
      const body = request.body ?? {};
      return rebound.suppressions.add(request.params.address, { reason: body.reason, days: body.days, forever: body.forever, note: body.note, actor: actorOf(request) });
    },
  );

  app.delete<{ Params: { address: string }; Querystring: { reason?: string } }>(
    '/v1/suppressions/:address',
    {
      onRequest: requireScope(pool, 'admin'),
      schema: {
        summary: 'Lift a suppression',
        tags: ['suppressions'],
        security,
        params: addressParams,
        querystring: { type: 'object', properties: { reason: { type: 'string', description: 'why, recorded with the lift' } } },
        response: { 200: suppressionStatusSchema, ...problemResponses(401, 403, 422, 503) },
      },
    },
    async (request) => rebound.suppressions.lift(request.params.address, { reason: request.query.reason, actor: actorOf(request) }),
  );

  app.get<{ Params: { address: string } }>(
    '/v1/addresses/:address',
    {
      onRequest: requireScope(pool, 'read'),
      schema: {
        summary: "An address's reputation",
        description: "The reputation workflow's view (failed sends in a row, recent events and whether each counted), or null when no reputation workflow runs for the address; and the suppression senders see.",
        tags: ['suppressions'],
        security,
        params: addressParams,
        response: { 200: { type: 'object', properties: { address: { type: 'string' }, suppression: suppressionStatusSchema, reputation: { anyOf: [openObject, { type: 'null' }] } } }, ...problemResponses(401, 403, 422, 503) },
      },
    },
    async (request) => {
      const [suppression, reputation] = await Promise.all([rebound.suppressions.check(request.params.address), rebound.suppressions.reputation(request.params.address)]);
      return { address: suppression.address, suppression, reputation };
    },
  );

  app.get<{ Querystring: { window?: string; sort?: DomainListOptions['sort']; limit?: string; verdict?: DomainListOptions['verdict'] } }>(
    '/v1/domains',
    {
      onRequest: requireScope(pool, 'read'),
      schema: {
        summary: 'Recipient-domain health',
        description: 'Every recipient domain over a window (`Nh` or `Nd`, up to 30 days; default 24h): attempts, sends, soft and hard rates by scope, verdict (README "Domain health").',
        tags: ['domains'],
        security,
        querystring: { type: 'object', properties: { window: { type: 'string' }, sort: { type: 'string' }, limit: { type: 'string' }, verdict: { type: 'string' } } },
        response: { 200: { type: 'array', items: openObject }, ...problemResponses(401, 403, 422, 503) },
      },
    },
    async (request) => {
      const q = request.query;
      return rebound.domains.list({ window: q.window, sort: q.sort, verdict: q.verdict, limit: q.limit === undefined ? undefined : Number(q.limit) });
    },
  );

  app.get<{ Params: { domain: string }; Querystring: { window?: string } }>(
    '/v1/domains/:domain',
    {
      onRequest: requireScope(pool, 'read'),
      schema: {
        summary: "One domain's health",
        description: 'Its figures over the window, its top replies, and the messages to it retrying now.',
        tags: ['domains'],
        security,
        params: domainParams,
        querystring: { type: 'object', properties: { window: { type: 'string' } } },
        response: { 200: openObject, ...problemResponses(401, 403, 422, 503) },
      },
    },
    async (request) => rebound.domains.get(request.params.domain, { window: request.query.window }),
  );
}
