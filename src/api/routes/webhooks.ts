// The webhook routes of the HTTP API (README "Webhooks"): register an endpoint (its secret is
// in this answer only), list, delete, and send it a signed test event through the same outbox
// and delivery workflow as every event. Scope admin: an endpoint receives every recipient's
// outcome.
import type { FastifyInstance } from 'fastify';
import type { Pool } from 'pg';
import type { ReboundClient } from '../../client/rebound-client';
import type { ReboundConfig } from '../../config';
import { ValidationError } from '../../errors';
import { WEBHOOK_EVENT_TYPES } from '../../webhooks/contract';
import { checkResolvedHost } from '../../webhooks/resolve';
import { createEndpoint, deleteEndpoint, getEndpoint, insertTestEvent, listEndpoints } from '../../webhooks/store';
import { validateWebhookRegistration } from '../../webhooks/validate';
import { requireScope } from '../auth';
import { problemResponses } from '../contract';
import { Problem } from '../problems';

const security = [{ apiKey: [] }];
const tags = ['webhooks'];
const eventTypes = { type: 'array', items: { type: 'string', enum: [...WEBHOOK_EVENT_TYPES] } } as const;
const endpointProperties = {
  id: { type: 'string', examples: ['wh_3f2a…'] },
  url: { type: 'string', format: 'uri' },
  events: eventTypes,
  createdAt: { type: 'string', format: 'date-time' },
  disabledAt: { type: ['string', 'null'], format: 'date-time', description: 'set when the receiver answered 410 Gone' },
  disabledReason: { type: ['string', 'null'] },
} as const;
const endpointSchema = { type: 'object', required: ['id', 'url', 'events'], properties: endpointProperties } as const;
const createdSchema = {
  type: 'object',
  required: ['id', 'url', 'events', 'secret'],
  properties: { ...endpointProperties, secret: { type: 'string', description: 'whsec_…: the signing secret, shown only in this answer' } },
} as const;
const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', description: 'the endpoint id' } } } as const;

export interface WebhookRouteDeps {
  rebound: ReboundClient;
  pool: Pool;
  /** The configuration (the API is given all of it); without `webhooksAllowPrivate`, private URLs are refused. */
  config: object & Partial<Pick<ReboundConfig, 'webhooksAllowPrivate'>>;
}

export function registerWebhookRoutes(app: FastifyInstance, { pool, config }: WebhookRouteDeps): void {
  const allowPrivate = config.webhooksAllowPrivate === true;
  const notFound = (id: string) => new Problem(404, 'not-found', `no webhook endpoint with id ${id}; GET /v1/webhooks lists them`);

  app.post(
    '/v1/webhooks',
    {
      onRequest: requireScope(pool, 'admin'),
      schema: {
        summary: 'Register a webhook endpoint',
        description:
          'Events of the given types are POSTed to `url`, signed per Standard Webhooks with the returned secret (shown once). http(s) only; hosts on loopback or private addresses are refused unless REBOUND_WEBHOOKS_ALLOW_PRIVATE=1.',
        tags,
        security,
        body: { type: 'object', required: ['url', 'events'], properties: { url: { type: 'string', maxLength: 2000 }, events: eventTypes }, additionalProperties: false },
        response: { 201: createdSchema, ...problemResponses(400, 401, 403, 415, 422, 503) },
      },
    },
    async (request, reply) => {
      const registration = validateWebhookRegistration(request.body, allowPrivate);
      if (registration.hostName !== null) {
        try {
          await checkResolvedHost(registration.hostName, allowPrivate);
        } catch (err) {
          throw new ValidationError('url', (err as Error).message);
        }
      }
      const created = await createEndpoint(pool, registration.url, registration.events);
      request.log.info({ endpointId: created.id, events: created.events }, 'webhook endpoint registered');
      return reply.code(201).send(created);
    },
  );

  app.get(
    '/v1/webhooks',
    {
      onRequest: requireScope(pool, 'admin'),
      schema: { summary: 'List webhook endpoints', description: 'Without their secrets.', tags, security, response: { 200: { type: 'array', items: endpointSchema }, ...problemResponses(401, 403, 503) } },
    },
    async () => listEndpoints(pool),
  );

  app.delete<{ Params: { id: string } }>(
    '/v1/webhooks/:id',
    {
      onRequest: requireScope(pool, 'admin'),
      schema: { summary: 'Delete a webhook endpoint', description: 'Deliveries to it in flight stop at their next try.', tags, security, params: idParams, response: { 204: { type: 'null' }, ...problemResponses(401, 403, 404, 503) } },
    },
    async (request, reply) => {
      if (!(await deleteEndpoint(pool, request.params.id))) throw notFound(request.params.id);
      request.log.info({ endpointId: request.params.id }, 'webhook endpoint deleted');
      return reply.code(204).send();
    },
  );

  app.post<{ Params: { id: string } }>(
    '/v1/webhooks/:id/test',
    {
      onRequest: requireScope(pool, 'admin'),
      schema: {
        summary: 'Send a test event',
        description: 'A signed `webhook.test` event to this endpoint only, delivered like any event (same schedule, same headers). Answers its event id (the `webhook-id` header).',
        tags,
        security,
        params: idParams,
        response: { 202: { type: 'object', required: ['eventId'], properties: { eventId: { type: 'string' } } }, ...problemResponses(401, 403, 404, 422, 503) },
      },
    },
    async (request, reply) => {
      const endpoint = await getEndpoint(pool, request.params.id);
      if (!endpoint) throw notFound(request.params.id);
      if (endpoint.disabledAt) throw new ValidationError('id', `endpoint ${endpoint.id} was disabled at ${endpoint.disabledAt} (${endpoint.disabledReason}); register the URL again`);
      const eventId = await insertTestEvent(pool, endpoint.id);
      return reply.code(202).send({ eventId });
    },
  );
}
