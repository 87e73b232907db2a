// GET /metrics on the HTTP API (README "Metrics"), for a key of scope `read`: the process's
// Prometheus text (src/metrics/registry.ts). Also the hook that counts every API request by
// route template and status class, and the messages POST /v1/messages accepted. Registered
// before the other routes, on the root instance, so the hook sees all of them.
import type { FastifyInstance } from 'fastify';
import type { Pool } from 'pg';
import { countAcceptedMessage, countApiRequest, processMetrics, renderMetrics } from '../../metrics/registry';
import { requireScope } from '../auth';
import { problemResponses } from '../contract';

/** Requests that matched no route count under one label, not under their URL. */
const UNMATCHED = 'unmatched';

export function registerMetricsRoutes(app: FastifyInstance, deps: { pool: Pool }): void {
  processMetrics();
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? UNMATCHED;
    countApiRequest(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
    if (request.method === 'POST' && route === '/v1/messages') {
      if (reply.statusCode === 202) countAcceptedMessage('new');
      else if (reply.statusCode === 200) countAcceptedMessage('existing');
    }
  });

  app.get(
    '/metrics',
    {
      onRequest: requireScope(deps.pool, 'read'),
      schema: {
        summary: 'Prometheus metrics',
        description: "This process's metrics in the Prometheus text format: API requests and accepted messages, process metrics, and the worker's when a worker runs in the same process.",
        tags: ['health'],
        security: [{ apiKey: [] }],
        response: {
          200: { description: 'Prometheus text format 0.0.4', content: { 'text/plain': { schema: { type: 'string' } } } },
          ...problemResponses(401, 403),
        },
      },
    },
    async (_request, reply) => {
      const { contentType, body } = await renderMetrics();
      return reply.type(contentType).send(body);
    },
  );
}
