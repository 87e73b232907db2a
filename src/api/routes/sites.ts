// Sites over HTTP (README "Traffic shaping", visibility): the read model `rebound sites` prints,
// one site, and an operator's suspend and resume. Thin layers over the SDK (src/client/sites.ts),
// which names a bad field; suspending and resuming need `admin`, like writing suppressions.
import type { FastifyInstance } from 'fastify';
import type { Pool } from 'pg';
import type { ReboundClient } from '../../client/rebound-client';
import { ValidationError } from '../../errors';
import { MAX_QUEUE_LIMIT } from '../../sites/view';
import { requireScope } from '../auth';
import { problemResponses } from '../contract';

const security = [{ apiKey: [] }];
const tags = ['sites'];
const time = { type: 'string', format: 'date-time' } as const;
const nullableInt = { type: ['integer', 'null'] } as const;

const limitsSchema = {
  type: 'object',
  additionalProperties: true,
  properties: {
    connections: { type: 'integer', description: 'connections at once, all workers together' },
    initialConnections: { type: 'integer', description: 'where the connection limit starts before the site answered well' },
    messagesPerConnection: { type: 'integer' },
    messagesPerMinute: { ...nullableInt, description: 'null: no cap' },
  },
} as const;

const suspensionProperties = {
  scope: { type: 'string', enum: ['site', 'domain'] },
  site: { type: 'string', description: 'the site, or the recipient domain for scope domain' },
  until: time,
  rule: { type: 'string', description: 'the rule that matched, or "manual"' },
  reply: { type: ['string', 'null'], description: "the receiver's reply that matched the rule, or an operator's note" },
  since: time,
} as const;
const suspensionSchema = { type: 'object', additionalProperties: true, properties: suspensionProperties } as const;
const adjustmentSchema = { type: 'object', additionalProperties: true, properties: { ...suspensionProperties, connections: nullableInt, messagesPerMinute: nullableInt } } as const;

export const siteViewSchema = {
  type: 'object',
  additionalProperties: true,
  required: ['site', 'state', 'limits', 'suspensions', 'adjustments', 'queue', 'lastHour'],
  properties: {
    site: { type: 'string' },
    state: { type: 'string', enum: ['open', 'suspended', 'throttled'] },
    limits: limitsSchema,
    effectiveLimits: { ...limitsSchema, description: 'the limits under the site-wide adjustments in force' },
    configured: { type: 'boolean' },
    suspensions: { type: 'array', items: suspensionSchema },
    adjustments: { type: 'array', items: adjustmentSchema },
    queue: {
      type: 'object',
      additionalProperties: true,
      properties: {
        total: { type: 'integer', description: 'recipients whose latest attempt was a deferral at this site, of messages still open' },
        recipients: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: true,
            properties: {
              messageId: { type: 'string' },
              recipient: { type: 'string' },
              attempt: { type: 'integer' },
              at: time,
              reply: { type: 'object', additionalProperties: true, properties: { code: nullableInt, enhanced: { type: ['string', 'null'] }, text: { type: 'string' } } },
              category: { type: 'string' },
              retryAfterMs: nullableInt,
              heldBack: { type: 'boolean', description: 'deferred by Rebound without an SMTP attempt (the site suspended or throttled)' },
            },
          },
        },
      },
    },
    lastHour: {
      type: 'object',
      additionalProperties: true,
      properties: { delivered: { type: 'integer' }, soft: { type: 'integer' }, hard: { type: 'integer' }, heldBack: { type: 'integer' } },
    },
    lastAttemptAt: { type: ['string', 'null'], format: 'date-time' },
  },
} as const;

const sitesSchema = {
  type: 'object',
  additionalProperties: true,
  required: ['at', 'sites', 'unplaced'],
  properties: {
    at: time,
    sites: { type: 'array', items: siteViewSchema },
    unplaced: {
      type: 'object',
      description: 'domain-scope suspensions and adjustments whose domain has no attempt with a known site yet',
      additionalProperties: true,
      properties: { suspensions: { type: 'array', items: suspensionSchema }, adjustments: { type: 'array', items: adjustmentSchema } },
    },
  },
} as const;

const siteParams = { type: 'object', required: ['site'], properties: { site: { type: 'string', description: 'a site name: a provider such as google, or an MX host' } } } as const;
const queueQuery = { type: 'object', properties: { queue: { type: 'integer', minimum: 0, maximum: MAX_QUEUE_LIMIT, description: 'queued recipients listed per site (default 20); the total is always given' } } } as const;

/** `?queue=` as a whole number, or a ValidationError naming it. */
function queueLimitOf(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = /^\d{1,4}$/.test(value) ? Number(value) : NaN;
  if (!(n >= 0 && n <= MAX_QUEUE_LIMIT)) throw new ValidationError('queue', `must be a whole number from 0 to ${MAX_QUEUE_LIMIT}; got ${JSON.stringify(value)}`);
  return n;
}

