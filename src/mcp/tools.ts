// The tools of `rebound mcp`, one function each (README "For AI agents: rebound mcp"): thin
// layers over the SDK (src/client/), which validates, stores and starts, so a tool fails exactly
// where `ReboundClient` and the HTTP API fail. A failure is thrown; server.ts turns it into a
// tool error naming the field.
import { WorkflowNotFoundError } from '@temporalio/client';
import type { ReboundClient } from '../client/rebound-client';
import { DeliveryAttemptsKey, DELIVERY_WORKFLOW_TYPE, FINAL_MESSAGE_STATES, type DeliveryStatus } from '../delivery/contract';
import type { DomainDetail } from '../domains/contract';
import { checkedDomain, messageIdOfWorkflow, retryingQuery } from '../domains/health';
import { ValidationError, quoteValue } from '../errors';
import type { SendRequest } from '../message/validate';
import type { SuppressionStatus } from '../reputation/contract';
import { MCP_ACTOR, RETRYING_DEFAULT_LIMIT, RETRYING_MAX_LIMIT, WAIT_DEFAULT_SECONDS, WAIT_MAX_SECONDS, WAIT_POLL_MS, type SendMessageResult } from './contract';

/** A message id nobody sent: the API's 404. */
export class UnknownMessageError extends Error {
  constructor(readonly messageId: string) {
    super(`no message with id ${JSON.stringify(messageId)}: check the messageId that send_message answered`);
  }
}

export interface SendMessageArgs extends Omit<SendRequest, 'id'> {
  id?: string;
  idempotencyKey?: string;
}

/** The request with idempotencyKey as its id; a key and an id that differ are an error (as the API's header is). */
export function withIdempotencyKey(args: SendMessageArgs): SendRequest {
  const { idempotencyKey, ...request } = args;
  if (idempotencyKey === undefined) return request;
  if (request.id !== undefined && request.id !== idempotencyKey) {
    throw new ValidationError('idempotencyKey', `the key ${quoteValue(idempotencyKey)} and the id ${quoteValue(request.id)} differ; give one, or the same in both`);
  }
  return { ...request, id: idempotencyKey };
}

export async function sendMessage(rebound: ReboundClient, args: SendMessageArgs): Promise<SendMessageResult> {
  const receipt = await rebound.send(withIdempotencyKey(args));
  return { messageId: receipt.messageId, workflowId: receipt.workflowId, state: receipt.state, existing: !receipt.created };
}

export async function getDeliveryStatus(rebound: ReboundClient, args: { messageId: string }): Promise<DeliveryStatus> {
  try {
    return await rebound.status(args.messageId);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new UnknownMessageError(args.messageId);
    throw err;
  }
}

export const isFinal = (status: DeliveryStatus): boolean => FINAL_MESSAGE_STATES.includes(status.state);

/** The wait in milliseconds: whole seconds from 1 to WAIT_MAX_SECONDS. */
export function waitMs(timeoutSeconds: number | undefined): number {
  const seconds = timeoutSeconds ?? WAIT_DEFAULT_SECONDS;
  if (!(Number.isFinite(seconds) && seconds > 0 && seconds <= WAIT_MAX_SECONDS)) {
    throw new ValidationError('timeoutSeconds', `must be a number of seconds from 1 to ${WAIT_MAX_SECONDS}; got ${quoteValue(timeoutSeconds)}. Call again to wait longer`);
  }
  return seconds * 1000;
}

/**
 * Reads the status until it is final or the time is up (or the agent cancels the call). Polling,
 * as an HTTP client does: each read is one status query, and a wait ended early leaves nothing behind.
 */
export async function waitForOutcome(rebound: ReboundClient, args: { messageId: string; timeoutSeconds?: number }, signal?: AbortSignal): Promise<{ final: boolean; status: DeliveryStatus }> {
  const until = Date.now() + waitMs(args.timeoutSeconds);
  for (;;) {
    const status = await getDeliveryStatus(rebound, args);
    const left = until - Date.now();
    if (isFinal(status) || left <= 0 || signal?.aborted) return { final: isFinal(status), status };
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, Math.min(WAIT_POLL_MS, left));
      signal?.addEventListener('abort', done, { once: true });
    });
  }
}

export function checkSuppression(rebound: ReboundClient, args: { address: string }): Promise<SuppressionStatus> {
  return rebound.suppressions.check(args.address);
}

export function liftSuppression(rebound: ReboundClient, args: { address: string; reason: string }): Promise<SuppressionStatus> {
  if (args.reason.trim() === '') throw new ValidationError('reason', 'say why the suppression is lifted; it is recorded with the lift');
  return rebound.suppressions.lift(args.address, { reason: args.reason.trim(), actor: MCP_ACTOR });
}

export function getDomainHealth(rebound: ReboundClient, args: { domain: string; window?: string }): Promise<DomainDetail> {
  return rebound.domains.get(args.domain, { window: args.window });
}

export interface RetryingEntry {
  messageId: string;
  workflowId: string;
  startedAt: string;
  attempts: number | null;
}

/** Deliveries waiting for their next attempt, from Temporal visibility (the search attributes). */
export async function listRetrying(rebound: ReboundClient, args: { domain?: string; limit?: number }): Promise<{ messages: RetryingEntry[] }> {
  const limit = args.limit ?? RETRYING_DEFAULT_LIMIT;
  if (!(Number.isInteger(limit) && limit >= 1 && limit <= RETRYING_MAX_LIMIT)) {
    throw new ValidationError('limit', `must be an integer from 1 to ${RETRYING_MAX_LIMIT}; got ${quoteValue(args.limit)}`);
  }
  const query =
    args.domain === undefined ? `WorkflowType = ${JSON.stringify(DELIVERY_WORKFLOW_TYPE)} AND DeliveryState = "retrying"` : retryingQuery(checkedDomain(args.domain));
  const messages: RetryingEntry[] = [];
  for await (const wf of rebound.temporal.workflow.list({ query, pageSize: limit })) {
    const attempts = wf.typedSearchAttributes.get(DeliveryAttemptsKey);
    messages.push({ messageId: messageIdOfWorkflow(wf.workflowId), workflowId: wf.workflowId, startedAt: wf.startTime.toISOString(), attempts: attempts ?? null });
    if (messages.length >= limit) break;
  }
  return { messages };
}
