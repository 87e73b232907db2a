// From the outbox to Temporal (README "Webhooks"): one delivery workflow per (event, endpoint),
// its id derived from both so that a second start is refused and changes nothing. Writers that
// hold a client (the activities) start an event's deliveries right after its statement, without
// waiting for it; each worker's sweeper starts whatever is left (a crash in between, or events
// the CLI and the API wrote). Neither ever delays or fails what wrote the event.
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { Pool } from 'pg';
import type { Logger } from '../log';
import { startSweeping } from '../sweeper';
import { WEBHOOK_WORKFLOW_TYPE, webhookWorkflowId, type AnyWebhookEventType, type WebhookDeliveryInput } from './contract';
import { dispatchTargets, markDispatched, pruneEvents, subscribedTypes, undispatchedEvents } from './store';

/** How long the list of subscribed types is trusted: a new endpoint gets events within this. */
export const SUBSCRIPTIONS_CACHE_MS = 5_000;
/** How often a worker looks for undispatched events, and how old one must be (so it is not the writer's own, still being started). */
export const SWEEP_INTERVAL_MS = 2_000;
export const SWEEP_MIN_AGE_MS = 1_000;
const SWEEP_BATCH = 200;
/** Dispatched events are kept this long (a week: twice the schedule), then pruned by a sweep about once an hour. */
export const EVENT_RETENTION_DAYS = 7;
const PRUNE_EVERY_SWEEPS = 1800;

export interface WebhookDispatcherDeps {
  pool: Pool;
  client: Client;
  taskQueue: string;
  logger: Logger;
}

export interface WebhookDispatcher {
  /** Whether an active endpoint subscribes to any of `types` (cached briefly; true when unknown). */
  wants(types: readonly AnyWebhookEventType[]): Promise<boolean>;
  /** Starts the deliveries of these events in the background: never throws, never waited for. */
  dispatchSoon(eventIds: string[]): void;
  /** Starts the deliveries of these events now (the sweeper and tests). Returns how many workflows it started. */
  dispatch(eventIds: string[]): Promise<number>;
  /** Sweeps until the returned function is called; that function waits for a sweep in progress. */
  startSweeper(): () => Promise<void>;
}

export function createWebhookDispatcher({ pool, client, taskQueue, logger }: WebhookDispatcherDeps): WebhookDispatcher {
  let cache: { types: Set<string>; until: number } | null = null;
  let loading: Promise<Set<string>> | null = null;

  async function types(): Promise<Set<string>> {
    if (cache && cache.until > Date.now()) return cache.types;
    loading ??= subscribedTypes(pool)
      .then((t) => {
        cache = { types: t, until: Date.now() + SUBSCRIPTIONS_CACHE_MS };
        return t;
      })
      .finally(() => {
        loading = null;
      });
    return loading;
  }

  async function start(eventId: string, endpointId: string): Promise<boolean> {
    const input: WebhookDeliveryInput = { eventId, endpointId };
    try {
      await client.workflow.start(WEBHOOK_WORKFLOW_TYPE, {
        workflowId: webhookWorkflowId(eventId, endpointId),
        taskQueue,
        args: [input],
        // Also a finished delivery is never started again: receivers get each event once per try schedule.
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
      });
      return true;
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) return false;
      throw err;
    }
  }

  async function dispatch(eventIds: string[]): Promise<number> {
    if (eventIds.length === 0) return 0;
    const targets = await dispatchTargets(pool, eventIds);
    let started = 0;
    await Promise.all(
      targets.flatMap(({ eventId, endpointIds }) =>
        endpointIds.map(async (endpointId) => {
          if (await start(eventId, endpointId)) started += 1;
        }),
      ),
    );
    // Marked only once every start went through: a failure leaves the event to the sweeper.
    await markDispatched(pool, targets.map((t) => t.eventId));
    return started;
  }

  return {
    async wants(wanted) {
      try {
        const t = await types();
        return wanted.some((w) => t.has(w));
      } catch {
        // Unknown (PostgreSQL unreachable): the statement that writes the fact decides, exactly.
        return true;
      }
    },

    dispatchSoon(eventIds) {
      if (eventIds.length === 0) return;
      dispatch(eventIds).catch((err: unknown) => {
        logger.warn({ events: eventIds.length, err: (err as Error).message }, 'webhook deliveries not started yet; the sweeper starts them');
      });
    },

    dispatch,

    startSweeper() {
      let sweeps = 0;
      return startSweeping({
        name: 'webhook sweeper',
        intervalMs: SWEEP_INTERVAL_MS,
        logger,
        failing: 'webhook sweeper cannot start deliveries; retrying every 2 s',
        async run(stopped) {
          if (sweeps++ % PRUNE_EVERY_SWEEPS === PRUNE_EVERY_SWEEPS - 1) await pruneEvents(pool, EVENT_RETENTION_DAYS, 10_000);
          // No active endpoint: nothing to start (the cached list is the only query).
          const active = (await types()).size > 0;
          for (let more = active; more; ) {
            const ids = await undispatchedEvents(pool, SWEEP_MIN_AGE_MS, SWEEP_BATCH);
            if (ids.length > 0) await dispatch(ids);
            more = ids.length === SWEEP_BATCH && !stopped();
          }
        },
      });
    },
  };
}
