// What the HTTP API takes and answers (README "HTTP API"), as JSON schemas: fastify's route
// schemas and, through @fastify/swagger, the OpenAPI document at /openapi.json. The schemas
// describe; they do not validate. A send request is validated by the SDK's validateSendRequest,
// so an error names a field exactly as `ReboundClient.send()` does (`to[0]`, `headers["X-A"]`),
// and fastify's own validator, which would coerce types and name fields its own way, is turned
// off in server.ts.
import type { MessageState } from '../delivery/contract';
import { PROFILE_NAMES, FINAL_MESSAGE_STATES } from '../delivery/contract';
import type { SendRequest } from '../message/validate';

/** The body of POST /v1/messages: the SDK's send() request. */
export type SendMessageBody = SendRequest;

/** The answer to POST /v1/messages: 202 for a new message, 200 for a repeat of one. */
export interface SendMessageResponse {
  messageId: string;
  workflowId: string;
  state: MessageState;
}

/** The answer to cancel and retry-now: the request was handed to the delivery's workflow. */
export interface ActionResponse {
  messageId: string;
  workflowId: string;
  requested: 'cancel' | 'retry-now';
}

const addressOrList = {
  oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' }, maxItems: 1000 }],
} as const;
const duration = { oneOf: [{ type: 'string', examples: ['30s', '2m', '1h'] }, { type: 'number', description: 'milliseconds' }] } as const;

export const sendMessageBodySchema = {
  type: 'object',
  required: ['from', 'to', 'subject'],
  properties: {
    id: { type: 'string', minLength: 1, maxLength: 200, pattern: '^[A-Za-z0-9._:@+-]+$', description: 'idempotency key and message id (or the Idempotency-Key header)' },
    from: { type: 'string', examples: ['Shop <shop@example.com>'] },
    to: { ...addressOrList, description: 'at least one recipient' },
    cc: addressOrList,
    bcc: addressOrList,
    replyTo: { type: 'string' },
    subject: { type: 'string', maxLength: 998 },
    text: { type: 'string' },
    html: { type: 'string' },
    headers: { type: 'object', additionalProperties: { type: 'string' }, description: 'extra headers; not the structural ones (From, To, Subject, Message-ID, ...)' },
    profile: { type: 'string', enum: [...PROFILE_NAMES] },
    delays: { type: 'array', items: duration, description: 'delay before attempt 2, 3, ...; the last one repeats' },
    deadline: duration,
  },
  additionalProperties: false,
} as const;

const messageState = { type: 'string', enum: ['queued', 'sending', 'retrying', ...FINAL_MESSAGE_STATES] } as const;

export const sendMessageResponseSchema = {
  type: 'object',
  required: ['messageId', 'workflowId', 'state'],
  properties: { messageId: { type: 'string' }, workflowId: { type: 'string' }, state: messageState },
} as const;

export const actionResponseSchema = {
  type: 'object',
  required: ['messageId', 'workflowId', 'requested'],
  properties: { messageId: { type: 'string' }, workflowId: { type: 'string' }, requested: { type: 'string', enum: ['cancel', 'retry-now'] } },
} as const;

/** The `status` query's answer (DeliveryStatus in src/delivery/contract.ts). */
export const deliveryStatusSchema = {
  type: 'object',
  required: ['messageId', 'workflowId', 'state', 'recipients'],
  // Every field the query answers is passed on, also ones added after this schema.
  additionalProperties: true,
  properties: {
    messageId: { type: 'string' },
    workflowId: { type: 'string' },
    state: messageState,
    profile: { type: 'string' },
    createdAt: { type: 'string', format: 'date-time' },
    deadline: { type: 'string', format: 'date-time' },
    attempts: { type: 'integer' },
    nextAttemptAt: { type: ['string', 'null'], format: 'date-time' },
    recipients: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: true,
        properties: {
          address: { type: 'string' },
          state: { type: 'string', enum: ['pending', 'retrying', 'delivered', 'bounced', 'expired', 'suppressed', 'cancelled'] },
          attempts: { type: 'integer' },
          nextAttemptAt: { type: ['string', 'null'] },
          lastReply: { type: ['object', 'null'], additionalProperties: true },
          schedule: { type: 'object', additionalProperties: true },
        },
      },
    },
  },
} as const;

/** RFC 9457 problem details. */
export const problemSchema = {
  type: 'object',
  required: ['type', 'title', 'status', 'detail'],
  properties: {
    type: { type: 'string', examples: ['urn:rebound:problem:invalid-fields'] },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    errors: {
      type: 'array',
      items: { type: 'object', required: ['field', 'message'], properties: { field: { type: 'string', examples: ['to[0]'] }, message: { type: 'string' } } },
    },
  },
} as const;

export const messageIdParamsSchema = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', description: 'the message id' } },
} as const;

