// The HTTP API's fastify instance (README "HTTP API"), built from a connected ReboundClient, the
// pool its keys are in and the configuration; `rebound api` (src/cli/api.ts) listens with it,
// the tests inject it on a free port.
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Pool } from 'pg';
import type { ReboundClient } from '../client/rebound-client';
import type { ReboundConfig } from '../config';
import { logger as rootLogger, type Logger } from '../log';
import { handleError, Problem, sendProblem } from './problems';
import { registerAddressRoutes } from './routes/addresses';
import { registerDomainSeriesRoutes } from './routes/domains-series';
import { registerHealthRoutes } from './routes/health';
import { registerInboundRoutes } from './routes/inbound';
import { registerMessageRoutes } from './routes/messages';
import { registerMetricsRoutes } from './routes/metrics';
import { registerRateLimit } from './rate-limit';
import { requestLogFields } from './request-log';
import { registerSecurityHeaders } from './security-headers';
import { registerMessageListRoutes } from './routes/messages-list';
import { suppressionRoutes } from './routes/suppressions';
import { registerUiRoutes } from './ui/routes';
import { registerWebhookRoutes } from './routes/webhooks';
import { registerReportRoutes } from './routes/reports';
import { registerSiteRoutes } from './routes/sites';
import { registerCodecRoutes } from './routes/codec';

/**
 * Room for the JSON around a message's content (field names, escaped quotes and newlines): the
 * exact limit on the content is the SDK's (a 422 naming the field), this one only keeps bodies
 * that cannot be accepted from being read and parsed at all (413).
 */
export function bodyLimitFor(maxMessageBytes: number): number {
  return maxMessageBytes + Math.max(1024 * 1024, Math.ceil(maxMessageBytes / 4));
}

export interface ApiServerOptions {
  rebound: ReboundClient;
  /** Where the API keys are (usually the client's pool). */
  pool: Pool;
  config: Pick<ReboundConfig, 'maxMessageBytes' | 'apiRateLimitPerMinute' | 'apiTimeouts' | 'temporalUiUrl' | 'temporalNamespace' | 'providers'> & Partial<Pick<ReboundConfig, 'payloadKeys' | 'codecCorsOrigins'>>;
  logger?: Logger;
}

/**
 * node:http checks the headers and request timeouts on a timer (30 s by default), so a deadline
 * could be overrun by that much: the timer ticks at a quarter of the shortest one instead, at
 * least every 100 ms, at most every 30 s (README "Security", Bounded).
 */
export function timeoutCheckIntervalMs(timeouts: ReboundConfig['apiTimeouts']): number {
  return Math.min(30_000, Math.max(100, Math.floor(Math.min(timeouts.headersMs, timeouts.requestMs) / 4)));
}

export async function buildApiServer(opts: ApiServerOptions): Promise<FastifyInstance> {
  const timeouts = opts.config.apiTimeouts;
  const app = Fastify({
    // Every wait on a client is bounded (slow-loris): fastify's defaults leave the request
    // timeout off and no idle timeout at all.
    connectionTimeout: timeouts.idleMs,
    requestTimeout: timeouts.requestMs,
    keepAliveTimeout: timeouts.keepAliveMs,
    http: { headersTimeout: timeouts.headersMs, requestTimeout: timeouts.requestMs, connectionsCheckingInterval: timeoutCheckIntervalMs(timeouts) },
    // Request lines name the route, not the address it was about (src/api/request-log.ts).
    loggerInstance: (opts.logger ?? rootLogger).child({ component: 'api' }, { serializers: { req: requestLogFields } }) as FastifyBaseLogger,
    bodyLimit: bodyLimitFor(opts.config.maxMessageBytes),
    // Behind a proxy the connection is not the client: request ids, not addresses, tie logs together.
    requestIdHeader: 'x-request-id',
  });
  // Schemas document (contract.ts); validation is the SDK's, so fields are named as it names them.
  app.setValidatorCompiler(() => () => true);
  // JSON only: fastify would otherwise hand a text/plain body to the routes as a string.
  app.removeContentTypeParser('text/plain');
  registerSecurityHeaders(app);
  app.setErrorHandler((err, request, reply) => handleError(err, request, reply));
  app.setNotFoundHandler((request, reply) => sendProblem(reply, new Problem(404, 'not-found', `no route ${request.method} ${request.url}; the routes are listed at /openapi.json`)));

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Rebound HTTP API', version: 'v1', description: 'Durable email delivery: send a message, follow it, cancel it, retry it now. Errors are RFC 9457 problem details.' },
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'a key from `rebound api-keys create`' } } },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  await registerRateLimit(app, opts.config.apiRateLimitPerMinute);

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  registerMetricsRoutes(app, { pool: opts.pool });
  registerHealthRoutes(app, { pool: opts.pool, temporal: opts.rebound.temporal });
  registerMessageRoutes(app, { rebound: opts.rebound, pool: opts.pool });
  registerAddressRoutes(app, { rebound: opts.rebound, pool: opts.pool });
  registerMessageListRoutes(app, { rebound: opts.rebound, pool: opts.pool });
  await app.register(suppressionRoutes({ rebound: opts.rebound, pool: opts.pool }));
  registerDomainSeriesRoutes(app, { pool: opts.pool });
  registerUiRoutes(app, { config: opts.config });
  registerWebhookRoutes(app, { rebound: opts.rebound, pool: opts.pool, config: opts.config });
  registerReportRoutes(app, { rebound: opts.rebound, pool: opts.pool });
  registerSiteRoutes(app, { rebound: opts.rebound, pool: opts.pool });
  registerInboundRoutes(app, { pool: opts.pool, config: opts.config });
  registerCodecRoutes(app, { pool: opts.pool, config: opts.config });
  await app.ready();
  return app;
}
