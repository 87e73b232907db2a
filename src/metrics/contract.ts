// The metrics contract (README "Metrics"): every metric's name and the bounded vocabularies of
// its labels. No label ever holds an address, a message id or free text: values outside a
// vocabulary are counted as `other`, and recipient domains go through the bounded rule in
// ./domains.ts. No I/O here.
import type { BounceCategory, MessageState, ReplyKind, ReplyScope } from '../delivery/contract';

export const METRIC = {
  attempts: 'rebound_attempts_total',
  attemptDuration: 'rebound_attempt_duration_seconds',
  messagesFinal: 'rebound_messages_final_total',
  recipientsExpired: 'rebound_recipients_expired_total',
  suppressions: 'rebound_suppressions_total',
  suppressedSkips: 'rebound_suppressed_skips_total',
  webhookDeliveries: 'rebound_webhook_deliveries_total',
  apiRequests: 'rebound_api_requests_total',
  apiRequestDuration: 'rebound_api_request_duration_seconds',
  apiMessagesAccepted: 'rebound_api_messages_accepted_total',
  siteAttempts: 'rebound_site_attempts_total',
  siteHeldBack: 'rebound_site_deferrals_held_total',
  sitesSuspended: 'rebound_sites_suspended',
  sitesThrottled: 'rebound_sites_throttled',
  siteSuspended: 'rebound_site_suspended',
} as const;

/**
 * Why Rebound deferred a recipient without an SMTP attempt (README "Traffic shaping"): its
 * site, or its domain at the site, is suspended, or the site's limits have no room now.
 */
export const HELD_BACK_REASONS = ['suspended', 'throttled'] as const;
export type HeldBackReason = (typeof HELD_BACK_REASONS)[number];

/** The label a recipient domain outside the top domains is counted under. */
export const OTHER = 'other';

/** Suppression reasons that get a label of their own; an operator's free-text reason counts as `other`. */
export const SUPPRESSION_REASON_LABELS = ['soft_bounce_threshold', 'hard_bounce', 'manual', 'import', 'complaint'] as const;
export type SuppressionReasonLabel = (typeof SUPPRESSION_REASON_LABELS)[number] | typeof OTHER;

export const SUPPRESSION_SOURCE_LABELS = ['auto', 'manual', 'import'] as const;
export type SuppressionSourceLabel = (typeof SUPPRESSION_SOURCE_LABELS)[number] | typeof OTHER;

/**
 * What one attempt to deliver one webhook event came to: `delivered` (a 2xx), `failed` (any
 * other answer, a timeout or a refused connection: retried on the schedule), `disabled` (a 410,
 * which disables the endpoint), `gave_up` (the last attempt of the schedule failed), `skipped`
 * (nothing sent: the endpoint was deleted or disabled meanwhile).
 */
export const WEBHOOK_DELIVERY_OUTCOMES = ['delivered', 'failed', 'disabled', 'gave_up', 'skipped'] as const;
export type WebhookDeliveryOutcome = (typeof WEBHOOK_DELIVERY_OUTCOMES)[number];

/** Whether the send activity returned or threw (then Temporal retries it). */
export type ActivityOutcome = 'completed' | 'failed';

/** HTTP status classes of the API's request counter. */
export type StatusClass = '1xx' | '2xx' | '3xx' | '4xx' | '5xx';

/** `POST /v1/messages` answered 202 (stored and started) or 200 (a repeat of an accepted message). */
export type AcceptedResult = 'new' | 'existing';

/** One change to a worker metric, as ./observations.ts derives it from an activity call. */
export type WorkerIncrement =
  | { metric: 'attempts'; labels: { kind: ReplyKind; category: BounceCategory; scope: ReplyScope; domain: string } }
  | { metric: 'messagesFinal'; labels: { state: MessageState } }
  | { metric: 'recipientsExpired'; labels: { category: BounceCategory; scope: ReplyScope; domain: string } }
  | { metric: 'suppressions'; labels: { reason: SuppressionReasonLabel; source: SuppressionSourceLabel } }
  | { metric: 'suppressedSkips'; labels: { reason: SuppressionReasonLabel } };
