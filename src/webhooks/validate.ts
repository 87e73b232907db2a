// A webhook registration checked field by field, as the SDK checks a send (ValidationError
// naming `url`, `events`, `events[2]`). The DNS half of the URL rule runs after this
// (src/webhooks/resolve.ts). Pure.
import { quoteValue, ValidationError } from '../errors';
import { isWebhookEventType, WEBHOOK_EVENT_TYPES, type WebhookEventType } from './contract';
import { checkWebhookUrl } from './url-policy';

export interface WebhookRegistration {
  url: string;
  events: WebhookEventType[];
  /** The host to resolve and check, null for an IP literal (already checked). */
  hostName: string | null;
}

export function validateWebhookRegistration(body: unknown, allowPrivate: boolean): WebhookRegistration {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new ValidationError('body', 'must be a JSON object {url, events}');
  const { url, events, ...rest } = body as Record<string, unknown>;
  const unknown = Object.keys(rest)[0];
  if (unknown !== undefined) throw new ValidationError(unknown, 'is not a field of a webhook registration (url, events)');
  let checked;
  try {
    checked = checkWebhookUrl(url, allowPrivate);
  } catch (err) {
    throw new ValidationError('url', (err as Error).message);
  }
  if (!Array.isArray(events) || events.length === 0) throw new ValidationError('events', `must be a non-empty array of event types: ${WEBHOOK_EVENT_TYPES.join(', ')}`);
  events.forEach((e, i) => {
    if (!isWebhookEventType(e)) throw new ValidationError(`events[${i}]`, `${quoteValue(e)} is not an event type; one of ${WEBHOOK_EVENT_TYPES.join(', ')}`);
  });
  return { url: checked.url.toString(), events: [...new Set(events as WebhookEventType[])], hostName: checked.hostName };
}
