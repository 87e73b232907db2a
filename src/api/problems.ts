// Errors of the HTTP API as RFC 9457 problem details (`application/problem+json`, README "HTTP
// API"): each failure the API knows becomes one Problem with a stable `type`; anything else is a
// 500 whose detail says nothing internal (the log has it).
import { isGrpcServiceError, ServiceError, WorkflowNotFoundError } from '@temporalio/client';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { isDatabaseUnavailable } from '../db/outage';
import { IdConflictError, ServiceUnavailableError, ValidationError } from '../errors';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';
/** Seconds a client should wait before retrying after a 503. */
export const RETRY_AFTER_SECONDS = 5;

export interface FieldError {
  field: string;
  message: string;
}

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: FieldError[];
}

/** The problem types, by slug: `urn:rebound:problem:<slug>`. */
const TITLES = {
  'malformed-request': 'The request body is not valid JSON',
  'unsupported-media-type': 'The request body must be application/json',
  unauthorized: 'A valid API key is required',
  'bad-signature': 'The provider signature or credentials do not verify',
  forbidden: "The API key's scope does not allow this",
  'not-found': 'Not found',
  'id-conflict': 'The message id was already used for a different message',
  'already-finished': 'The delivery has already ended',
  'payload-too-large': 'The request body is too large',
  'rate-limited': 'Too many requests for this API key',
  'invalid-fields': 'The request has invalid fields',
  unavailable: 'A service Rebound depends on is unavailable',
  internal: 'Internal error',
} as const;
export type ProblemSlug = keyof typeof TITLES;

export class Problem extends Error {
  constructor(
    readonly status: number,
    readonly slug: ProblemSlug,
    readonly detail: string,
    readonly errors?: FieldError[],
  ) {
    super(detail);
  }

  body(): ProblemBody {
    return { type: `urn:rebound:problem:${this.slug}`, title: TITLES[this.slug], status: this.status, detail: this.detail, ...(this.errors ? { errors: this.errors } : {}) };
  }
}

/** Temporal could not be reached (down, or too slow to answer in time). */
function isTemporalUnavailable(err: unknown): boolean {
  if (err instanceof ServiceError) return true;
  // gRPC 14 UNAVAILABLE, 4 DEADLINE_EXCEEDED
  return isGrpcServiceError(err) && (err.code === 14 || err.code === 4);
}

/** The problem an error is, for the errors the API knows; null for anything else. */
export function problemOf(err: unknown): Problem | null {
  if (err instanceof Problem) return err;
  if (err instanceof IdConflictError) {
    return new Problem(409, 'id-conflict', `${err.reason}. Sending the same content again with this id is safe and returns the first message.`, [{ field: err.field, message: err.reason }]);
  }
  if (err instanceof ValidationError) return new Problem(422, 'invalid-fields', err.message, [{ field: err.field, message: err.reason }]);
  if (err instanceof WorkflowNotFoundError) return new Problem(404, 'not-found', 'no message with this id');
  if (err instanceof ServiceUnavailableError) return new Problem(503, 'unavailable', err.message);
  if (isDatabaseUnavailable(err)) return new Problem(503, 'unavailable', `PostgreSQL is unreachable (${(err as Error).message}); try again in a few seconds`);
  if (isTemporalUnavailable(err)) {
    return new Problem(503, 'unavailable', `Temporal is unreachable (${(err as Error).message}); try again in a few seconds. A message sent with an id may be sent again with the same id: it is never delivered twice`);
  }
  const fastify = err as Partial<FastifyError>;
  switch (fastify.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new Problem(413, 'payload-too-large', 'the request body is larger than the API accepts (REBOUND_MAX_MESSAGE_BYTES plus room for the JSON around it)');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new Problem(415, 'unsupported-media-type', 'send the body as JSON with Content-Type: application/json');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new Problem(400, 'malformed-request', 'the body is empty; send a JSON object');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new Problem(400, 'malformed-request', `the body is not valid JSON: ${fastify.message}`);
  }
  // The JSON parser's own error (a SyntaxError, or a forbidden __proto__ key) carries a 400.
  if (fastify.statusCode === 400) return new Problem(400, 'malformed-request', `the body is not valid JSON: ${fastify.message}`);
  return null;
}

export function sendProblem(reply: FastifyReply, problem: Problem): FastifyReply {
  if (problem.status === 503) reply.header('Retry-After', String(RETRY_AFTER_SECONDS));
  return reply.code(problem.status).type(PROBLEM_CONTENT_TYPE).send(problem.body());
}

/** fastify's error handler: known failures as their problem, the rest as a logged 500. */
export function handleError(err: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const problem = problemOf(err);
  if (problem) {
    if (problem.status >= 500) request.log.warn({ err, status: problem.status }, problem.detail);
    return sendProblem(reply, problem);
  }
  request.log.error({ err }, 'request failed');
  return sendProblem(reply, new Problem(500, 'internal', 'the request failed inside Rebound; the server log has the details (search for this request id)'));
}
