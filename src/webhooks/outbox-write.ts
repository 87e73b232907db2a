// Message events written on their own, for facts that live only in a workflow's history (a
// first soft bounce's planned next attempt): one statement, once per fact (README "Webhooks").
import type { Pool } from 'pg';
import type { OutboxEvent } from './contract';
import { insertedEventIds, messageEventParams, messageEventsSource, outboxInsert } from './outbox';

const INSERT_MESSAGE_EVENTS = `WITH ${outboxInsert('events', messageEventsSource(2, '$1', null))} SELECT ${insertedEventIds('events')}`;

/** Inserts the events of message `messageId` for subscribed types; returns the ids inserted. */
export async function insertMessageEvents(pool: Pool, messageId: string, events: OutboxEvent[]): Promise<string[]> {
  if (events.length === 0) return [];
  const res = await pool.query({ name: 'rebound-insert-message-events', text: INSERT_MESSAGE_EVENTS, values: [messageId, ...messageEventParams(events)] });
  return res.rows[0].event_ids;
}