/** Problem responses of a route, by status, for the OpenAPI document. */
export function problemResponses(...statuses: number[]): Record<string, unknown> {
  const content = { 'application/problem+json': { schema: problemSchema } };
  return Object.fromEntries(statuses.map((s) => [String(s), { description: PROBLEM_DESCRIPTIONS[s] ?? 'error', content }]));
}

const PROBLEM_DESCRIPTIONS: Record<number, string> = {
  400: 'malformed JSON',
  401: 'no, unknown or revoked API key',
  403: "the key's scope does not allow this",
  404: 'no message with this id',
  409: 'the id was used for a different message, or the delivery has already ended',
  413: 'body too large',
  415: 'not application/json',
  422: 'invalid fields, named as the SDK names them',
  503: 'PostgreSQL or Temporal unreachable; see Retry-After',
};

// ---------------------------------------------------------------------------------------------
// Lists, CSV and the dashboard's series (README "HTTP API", lists)

/** One delivery in GET /v1/messages, from Temporal visibility (the delivery search attributes). */
export interface MessageListItem {
  messageId: string;
  workflowId: string;
  /** DeliveryState; null for a run that has not published it. */
  state: MessageState | null;
  attempts: number;
  domains: string[];
  categories: string[];
  startTime: string | null;
  closeTime: string | null;
}

export interface ListResponse<T> {
  items: T[];
  /** Pass as `cursor` for the next page; null on the last one. */
  nextCursor: string | null;
}

const nullableTime = { type: ['string', 'null'], format: 'date-time' } as const;
const stringList = { type: 'array', items: { type: 'string' } } as const;

export const messageListResponseSchema = {
  type: 'object',
  required: ['items', 'nextCursor'],
  properties: {
    items: {
      type: 'array',
      items: {
        type: 'object',
        required: ['messageId', 'workflowId', 'state', 'attempts', 'domains', 'categories', 'startTime', 'closeTime'],
        properties: {
          messageId: { type: 'string' },
          workflowId: { type: 'string' },
          state: { anyOf: [messageState, { type: 'null' }] },
          attempts: { type: 'integer' },
          domains: { ...stringList, description: 'recipient domains' },
          categories: { ...stringList, description: 'categories of the bounces so far' },
          startTime: nullableTime,
          closeTime: nullableTime,
        },
      },
    },
    nextCursor: { type: ['string', 'null'], description: "opaque: Temporal's page token, tied to the filters it was given with" },
  },
} as const;

export const suppressionListResponseSchema = {
  type: 'object',
  required: ['items', 'nextCursor'],
  properties: {
    items: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: true,
        properties: {
          address: { type: 'string' },
          reason: { type: 'string' },
          category: { type: ['string', 'null'] },
          source: { type: ['string', 'null'] },
          since: { type: 'string', format: 'date-time' },
          until: nullableTime,
          liftedAt: nullableTime,
          note: { type: ['string', 'null'] },
        },
      },
    },
    nextCursor: { type: ['string', 'null'] },
  },
} as const;

/** The answer to POST /v1/suppressions/import. */
export interface ImportResponse {
  imported: number;
  skipped: number;
  errors: { line: number; message: string }[];
}

export const importResponseSchema = {
  type: 'object',
  required: ['imported', 'skipped', 'errors'],
  properties: {
    imported: { type: 'integer', description: 'rows written (an address given twice counts once)' },
    skipped: { type: 'integer', description: 'rows with lifted_at set (from an export of lifted rows)' },
    errors: { type: 'array', items: { type: 'object', required: ['line', 'message'], properties: { line: { type: 'integer', description: 'physical line of the file, the header is 1' }, message: { type: 'string' } } } },
  },
} as const;

/** One bucket of GET /v1/domains/{domain}/series. */
export interface SeriesPoint {
  at: string;
  attempts: number;
  sends: number;
  softBounces: number;
  hardBounces: number;
  softBounceRate: number;
  hardBounceRate: number;
}

export interface SeriesResponse {
  domain: string;
  window: '24h' | '7d';
  bucket: 'hour' | 'day';
  /** The verdict lines: under `watch` healthy, over `bad` bad. */
  thresholds: { watch: number; bad: number };
  points: SeriesPoint[];
}

export const seriesResponseSchema = {
  type: 'object',
  required: ['domain', 'window', 'bucket', 'thresholds', 'points'],
  properties: {
    domain: { type: 'string' },
    window: { type: 'string', enum: ['24h', '7d'] },
    bucket: { type: 'string', enum: ['hour', 'day'] },
    thresholds: { type: 'object', properties: { watch: { type: 'number' }, bad: { type: 'number' } } },
    points: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          at: { type: 'string', format: 'date-time' },
          attempts: { type: 'integer' },
          sends: { type: 'integer' },
          softBounces: { type: 'integer' },
          hardBounces: { type: 'integer' },
          softBounceRate: { type: 'number' },
          hardBounceRate: { type: 'number' },
        },
      },
    },
  },
} as const;
