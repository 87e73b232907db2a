// GET /v1/domains/{domain}/series (README "HTTP API", dashboard): a domain's soft- and hard-bounce
// rates per hour over the last 24 h or per day over the last 7 d, from the rollups
// (src/domains/store.ts), for the dashboard's chart. Rates as GET /v1/domains computes them.
import type { FastifyInstance } from 'fastify';
import type { Pool } from 'pg';
import { checkedDomain, domainHealth, HEALTH_THRESHOLDS } from '../../domains/health';
import { domainSeries } from '../../domains/store';
import { ValidationError, quoteValue } from '../../errors';
import { requireScope } from '../auth';
import { problemResponses, seriesResponseSchema, type SeriesResponse } from '../contract';

const WINDOWS = { '24h': { unit: 'hour', count: 24 }, '7d': { unit: 'day', count: 7 } } as const;
type SeriesWindow = keyof typeof WINDOWS;

export function registerDomainSeriesRoutes(app: FastifyInstance, deps: { pool: Pool }): void {
  const { pool } = deps;
  app.get<{ Params: { domain: string }; Querystring: { window?: string } }>(
    '/v1/domains/:domain/series',
    {
      onRequest: requireScope(pool, 'read'),
      schema: {
        summary: "A domain's bounce rates over time",
        description: 'Soft- and hard-bounce rates per UTC hour over the last 24 h (`window=24h`, the default) or per UTC day over the last 7 d (`window=7d`), oldest first, with the verdict thresholds.',
        tags: ['domains'],
        security: [{ apiKey: [] }],
        params: { type: 'object', required: ['domain'], properties: { domain: { type: 'string' } } },
        querystring: { type: 'object', properties: { window: { type: 'string', enum: Object.keys(WINDOWS) } } },
        response: { 200: seriesResponseSchema, ...problemResponses(401, 403, 422, 503) },
      },
    },
    async (request): Promise<SeriesResponse> => {
      const domain = checkedDomain(request.params.domain);
      const window = (request.query.window ?? '24h') as SeriesWindow;
      if (!Object.hasOwn(WINDOWS, window)) throw new ValidationError('window', `must be 24h or 7d; got ${quoteValue(request.query.window)}`);
      const { unit, count } = WINDOWS[window];
      const buckets = await domainSeries(pool, domain, unit, count);
      return {
        domain,
        window,
        bucket: unit,
        thresholds: { ...HEALTH_THRESHOLDS },
        points: buckets.map((b) => {
          const h = domainHealth(b, window);
          return { at: b.at, attempts: h.attempts, sends: h.sends, softBounces: h.softBounces.total, hardBounces: h.hardBounces, softBounceRate: h.softBounceRate, hardBounceRate: h.hardBounceRate };
        }),
      };
    },
  );
}
