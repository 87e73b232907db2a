// The outbox's SQL (README "Webhooks", how events are never lost): fragments the statements
// that write a fact (src/delivery/attempts.ts, src/delivery/messages.ts,
// src/reputation/store.ts) add as one more CTE, so the event is written atomically with its
// fact, or not at all. An event is written only for a type some active endpoint subscribes to
// (checked in the same statement), and once per fact (its key). The inserted event ids come
// back so that the writer can start their deliveries at once; the sweeper starts the rest.
import type { OutboxEvent } from './contract';

/** ISO-8601 UTC with milliseconds, as JSON dates are written. */
export const isoSql = (expr: string): string => `to_char((${expr}) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** The event types that at least one active endpoint subscribes to. */
export const SUBSCRIBED_TYPES = `SELECT unnest(events) FROM webhook_endpoints WHERE disabled_at IS NULL`;

/** The event id: derived from the fact's key, so every writer of one fact names it alike. */
const EVENT_ID = `'evt_' || left(encode(sha256(convert_to(e.key, 'UTF8')), 'hex'), 32)`;

/**
 * A CTE `name` that inserts the events `source` yields (columns key, type, payload) for
 * subscribed types, at most once per key, returning their ids.
 */
export function outboxInsert(name: string, source: string): string {
  return `${name} AS (
    INSERT INTO webhook_events (id, key, type, payload)
    SELECT ${EVENT_ID}, e.key, e.type, e.payload FROM (${source}) AS e
     WHERE e.type IN (${SUBSCRIBED_TYPES})
    ON CONFLICT (key) DO NOTHING
    RETURNING id
  )`;
}

/** The ids a statement's outbox CTEs inserted, as one text[] column `event_ids`. */
export const insertedEventIds = (...ctes: string[]): string =>
  `ARRAY(${ctes.map((c) => `SELECT id FROM ${c}`).join(' UNION ALL ')}) AS event_ids`;

/** The parameters of message events built in JS (src/webhooks/events.ts), in this order. */
export function messageEventParams(events: OutboxEvent[]): unknown[] {
  return [
    events.map((e) => e.key),
    events.map((e) => e.type),
    events.map((e) => JSON.stringify(e.payload)),
    events.map((e) => e.recipient ?? ''),
    events.map((e) => e.attemptsPlus ?? 0),
  ];
}

/**
 * The message events passed as five parameters from `$first` (messageEventParams), with
 * `data.attempts` counted from the attempt log: the recipient's attempts of message `$message`
 * before `attemptBound` (a parameter; null: all), plus the event's own `attemptsPlus`.
 */
export function messageEventsSource(first: number, message: string, attemptBound: string | null): string {
  const p = (i: number) => `$${first + i}`;
  const bound = attemptBound === null ? '' : ` AND a.attempt < ${attemptBound}`;
  return `SELECT m.key, m.type,
           jsonb_set(m.payload, '{data,attempts}', to_jsonb(m.plus + (SELECT count(DISTINCT a.attempt) FROM attempts a WHERE a.message_id = ${message} AND a.recipient = m.recipient${bound})))
             AS payload
      FROM unnest(${p(0)}::text[], ${p(1)}::text[], ${p(2)}::jsonb[], ${p(3)}::text[], ${p(4)}::int[]) AS m(key, type, payload, recipient, plus)`;
}

/**
 * The `message.cancelled` events of message `$message` when `$state` is cancelled: one per
 * recipient not delivered, bounced, expired or (by an event) suppressed, with its last reply.
 */
export function cancelledEventsSource(message: string, state: string): string {
  return `SELECT 'message.cancelled ' || m.id || ' ' || r.recipient AS key, 'message.cancelled' AS type,
           jsonb_build_object('type', 'message.cancelled', 'timestamp', ${isoSql('now()')}, 'data', jsonb_build_object(
             'messageId', m.id, 'recipient', r.recipient,
             'reply', CASE WHEN last.reply_text IS NULL THEN NULL ELSE jsonb_build_object('code', last.code, 'enhanced', last.enhanced, 'text', last.reply_text) END,
             'category', last.category, 'scope', last.scope,
             'attempts', (SELECT count(DISTINCT a.attempt) FROM attempts a WHERE a.message_id = m.id AND a.recipient = r.recipient))) AS payload
      FROM messages m CROSS JOIN LATERAL unnest(m.recipients) AS r(recipient)
      LEFT JOIN LATERAL (SELECT a.code, a.enhanced, a.reply_text, a.category, a.scope FROM attempts a
                          WHERE a.message_id = m.id AND a.recipient = r.recipient ORDER BY a.attempt DESC LIMIT 1) AS last ON true
     WHERE m.id = ${message} AND ${state}::text = 'cancelled'
       AND NOT EXISTS (SELECT 1 FROM attempts a WHERE a.message_id = m.id AND a.recipient = r.recipient AND a.kind IN ('delivered', 'hard'))
       AND NOT EXISTS (SELECT 1 FROM expirations x WHERE x.message_id = m.id AND x.recipient = r.recipient)
       AND NOT EXISTS (SELECT 1 FROM webhook_events w WHERE w.key = 'message.suppressed ' || m.id || ' ' || r.recipient)`;
}

/** `address.suppressed` events of the suppression rows a CTE `rows` returned (RETURNING *). */
export function addressSuppressedSource(rows: string): string {
  return `SELECT 'address.suppressed ' || s.address || ' ' || ${isoSql('s.created_at')} AS key, 'address.suppressed' AS type,
           jsonb_build_object('type', 'address.suppressed', 'timestamp', ${isoSql('s.created_at')}, 'data', jsonb_build_object(
             'address', s.address, 'reason', s.reason, 'source', s.source, 'category', s.category, 'messageId', s.message_id,
             'actor', s.actor, 'until', CASE WHEN s.expires_at IS NULL THEN NULL ELSE ${isoSql('s.expires_at')} END)) AS payload
      FROM ${rows} AS s`;
}

/** `address.lifted` events of the suppression rows a CTE `rows` returned (RETURNING *) after a lift. */
export function addressLiftedSource(rows: string): string {
  return `SELECT 'address.lifted ' || s.address || ' ' || ${isoSql('s.lifted_at')} AS key, 'address.lifted' AS type,
           jsonb_build_object('type', 'address.lifted', 'timestamp', ${isoSql('s.lifted_at')}, 'data', jsonb_build_object(
             'address', s.address, 'reason', s.lift_reason, 'source', s.source, 'category', s.category, 'messageId', s.message_id,
             'actor', s.lifted_by)) AS payload
      FROM ${rows} AS s`;
}

/**
 * The key of a site.* event: one per suspension, named by its scope, site and when it was
 * written (an extension writes it anew), so every writer of one fact names it alike.
 */
const siteEventKey = (type: string, rows: string) => `'${type} ' || ${rows}.scope || ' ' || ${rows}.site || ' ' || ${isoSql(`${rows}.created_at`)}`;

/** `site.suspended` events of the site_suspensions rows a CTE `rows` returned (RETURNING *) after a write. */
export function siteSuspendedSource(rows: string): string {
  return `SELECT ${siteEventKey('site.suspended', 's')} AS key, 'site.suspended' AS type,
           jsonb_build_object('type', 'site.suspended', 'timestamp', ${isoSql('s.created_at')}, 'data', jsonb_build_object(
             'site', s.site, 'scope', s.scope, 'until', ${isoSql('s.until')}, 'rule', s.rule, 'reply', s.reply)) AS payload
      FROM ${rows} AS s`;
}

/**
 * `site.resumed` events of the site_suspensions rows a CTE `rows` returned (columns scope,
 * site, until, rule, reply, created_at, and `reopened`: when the site reopened, and
 * `resumed_by`: expired or manual). One per suspension, whoever tells it first.
 */
export function siteResumedSource(rows: string): string {
  return `SELECT ${siteEventKey('site.resumed', 's')} AS key, 'site.resumed' AS type,
           jsonb_build_object('type', 'site.resumed', 'timestamp', ${isoSql('s.reopened')}, 'data', jsonb_build_object(
             'site', s.site, 'scope', s.scope, 'until', ${isoSql('s.reopened')}, 'rule', s.rule, 'reply', s.reply, 'resumedBy', s.resumed_by)) AS payload
      FROM ${rows} AS s`;
}
