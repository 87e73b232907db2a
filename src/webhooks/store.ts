// Endpoints and the outbox in PostgreSQL (migrations/1764600000000_webhooks.sql): what the
// API registers, lists and deletes, what a delivery try reads, and what the dispatcher marks.
import { randomBytes, randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { TEST_EVENT_TYPE, type CreatedWebhookEndpoint, type WebhookEndpoint, type WebhookEvent, type WebhookEventType } from './contract';
import { newWebhookSecret } from './sign';

function toEndpoint(r: Record<string, any>): WebhookEndpoint {
  return {
    id: r.id,
    url: r.url,
    events: r.events,
    createdAt: r.created_at.toISOString(),
    disabledAt: r.disabled_at ? r.disabled_at.toISOString() : null,
    disabledReason: r.disabled_reason,
  };
}

export async function createEndpoint(pool: Pool, url: string, events: WebhookEventType[]): Promise<CreatedWebhookEndpoint> {
  const id = `wh_${randomBytes(12).toString('hex')}`;
  const secret = newWebhookSecret();
  const res = await pool.query('INSERT INTO webhook_endpoints (id, url, events, secret) VALUES ($1, $2, $3, $4) RETURNING *', [id, url, events, secret]);
  return { ...toEndpoint(res.rows[0]), secret };
}

export async function listEndpoints(pool: Pool): Promise<WebhookEndpoint[]> {
  const res = await pool.query('SELECT * FROM webhook_endpoints ORDER BY created_at, id');
  return res.rows.map(toEndpoint);
}

export async function getEndpoint(pool: Pool, id: string): Promise<WebhookEndpoint | null> {
  const res = await pool.query('SELECT * FROM webhook_endpoints WHERE id = $1', [id]);
  return res.rows[0] ? toEndpoint(res.rows[0]) : null;
}

/** Deletes an endpoint; its deliveries in flight stop at their next try. False when there was none. */
export async function deleteEndpoint(pool: Pool, id: string): Promise<boolean> {
  const res = await pool.query('DELETE FROM webhook_endpoints WHERE id = $1', [id]);
  return (res.rowCount ?? 0) > 0;
}

export async function disableEndpoint(pool: Pool, id: string, reason: string): Promise<void> {
  await pool.query('UPDATE webhook_endpoints SET disabled_at = coalesce(disabled_at, now()), disabled_reason = coalesce(disabled_reason, $2) WHERE id = $1', [id, reason]);
}

/** The event types active endpoints subscribe to (the cheap check before building events). */
export async function subscribedTypes(pool: Pool): Promise<Set<string>> {
  const res = await pool.query('SELECT DISTINCT unnest(events) AS type FROM webhook_endpoints WHERE disabled_at IS NULL');
  return new Set(res.rows.map((r) => r.type));
}

/** A `webhook.test` event for one endpoint, into the outbox; returns its id. */
export async function insertTestEvent(pool: Pool, endpointId: string): Promise<string> {
  const id = `evt_${randomUUID().replace(/-/g, '')}`;
  const payload: WebhookEvent = { type: TEST_EVENT_TYPE, timestamp: new Date().toISOString(), data: { endpointId, message: 'a test event from Rebound' } };
  await pool.query('INSERT INTO webhook_events (id, key, type, payload, endpoint_id) VALUES ($1, $2, $3, $4, $5)', [id, `${TEST_EVENT_TYPE} ${id}`, TEST_EVENT_TYPE, payload, endpointId]);
  return id;
}

/** What one try needs: the endpoint (null when deleted) and the event's body (null when gone). */
export interface TryContext {
  endpoint: { url: string; secret: string; disabled: boolean } | null;
  body: string | null;
}

export async function loadTryContext(pool: Pool, eventId: string, endpointId: string): Promise<TryContext> {
  const res = await pool.query(
    `SELECT e.url, e.secret, e.disabled_at IS NOT NULL AS disabled, (SELECT w.payload::text FROM webhook_events w WHERE w.id = $1) AS body
       FROM (SELECT 1) AS one LEFT JOIN webhook_endpoints e ON e.id = $2`,
    [eventId, endpointId],
  );
  const r = res.rows[0];
  return { endpoint: r.url === null ? null : { url: r.url, secret: r.secret, disabled: r.disabled }, body: r.body };
}

/** For each of these events not yet dispatched: the endpoints it goes to (active, subscribed; or its own endpoint). */
export async function dispatchTargets(pool: Pool, eventIds: string[]): Promise<{ eventId: string; endpointIds: string[] }[]> {
  const res = await pool.query(
    `SELECT w.id, coalesce(array_agg(e.id ORDER BY e.id) FILTER (WHERE e.id IS NOT NULL), '{}') AS endpoint_ids
       FROM webhook_events w
       LEFT JOIN webhook_endpoints e ON e.disabled_at IS NULL
            AND (CASE WHEN w.endpoint_id IS NULL THEN w.type = ANY(e.events) ELSE e.id = w.endpoint_id END)
      WHERE w.id = ANY($1) AND w.dispatched_at IS NULL
      GROUP BY w.id`,
    [eventIds],
  );
  return res.rows.map((r) => ({ eventId: r.id, endpointIds: r.endpoint_ids }));
}

export async function markDispatched(pool: Pool, eventIds: string[]): Promise<void> {
  if (eventIds.length === 0) return;
  await pool.query('UPDATE webhook_events SET dispatched_at = now() WHERE id = ANY($1) AND dispatched_at IS NULL', [eventIds]);
}

/** Events a crash (or a writer without a Temporal client: the CLI, the API) left undispatched, oldest first. */
export async function undispatchedEvents(pool: Pool, olderThanMs: number, limit: number): Promise<string[]> {
  const res = await pool.query(
    `SELECT id FROM webhook_events WHERE dispatched_at IS NULL AND created_at < now() - make_interval(secs => $1::float8 / 1000)
      ORDER BY created_at LIMIT $2`,
    [olderThanMs, limit],
  );
  return res.rows.map((r) => r.id);
}

/**
 * Deletes events dispatched longer ago than `olderThanDays` (their deliveries have ended: the
 * whole schedule spans about 3 days), at most `limit` at a time. Returns how many went.
 */
export async function pruneEvents(pool: Pool, olderThanDays: number, limit: number): Promise<number> {
  const res = await pool.query(
    `DELETE FROM webhook_events WHERE id IN (
       SELECT id FROM webhook_events WHERE dispatched_at < now() - make_interval(days => $1) LIMIT $2)`,
    [olderThanDays, limit],
  );
  return res.rowCount ?? 0;
}