/** A JSON body that must be an object (or absent, when `optional`), else a ValidationError naming `body`. */
function objectBody(body: unknown, optional: boolean): Record<string, unknown> {
  if (body === undefined || body === null) {
    if (optional) return {};
    throw new ValidationError('body', 'send a JSON object such as {"minutes": 30, "note": "..."}');
  }
  if (typeof body !== 'object' || Array.isArray(body)) throw new ValidationError('body', 'must be a JSON object');
  return body as Record<string, unknown>;
}

export function registerSiteRoutes(app: FastifyInstance, deps: { rebound: ReboundClient; pool: Pool }): void {
  const { rebound, pool } = deps;

  app.get<{ Querystring: { queue?: string } }>(
    '/v1/sites',
    {
      onRequest: requireScope(pool, 'read'),
      schema: {
        summary: 'List sites',
        description:
          'Every site suspended or throttled now, named by the configuration, or attempted in the last 24 h: its state, limits, the suspensions and adjustments in force with the reply that caused them, the queue of recipients deferred at it, and its last hour of attempts.',
        tags,
        security,
        querystring: queueQuery,
        response: { 200: sitesSchema, ...problemResponses(401, 403, 422, 503) },
      },
    },
    async (request) => rebound.sites.list({ queueLimit: queueLimitOf(request.query.queue) }),
  );

  app.get<{ Params: { site: string }; Querystring: { queue?: string } }>(
    '/v1/sites/:site',
    {
      onRequest: requireScope(pool, 'read'),
      schema: {
        summary: 'Show one site',
        description: 'As in the list; a site nothing is known of is open, with its configured limits.',
        tags,
        security,
        params: siteParams,
        querystring: queueQuery,
        response: { 200: siteViewSchema, ...problemResponses(401, 403, 422, 503) },
      },
    },
    async (request) => rebound.sites.get(request.params.site, { queueLimit: queueLimitOf(request.query.queue) }),
  );

  app.post<{ Params: { site: string }; Body: unknown }>(
    '/v1/sites/:site/suspend',
    {
      onRequest: requireScope(pool, 'admin'),
      schema: {
        summary: 'Suspend a site',
        description:
          'No connection to the site (or, with scope domain, to that recipient domain) for `minutes`; its recipients are deferred until it reopens, without blame. Rule `manual`, the note kept as its reply. A suspension in force is extended, never shortened. Sends `site.suspended`.',
        tags,
        security,
        params: siteParams,
        body: {
          type: 'object',
          required: ['minutes'],
          properties: {
            minutes: { type: 'integer', minimum: 1, maximum: 43200 },
            note: { type: 'string', maxLength: 500 },
            scope: { type: 'string', enum: ['site', 'domain'], description: 'site (default), or domain: then {site} is a recipient domain' },
          },
          additionalProperties: false,
        },
        response: { 200: suspensionSchema, ...problemResponses(400, 401, 403, 415, 422, 503) },
      },
    },
    async (request) => {
      const body = objectBody(request.body, false);
      for (const field of Object.keys(body)) if (!['minutes', 'note', 'scope'].includes(field)) throw new ValidationError(field, 'is not a field of a suspension (minutes, note, scope)');
      const actor = `api:${request.apiKey?.name ?? 'unknown'}`;
      const s = await rebound.sites.suspend(request.params.site, { minutes: body.minutes as number, note: body.note as string | undefined, scope: body.scope as 'site' | 'domain' | undefined }, actor);
      request.log.info({ site: s.site, scope: s.scope, until: s.until, actor }, 'site suspended by an operator');
      return s;
    },
  );

  app.post<{ Params: { site: string }; Body: unknown }>(
    '/v1/sites/:site/resume',
    {
      onRequest: requireScope(pool, 'admin'),
      schema: {
        summary: 'Resume a site',
        description: 'Lifts the suspension now: the site takes mail at its recipients\' next attempts. `resumed: false` when none was in force. Sends `site.resumed` (resumedBy manual).',
        tags,
        security,
        params: siteParams,
        body: { type: 'object', properties: { scope: { type: 'string', enum: ['site', 'domain'] } }, additionalProperties: false },
        response: {
          200: { type: 'object', required: ['site', 'scope', 'resumed'], properties: { site: { type: 'string' }, scope: { type: 'string', enum: ['site', 'domain'] }, resumed: { type: 'boolean' } } },
          ...problemResponses(400, 401, 403, 415, 422, 503),
        },
      },
    },
    async (request) => {
      const body = objectBody(request.body, true);
      for (const field of Object.keys(body)) if (field !== 'scope') throw new ValidationError(field, 'is not a field of a resume (scope)');
      const result = await rebound.sites.resume(request.params.site, { scope: body.scope as 'site' | 'domain' | undefined });
      request.log.info({ ...result, actor: `api:${request.apiKey?.name ?? 'unknown'}` }, result.resumed ? 'site resumed by an operator' : 'site resume asked, none in force');
      return result;
    },
  );
}
