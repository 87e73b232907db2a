// The intake's reports over the HTTP API (README "Late outcomes"): the list, orphans and forged
// ones included, and the counts. Thin layers over the SDK (src/client/reports.ts), which names
// a bad field.
import type { FastifyInstance } from 'fastify';
import type { Pool } from 'pg';
import type { ReboundClient } from '../../client/rebound-client';
import { requireScope } from '../auth';
import { problemResponses } from '../contract';

const security = [{ apiKey: [] }];
const reportSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    source: { type: 'string', enum: ['smtp', 'imap', 'ses', 'sendgrid', 'mailgun', 'postmark'] },
    receivedAt: { type: 'string' },
    processedAt: { type: ['string', 'null'] },
    outcome: { type: ['string', 'null'], enum: ['matched', 'ignored', 'orphan', 'forged', null] },
    reportType: { type: ['string', 'null'] },
    messageId: { type: ['string', 'null'] },
    detail: { type: ['string', 'null'] },
  },
} as const;

export function registerReportRoutes(app: FastifyInstance, deps: { rebound: ReboundClient; pool: Pool }): void {
  const { rebound, pool } = deps;
  app.get<{ Querystring: { outcome?: string; limit?: string; before?: string } }>(
    '/v1/inbound/reports',
    {
      onRequest: requireScope(pool, 'read'),
      schema: {
        summary: 'List received reports',
        description: 'Bounce reports, complaints and provider events as received, newest first, with what processing made of them: `matched`, `ignored` (auto-replies, delivery notices), `orphan` (no message found) or `forged` (a token that does not verify). Page with `before` = the last id.',
        tags: ['inbound'],
        security,
        querystring: { type: 'object', properties: { outcome: { type: 'string' }, limit: { type: 'string', description: '1 to 1000, default 100' }, before: { type: 'string' } } },
        response: { 200: { type: 'object', properties: { reports: { type: 'array', items: reportSchema } } }, ...problemResponses(401, 403, 422, 503) },
      },
    },
    async (request) => {
      const q = request.query;
      return { reports: await rebound.reports.list({ outcome: q.outcome, limit: q.limit === undefined ? undefined : Number(q.limit), before: q.before }) };
    },
  );
  app.get<{ Querystring: { days?: string } }>(
    '/v1/inbound/stats',
    {
      onRequest: requireScope(pool, 'read'),
      schema: {
        summary: 'Count received and refused reports',
        description: 'Reports by outcome (`unprocessed` for those still waiting) and what the inbound listener refused, by reason, over the last `days` days.',
        tags: ['inbound'],
        security,
        querystring: { type: 'object', properties: { days: { type: 'string', description: '1 to 365, default 7' } } },
        response: { 200: { type: 'object', additionalProperties: true }, ...problemResponses(401, 403, 422, 503) },
      },
    },
    async (request) => rebound.reports.counts(request.query.days === undefined ? undefined : Number(request.query.days)),
  );
}
