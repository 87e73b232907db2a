// GET /v1/messages (README "HTTP API", lists): deliveries found through Temporal visibility and
// the delivery search attributes (src/delivery/contract.ts), a page at a time. The cursor is
// Temporal's own page token, so a page is one visibility call however deep it is (with a tag
// of the filters ahead of it, so a cursor cannot be used with others).
import { createHash } from 'node:crypto';
import { isGrpcServiceError } from '@temporalio/client';
import { decodeTypedSearchAttributes } from '@temporalio/common/lib/converter/payload-search-attributes';
import type { temporal } from '@temporalio/proto';
import type { FastifyInstance } from 'fastify';
import type { Pool } from 'pg';
import type { ReboundClient } from '../../client/rebound-client';
import {
  BounceCategoriesKey,
  DeliveryAttemptsKey,
  DeliveryStateKey,
  DELIVERY_WORKFLOW_TYPE,
  FINAL_MESSAGE_STATES,
  HARD_CATEGORIES,
  RecipientDomainsKey,
  SOFT_CATEGORIES,
  type MessageState,
} from '../../delivery/contract';
import { checkedDomain, messageIdOfWorkflow } from '../../domains/health';
import { ValidationError, quoteValue } from '../../errors';
import { requireScope } from '../auth';
import { messageListResponseSchema, problemResponses, type ListResponse, type MessageListItem } from '../contract';
import { Problem } from '../problems';

export const MESSAGE_STATES: readonly MessageState[] = ['queued', 'sending', 'retrying', ...FINAL_MESSAGE_STATES];
const CATEGORIES: readonly string[] = [...SOFT_CATEGORIES, ...HARD_CATEGORIES];
export const DEFAULT_LIST_LIMIT = 25;
export const MAX_LIST_LIMIT = 100;

export interface MessageListQuery {
  state?: string;
  domain?: string;
  category?: string;
  limit?: string;
  cursor?: string;
}

/** A string literal of Temporal's visibility query language. */
export const visibilityString = (s: string): string => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/** The visibility query for the filters, each checked first (a ValidationError names the bad one). */
export function messageListQuery(q: Pick<MessageListQuery, 'state' | 'domain' | 'category'>): string {
  const terms = [`WorkflowType = ${visibilityString(DELIVERY_WORKFLOW_TYPE)}`];
  if (q.state !== undefined) {
    if (!(MESSAGE_STATES as readonly string[]).includes(q.state)) throw new ValidationError('state', `must be one of ${MESSAGE_STATES.join(', ')}; got ${quoteValue(q.state)}`);
    terms.push(`${DeliveryStateKey.name} = ${visibilityString(q.state)}`);
  }
  if (q.domain !== undefined) terms.push(`${RecipientDomainsKey.name} = ${visibilityString(checkedDomain(q.domain))}`);
  if (q.category !== undefined) {
    if (!CATEGORIES.includes(q.category)) throw new ValidationError('category', `must be a bounce category, one of ${CATEGORIES.join(', ')}; got ${quoteValue(q.category)}`);
    terms.push(`${BounceCategoriesKey.name} = ${visibilityString(q.category)}`);
  }
  return terms.join(' AND ');
}

/** `limit` as given in a query string: an integer from 1 to `max`, or `fallback` when absent. */
export function listLimit(value: string | undefined, fallback = DEFAULT_LIST_LIMIT, max = MAX_LIST_LIMIT): number {
  if (value === undefined) return fallback;
  const n = /^\d{1,6}$/.test(value) ? Number(value) : NaN;
  if (!(n >= 1 && n <= max)) throw new ValidationError('limit', `must be an integer from 1 to ${max}; got ${quoteValue(value)}`);
  return n;
}

/**
 * Bytes ahead of Temporal's page token in a cursor: a digest of the query it pages through. A
 * cursor used with other filters, or one that is not ours, is a 422 here instead of a token the
 * server fails on (the dev server answers a stray token with UNKNOWN, not INVALID_ARGUMENT).
 */
const QUERY_TAG_BYTES = 8;
const queryTag = (query: string): Buffer => createHash('sha256').update(query).digest().subarray(0, QUERY_TAG_BYTES);

/** The cursor of the page after this one: the query's tag and Temporal's token, base64url. */
export function encodeMessageCursor(query: string, token: Uint8Array): string {
  return Buffer.concat([queryTag(query), token]).toString('base64url');
}

