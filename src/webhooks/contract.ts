// The webhooks contract (README "Webhooks"): the event types and their JSON, an endpoint as the
// API shows it, and what the per-event delivery workflow and its activity take and answer.
// Imported by workflow code: no I/O, no Node built-ins.
import type { BounceCategory, ReplyScope } from '../delivery/contract';
import type { SiteEventData } from '../sites/contract';

/** Outcomes a receiver can subscribe to. */
export const WEBHOOK_EVENT_TYPES = [
  'message.delivered',
  'message.deferred',
  'message.bounced',
  'message.expired',
  'message.suppressed',
  'message.cancelled',
  'message.complained',
  'address.suppressed',
  'address.lifted',
  'site.suspended',
  'site.resumed',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];
export type MessageEventType = Extract<WebhookEventType, `message.${string}`>;
export type AddressEventType = Extract<WebhookEventType, `address.${string}`>;
/** site.suspended and site.resumed (README "Traffic shaping", visibility). */
export type SiteWebhookEventType = Extract<WebhookEventType, `site.${string}`>;

/** Sent by `POST /v1/webhooks/{id}/test` to that endpoint only; nobody subscribes to it. */
export const TEST_EVENT_TYPE = 'webhook.test';
export type AnyWebhookEventType = WebhookEventType | typeof TEST_EVENT_TYPE;

export function isWebhookEventType(value: unknown): value is WebhookEventType {
  return typeof value === 'string' && (WEBHOOK_EVENT_TYPES as readonly string[]).includes(value);
}

/** The server's reply as an event carries it: what was said, never anything of the message. */
export interface EventReply {
  code: number | null;
  enhanced: string | null;
  text: string;
}

/** `data` of a message.* event: one recipient's outcome. Never the subject or the body. */
export interface MessageEventData {
  messageId: string;
  recipient: string;
  /** The reply that decided the outcome (null for a suppressed recipient, or a cancelled one never tried). */
  reply: EventReply | null;
  category: BounceCategory | null;
  scope: ReplyScope | null;
  /** Attempts made to this recipient so far, this one included. */
  attempts: number;
  /** message.deferred: when the recipient is tried next, when the event knows it (see README). */
  nextAttemptAt?: string | null;
  /** message.deferred: the server's wait hint, in milliseconds. */
  retryAfterMs?: number | null;
  /** message.suppressed: why the address is on the suppression list. */
  reason?: string;
  /** message.bounced and message.complained heard after the relay's 250 (README "Late outcomes"): true. */
  late?: true;
  /** Late outcomes: which intake path heard it (smtp, imap, ses, sendgrid, mailgun, postmark). */
  source?: string;
  /** message.complained: the feedback type (abuse, fraud, ...), where the report gives one. */
  feedbackType?: string | null;
}

/** `data` of an address.* event. */
export interface AddressEventData {
  address: string;
  /** address.suppressed: the suppression's reason; address.lifted: why it was lifted. */
  reason: string;
  /** Who wrote the suppression: `auto` (the reputation rules), `manual`, `import`. */
  source: 'auto' | 'manual' | 'import' | null;
  category: string | null;
  messageId: string | null;
  actor: string | null;
  /** address.suppressed: when it lifts itself (null: never). */
  until?: string | null;
}

/** The JSON body of every webhook request. `timestamp` is when the outcome happened, the same on every try. */
export interface WebhookEvent<T extends AnyWebhookEventType = AnyWebhookEventType> {
  type: T;
  timestamp: string;
  data: T extends MessageEventType ? MessageEventData : T extends AddressEventType ? AddressEventData : T extends SiteWebhookEventType ? SiteEventData : Record<string, unknown>;
}

/** An event to be written to the outbox with its fact; `key` names the fact (one event per fact). */
export interface OutboxEvent {
  key: string;
  type: AnyWebhookEventType;
  payload: WebhookEvent;
  /** For message events: whose attempts the store counts into `data.attempts`. */
  messageId?: string;
  recipient?: string;
  /** 1 when the fact is an attempt that the same statement records (so not yet counted), else 0. */
  attemptsPlus?: number;
}

/** A registered endpoint as the API lists it (the secret only in the answer that creates it). */
export interface WebhookEndpoint {
  id: string;
  url: string;
  events: WebhookEventType[];
  createdAt: string;
  disabledAt: string | null;
  disabledReason: string | null;
}

export interface CreatedWebhookEndpoint extends WebhookEndpoint {
  /** `whsec_` and the base64 key: shown once. */
  secret: string;
}

/** The input of one delivery workflow: one event to one endpoint, by reference. */
export interface WebhookDeliveryInput {
  eventId: string;
  endpointId: string;
}

/** One try of the delivery activity. */
export interface DeliverWebhookInput extends WebhookDeliveryInput {
  /** 1 for the first try; sent as the `webhook-attempt` header. */
  attempt: number;
}

/**
 * What one try came to: `delivered` (2xx), `failed` (anything else, tried again per the
 * schedule), `disabled` (410: the endpoint is disabled, no more tries to it), `skipped` (the
 * endpoint was deleted or disabled meanwhile, or the event is gone: nothing sent).
 */
export type WebhookTryOutcome = 'delivered' | 'failed' | 'disabled' | 'skipped';

export interface DeliverWebhookResult {
  outcome: WebhookTryOutcome;
  /** The receiver's HTTP status, null when none came (connection refused, timeout, refused address). */
  status: number | null;
  /** A bounded Retry-After the receiver asked for (429, 503), in milliseconds. */
  retryAfterMs: number | null;
  /** Why the try failed, for the history and logs (never the payload). */
  error: string | null;
}

/** How a delivery workflow ended. */
export interface WebhookDeliveryResult {
  outcome: Exclude<WebhookTryOutcome, 'failed'> | 'exhausted';
  tries: number;
}

export const WEBHOOK_WORKFLOW_TYPE = 'webhookDeliveryWorkflow';
/** One run per (event, endpoint): a second start of the same pair is refused by Temporal. */
export const webhookWorkflowId = (eventId: string, endpointId: string): string => `webhook:${eventId}:${endpointId}`;

/** The headers a receiver reads (Standard Webhooks, plus the try number). */
export const WEBHOOK_HEADERS = {
  id: 'webhook-id',
  timestamp: 'webhook-timestamp',
  signature: 'webhook-signature',
  attempt: 'webhook-attempt',
} as const;
