// The message routes of the HTTP API (README "HTTP API"): send, status, cancel, retry-now. Each
// is a thin layer over the SDK (src/client/rebound-client.ts): the SDK validates, stores and
// starts, and its errors become problems in ../problems.ts.
import { WorkflowNotFoundError } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import type { Pool } from 'pg';
import type { ReboundClient } from '../../client/rebound-client';
import { deliveryWorkflowId } from '../../delivery/contract';
import { getMessage } from '../../delivery/messages';
import { ValidationError } from '../../errors';
import { requireScope } from '../auth';
import {
  actionResponseSchema,
  deliveryStatusSchema,
  messageIdParamsSchema,
  problemResponses,
  sendMessageBodySchema,
  sendMessageResponseSchema,
  type ActionResponse,
  type SendMessageResponse,
} from '../contract';
import { Problem } from '../problems';

const IDEMPOTENCY_HEADER = 'idempotency-key';
const security = [{ apiKey: [] }];

/** The body with the Idempotency-Key header as its id; a header and an id that differ are an error. */
function withIdempotencyKey(body: unknown, header: string | string[] | undefined): unknown {
  if (header === undefined) return body;
  if (Array.isArray(header)) throw new ValidationError('Idempotency-Key', 'give the header once');
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return body;
  const id = (body as { id?: unknown }).id;
  if (id !== undefined && id !== null && id !== header) {
    throw new ValidationError('Idempotency-Key', `the header ${JSON.stringify(header)} and the body's id ${JSON.stringify(id)} differ; give one, or the same in both`);
  }
  return { ...body, id: header };
}

export function registerMessageRoutes(app: FastifyInstance, deps: { rebound: ReboundClient; pool: Pool }): void {
  const { rebound, pool } = deps;

  /**
   * An action on a running delivery: an unknown id is a 404, a delivery that has ended a 409
   * (Temporal would accept a cancellation of a closed workflow and do nothing, silently).
   */
  async function onWorkflow(id: string, requested: ActionResponse['requested'], act: () => Promise<void>): Promise<ActionResponse> {
    const ended = (): Problem => new Problem(409, 'already-finished', `message ${id} has already reached a final state; there is nothing left to ${requested}`);
    try {
      const { status } = await rebound.handle(id).describe();
      if (status.name !== 'RUNNING') throw ended();
      await act();
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
      // Closed and gone from Temporal's retention, or never started: the message row tells which.
      if (await getMessage(pool, id)) throw ended();
      throw new Problem(404, 'not-found', `no message with id ${id}`);
    }
    return { messageId: id, workflowId: deliveryWorkflowId(id), requested };
  }

  app.post(
    '/v1/messages',
    {
      onRequest: requireScope(pool, 'send'),
      schema: {
        summary: 'Send a message',
        description: 'Validates, stores and starts the delivery of one message. The id (body `id` or the Idempotency-Key header) makes a retry safe: the same id with the same content answers 200 with the first delivery; with different content, 409.',
        tags: ['messages'],
        security,
        headers: { type: 'object', properties: { 'idempotency-key': { type: 'string', description: 'the message id, instead of the body\'s `id`' } } },
        body: sendMessageBodySchema,
        response: {
          200: { description: 'a repeat of a message already accepted: nothing new was stored or started', ...sendMessageResponseSchema },
          202: { description: 'accepted: stored, and its delivery started', ...sendMessageResponseSchema },
          ...problemResponses(400, 401, 403, 409, 413, 415, 422, 503),
        },
      },
    },
    async (request, reply) => {
      const body = withIdempotencyKey(request.body, request.headers[IDEMPOTENCY_HEADER]);
      const receipt = await rebound.send(body as never);
      const answer: SendMessageResponse = { messageId: receipt.messageId, workflowId: receipt.workflowId, state: receipt.state };
      return reply.code(receipt.created ? 202 : 200).send(answer);
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/messages/:id',
    {
      onRequest: requireScope(pool, 'read'),
      schema: {
        summary: "A message's delivery status",
        description: "The delivery workflow's status query: the message's state and each recipient's state, attempts, schedule and last reply.",
        tags: ['messages'],
        security,
        params: messageIdParamsSchema,
        response: { 200: { description: 'the status', ...deliveryStatusSchema }, ...problemResponses(401, 403, 404, 503) },
      },
    },
    async (request) => {
      try {
        return await rebound.status(request.params.id);
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) throw new Problem(404, 'not-found', `no message with id ${request.params.id}`);
        throw err;
      }
    },
  );

  app.post<{ Params: { id: string } }>(
    '/v1/messages/:id/cancel',
    {
      onRequest: requireScope(pool, 'send'),
      schema: {
        summary: 'Cancel a delivery',
        description: 'Asks the delivery workflow to stop: recipients not yet delivered end `cancelled`. GET the message to see when it has.',
        tags: ['messages'],
        security,
        params: messageIdParamsSchema,
        response: { 202: { description: 'cancellation requested', ...actionResponseSchema }, ...problemResponses(401, 403, 404, 409, 503) },
      },
    },
    async (request, reply) => reply.code(202).send(await onWorkflow(request.params.id, 'cancel', () => rebound.cancel(request.params.id))),
  );

  app.post<{ Params: { id: string } }>(
    '/v1/messages/:id/retry-now',
    {
      // An operator's override of the retry schedule (README "Inspecting and steering runs").
      onRequest: requireScope(pool, 'admin'),
      schema: {
        summary: 'Attempt the pending recipients now',
        description: 'Ends the current wait between attempts; the next attempt starts at once.',
        tags: ['messages'],
        security,
        params: messageIdParamsSchema,
        response: { 202: { description: 'retry requested', ...actionResponseSchema }, ...problemResponses(401, 403, 404, 409, 503) },
      },
    },
    async (request, reply) => reply.code(202).send(await onWorkflow(request.params.id, 'retry-now', () => rebound.retryNow(request.params.id))),
  );
}