/** Temporal's page token in a cursor for `query`; a ValidationError naming `cursor` for anything else. */
export function messagePageToken(query: string, cursor: string | undefined): Uint8Array | undefined {
  if (cursor === undefined) return undefined;
  const bytes = /^[A-Za-z0-9_-]+$/.test(cursor) ? Buffer.from(cursor, 'base64url') : Buffer.alloc(0);
  if (bytes.length <= QUERY_TAG_BYTES || bytes.toString('base64url') !== cursor) {
    throw new ValidationError('cursor', `is not a cursor this API gave out: pass nextCursor from the previous page unchanged; got ${quoteValue(cursor)}`);
  }
  if (!bytes.subarray(0, QUERY_TAG_BYTES).equals(queryTag(query))) {
    throw new ValidationError('cursor', 'belongs to a list with other filters: keep state, domain and category as they were for the first page, or start again without a cursor');
  }
  return bytes.subarray(QUERY_TAG_BYTES);
}

const isoOf = (ts: temporal.api.workflow.v1.IWorkflowExecutionInfo['startTime']): string | null => {
  if (!ts || ts.seconds === null || ts.seconds === undefined) return null;
  return new Date(Number(ts.seconds) * 1000 + Math.floor((ts.nanos ?? 0) / 1e6)).toISOString();
};

export function messageListItem(info: temporal.api.workflow.v1.IWorkflowExecutionInfo): MessageListItem {
  const attrs = decodeTypedSearchAttributes(info.searchAttributes?.indexedFields);
  const workflowId = info.execution?.workflowId ?? '';
  return {
    messageId: messageIdOfWorkflow(workflowId),
    workflowId,
    state: (attrs.get(DeliveryStateKey) as MessageState | undefined) ?? null,
    attempts: attrs.get(DeliveryAttemptsKey) ?? 0,
    domains: attrs.get(RecipientDomainsKey) ?? [],
    categories: attrs.get(BounceCategoriesKey) ?? [],
    startTime: isoOf(info.startTime),
    closeTime: isoOf(info.closeTime),
  };
}

export function registerMessageListRoutes(app: FastifyInstance, deps: { rebound: ReboundClient; pool: Pool }): void {
  const { rebound, pool } = deps;
  app.get<{ Querystring: MessageListQuery }>(
    '/v1/messages',
    {
      onRequest: requireScope(pool, 'read'),
      schema: {
        summary: 'List deliveries',
        description: `Deliveries in Temporal visibility's order (running ones first, then the latest to close). Filters: \`state\` (${MESSAGE_STATES.join(', ')}), \`domain\` (a recipient domain), \`category\` (a bounce category seen so far). \`limit\` 1 to ${MAX_LIST_LIMIT} (default ${DEFAULT_LIST_LIMIT}); \`cursor\` is the previous page's nextCursor.`,
        tags: ['messages'],
        security: [{ apiKey: [] }],
        querystring: {
          type: 'object',
          properties: { state: { type: 'string', enum: [...MESSAGE_STATES] }, domain: { type: 'string' }, category: { type: 'string' }, limit: { type: 'integer', minimum: 1, maximum: MAX_LIST_LIMIT }, cursor: { type: 'string' } },
        },
        response: { 200: messageListResponseSchema, ...problemResponses(401, 403, 422, 503) },
      },
    },
    async (request): Promise<ListResponse<MessageListItem>> => {
      const q = request.query;
      const query = messageListQuery(q);
      const pageSize = listLimit(q.limit);
      const nextPageToken = messagePageToken(query, q.cursor);
      const client = rebound.temporal;
      let res: temporal.api.workflowservice.v1.IListWorkflowExecutionsResponse;
      try {
        res = await client.workflowService.listWorkflowExecutions({ namespace: client.options.namespace, query, pageSize, nextPageToken });
      } catch (err) {
        // 3 INVALID_ARGUMENT: a token that decodes but is not Temporal's (or no longer valid).
        if (isGrpcServiceError(err) && err.code === 3 && nextPageToken !== undefined) {
          throw new Problem(422, 'invalid-fields', `Temporal did not accept the cursor (${err.details}); start again without one`, [{ field: 'cursor', message: 'not a valid page token' }]);
        }
        throw err;
      }
      const token = res.nextPageToken && res.nextPageToken.length > 0 ? encodeMessageCursor(query, res.nextPageToken) : null;
      return { items: (res.executions ?? []).map(messageListItem), nextCursor: token };
    },
  );
}
