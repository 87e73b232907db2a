// The webhook activity: one try of one event to one endpoint (README "Webhooks"). It reads the
// endpoint and the event, signs the body (Standard Webhooks), POSTs it with a 15 s limit and
// says what the answer means; a 410 disables the endpoint here, so that every other delivery
// to it stops at its next try. Only PostgreSQL being unreachable fails the activity (retried
// with backoff); whatever the receiver does is a result, which the workflow schedules on.
import { log } from '@temporalio/activity';
import type { Pool } from 'pg';
import type { DatabaseOutage } from '../src/db/outage';
import { decideAnswer } from '../src/webhooks/answer';
import { WEBHOOK_HEADERS, type DeliverWebhookInput, type DeliverWebhookResult } from '../src/webhooks/contract';
import { postWebhook } from '../src/webhooks/post';
import { signedHeaders } from '../src/webhooks/sign';
import { disableEndpoint, loadTryContext } from '../src/webhooks/store';

/** One finished try, for counting "webhook deliveries by outcome" (src/metrics). */
export interface WebhookTryRecord extends DeliverWebhookResult {
  attempt: number;
  durationMs: number;
}

export interface WebhookActivityDeps {
  pool: Pool;
  outage: DatabaseOutage;
  webhooksAllowPrivate: boolean;
  /** Called after every try (metrics hook); must not throw. */
  onWebhookTry?: (record: WebhookTryRecord) => void;
}

export function createWebhookActivities({ pool, outage, webhooksAllowPrivate, onWebhookTry }: WebhookActivityDeps) {
  async function tryOnce(input: DeliverWebhookInput): Promise<DeliverWebhookResult> {
    const { eventId, endpointId, attempt } = input;
    const ctx = await outage.run(`reading webhook event ${eventId} for endpoint ${endpointId}`, () => loadTryContext(pool, eventId, endpointId));
    if (!ctx.endpoint) return { outcome: 'skipped', status: null, retryAfterMs: null, error: `endpoint ${endpointId} was deleted` };
    if (ctx.endpoint.disabled) return { outcome: 'skipped', status: null, retryAfterMs: null, error: `endpoint ${endpointId} is disabled` };
    if (ctx.body === null) return { outcome: 'skipped', status: null, retryAfterMs: null, error: `event ${eventId} is no longer in the outbox` };

    const headers = { ...signedHeaders(ctx.endpoint.secret, eventId, ctx.body, new Date()), [WEBHOOK_HEADERS.attempt]: String(attempt) };
    const answer = await postWebhook(ctx.endpoint.url, headers, ctx.body, { allowPrivate: webhooksAllowPrivate });
    const decision = decideAnswer(answer, Date.now());
    const status = answer.status;
    switch (decision.action) {
      case 'delivered':
        return { outcome: 'delivered', status, retryAfterMs: null, error: null };
      case 'disable':
        await outage.run(`disabling webhook endpoint ${endpointId}`, () => disableEndpoint(pool, endpointId, decision.reason));
        log.warn('webhook endpoint disabled: the receiver answered 410 Gone; register it again to receive events', { endpointId, eventId });
        return { outcome: 'disabled', status, retryAfterMs: null, error: decision.reason };
      case 'retry':
        return { outcome: 'failed', status, retryAfterMs: decision.retryAfterMs, error: decision.reason };
    }
  }

  return {
    async deliverWebhook(input: DeliverWebhookInput): Promise<DeliverWebhookResult> {
      const started = Date.now();
      const result = await tryOnce(input);
      const fields = { eventId: input.eventId, endpointId: input.endpointId, attempt: input.attempt, outcome: result.outcome, status: result.status };
      if (result.outcome === 'failed') log.info('webhook try failed; tried again on the schedule', { ...fields, error: result.error, retryAfterMs: result.retryAfterMs });
      else log.debug('webhook try', fields);
      try {
        onWebhookTry?.({ ...result, attempt: input.attempt, durationMs: Date.now() - started });
      } catch {
        // a counter must never fail a try
      }
      return result;
    },
  };
}
