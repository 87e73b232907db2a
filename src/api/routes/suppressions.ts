// The suppression list over HTTP (README "HTTP API", lists and CSV): a keyset-paginated list, a
// CSV import in the CLI's format (`rebound suppressions import`) and a streamed CSV export with
// the CLI export's columns. A plugin, so the text/csv body parser exists on the import route only.
import type { FastifyError, FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { Pool } from 'pg';
import type { ReboundClient } from '../../client/rebound-client';
import { checkedDomain } from '../../domains/health';
import { ValidationError, quoteValue } from '../../errors';
import { decodeSuppressionCursor, encodeSuppressionCursor, suppressionCsvStream, suppressionPage, type SuppressionPageFilter } from '../../reputation/list';
import { MAX_SUPPRESSION_DAYS, validSuppressionDays } from '../../reputation/policy';
import { requireScope } from '../auth';
import { importResponseSchema, problemResponses, suppressionListResponseSchema, type ImportResponse } from '../contract';
import { handleError, Problem, sendProblem } from '../problems';
import { listLimit } from './messages-list';

/** The largest CSV body the import reads (about 200,000 rows). Bigger lists: split them, or use the CLI. */
export const MAX_IMPORT_BYTES = 10 * 1024 * 1024;
const MAX_PAGE = 1000;
const DEFAULT_PAGE = 100;
const security = [{ apiKey: [] }];

interface ListQuery {
  domain?: string;
  reason?: string;
  prefix?: string;
  include?: string;
  limit?: string;
  cursor?: string;
}

/** The filters of the list and the export, checked; ValidationErrors name the query parameter. */
function filterOf(q: ListQuery): SuppressionPageFilter {
  if (q.include !== undefined && q.include !== 'lifted') throw new ValidationError('include', `the only value is "lifted" (lifted and expired rows too); got ${quoteValue(q.include)}`);
  if (q.reason !== undefined && !/^[a-z][a-z0-9_]{0,63}$/.test(q.reason)) throw new ValidationError('reason', `must be a reason such as hard_bounce, soft_bounce_threshold, manual or import; got ${quoteValue(q.reason)}`);
  if (q.prefix !== undefined && (q.prefix.length === 0 || q.prefix.length > 320)) throw new ValidationError('prefix', 'must be the first 1 to 320 characters of an address');
  return {
    domain: q.domain === undefined ? undefined : checkedDomain(q.domain),
    reason: q.reason,
    prefix: q.prefix?.trim().toLowerCase(),
    includeLifted: q.include === 'lifted',
  };
}

const listQuerystring = {
  type: 'object',
  properties: {
    domain: { type: 'string', description: 'only this recipient domain' },
    reason: { type: 'string', description: 'only this reason (hard_bounce, soft_bounce_threshold, manual, import, ...)' },
    prefix: { type: 'string', description: 'only addresses starting with this' },
    include: { type: 'string', enum: ['lifted'], description: 'lifted and expired rows too' },
  },
} as const;

export function suppressionRoutes(deps: { rebound: ReboundClient; pool: Pool }): FastifyPluginAsync {
  const { rebound, pool } = deps;
  return async (app: FastifyInstance) => {
    app.get<{ Querystring: ListQuery }>(
      '/v1/suppressions',
      {
        onRequest: requireScope(pool, 'read'),
        schema: {
          summary: 'List suppressions',
          description: `Active suppressions in address order (with \`include=lifted\` lifted and expired ones too). \`limit\` 1 to ${MAX_PAGE} (default ${DEFAULT_PAGE}); \`cursor\` is the previous page's nextCursor.`,
          tags: ['suppressions'],
          security,
          querystring: { ...listQuerystring, properties: { ...listQuerystring.properties, limit: { type: 'integer', minimum: 1, maximum: MAX_PAGE }, cursor: { type: 'string' } } },
          response: { 200: suppressionListResponseSchema, ...problemResponses(401, 403, 422, 503) },
        },
      },
      async (request) => {
        const q = request.query;
        const filter = filterOf(q);
        const limit = listLimit(q.limit, DEFAULT_PAGE, MAX_PAGE);
        const after = q.cursor === undefined ? null : decodeSuppressionCursor(q.cursor);
        const page = await suppressionPage(pool, filter, limit, after);
        return { items: page.rows, nextCursor: page.lastAddress === null ? null : encodeSuppressionCursor(page.lastAddress) };
      },
    );

    app.get<{ Querystring: ListQuery }>(
      '/v1/suppressions/export',
      {
        onRequest: requireScope(pool, 'read'),
        schema: {
          summary: 'Export suppressions as CSV',
          description: 'The columns of `rebound suppressions export` (address, reason, category, source, created_at, expires_at, lifted_at, message_id, note), streamed in address order; POST it to /v1/suppressions/import to restore it.',
          tags: ['suppressions'],
          security,
          querystring: listQuerystring,
          response: { 200: { description: 'the CSV', content: { 'text/csv': { schema: { type: 'string' } } } }, ...problemResponses(401, 403, 422, 503) },
        },
      },
      async (request, reply) => {
        const filter = filterOf(request.query);
        // Fail before the first byte when PostgreSQL cannot answer: once streaming, a 200 is sent.
        await pool.query('SELECT 1');
        const stream = suppressionCsvStream(pool, filter);
        stream.on('error', (err) => request.log.error({ err }, 'suppression export failed while streaming; the client got a truncated CSV'));
        return reply.type('text/csv; charset=utf-8').header('content-disposition', 'attachment; filename="suppressions.csv"').send(stream);
      },
    );

    // The CSV body parser and its errors belong to the import only: every other route is JSON.
    await app.register(async (scoped) => {
      scoped.addContentTypeParser('text/csv', { parseAs: 'string', bodyLimit: MAX_IMPORT_BYTES }, (_request, body, done) => done(null, body));
      scoped.setErrorHandler((err: FastifyError, request, reply) => {
        if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return sendProblem(reply, new Problem(415, 'unsupported-media-type', 'send the CSV with Content-Type: text/csv'));
        if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
          return sendProblem(reply, new Problem(413, 'payload-too-large', `the CSV is larger than ${MAX_IMPORT_BYTES / 1024 / 1024} MB; split it into smaller files, or use \`rebound suppressions import\``));
        }
        return handleError(err, request, reply);
      });
      scoped.post<{ Body: unknown; Querystring: { days?: string; forever?: string } }>(
        '/v1/suppressions/import',
        {
          onRequest: requireScope(pool, 'admin'),
          bodyLimit: MAX_IMPORT_BYTES,
          schema: {
            summary: 'Import suppressions from CSV',
            description: `The format of \`rebound suppressions import\`: a header naming the columns (address required; reason, expires_at or days, note; other columns ignored, so an export re-imports), one row per address. Bad rows are reported by line number and the good ones imported. Rows without an expiry get \`days\` (default 180, at most ${MAX_SUPPRESSION_DAYS}) or none with \`forever=1\`. At most ${MAX_IMPORT_BYTES / 1024 / 1024} MB.`,
            tags: ['suppressions'],
            security,
            querystring: { type: 'object', properties: { days: { type: 'number' }, forever: { type: 'string', enum: ['1', 'true'] } } },
            body: { type: 'string', description: 'CSV' },
            consumes: ['text/csv'],
            response: { 200: importResponseSchema, ...problemResponses(401, 403, 413, 415, 422, 503) },
          },
        },
        async (request): Promise<ImportResponse> => {
          if (typeof request.body !== 'string') throw new Problem(415, 'unsupported-media-type', 'send the CSV with Content-Type: text/csv');
          const { days, forever } = request.query;
          if (days !== undefined && forever !== undefined) throw new ValidationError('days', 'give either days or forever, not both');
          let defaultDays: number | null | undefined;
          if (forever === '1' || forever === 'true') defaultDays = null;
          else if (forever !== undefined) throw new ValidationError('forever', `must be 1 or true; got ${quoteValue(forever)}`);
          if (days !== undefined) {
            defaultDays = Number(days);
            if (!validSuppressionDays(defaultDays)) throw new ValidationError('days', `must be from 1 to ${MAX_SUPPRESSION_DAYS}; got ${quoteValue(days)}`);
          }
          const actor = `api:${request.apiKey?.name ?? 'unknown'}`;
          const result = await rebound.suppressions.importCsv(request.body, { actor, defaultDays });
          request.log.info({ imported: result.imported, skipped: result.skipped, bad: result.errors.length, elapsedMs: result.elapsedMs }, 'suppressions imported');
          return { imported: result.imported, skipped: result.skipped, errors: result.errors };
        },
      );
    });
  };
}
