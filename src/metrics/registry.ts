// The process's one Prometheus registry (README "Metrics"): the worker's and the API's metrics,
// prom-client's default process metrics, and the rule that bounds recipient-domain labels. A
// process that runs both a worker and the API (`rebound dev`) shows both on either /metrics.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { WebhookTryOutcome } from '../webhooks/contract';
import { FINAL_MESSAGE_STATES } from '../delivery/contract';
import type { AttemptReply } from '../delivery/contract';
import type { RuleScope } from '../sites/contract';
import { siteIncrements } from './sites';
import { HELD_BACK_REASONS, METRIC, OTHER, WEBHOOK_DELIVERY_OUTCOMES, type AcceptedResult, type ActivityOutcome, type StatusClass, type WebhookDeliveryOutcome, type WorkerIncrement } from './contract';
import { DomainLabels } from './domains';
import { fetchSdkMetrics } from './sdk-metrics';

/** Seconds: an SMTP transaction to the simulator takes milliseconds, to a slow relay up to minutes. */
const ATTEMPT_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
const REQUEST_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * Sites get labels by the recipient domains' rule (./domains.ts): a site is a provider or, for
 * the long tail, one MX host, so there may be many; the 30 busiest get their own.
 */
export const SITE_LABEL_OPTIONS = { top: 30, minVolume: 10, trackedLimit: 600 } as const;
/** Suspended sites named in `rebound_site_suspended`; more than this are only counted in `rebound_sites_suspended`. */
export const MAX_SUSPENDED_SITE_SERIES = 100;

function build() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const metrics = {
    registry,
    domains: new DomainLabels(),
    sites: new DomainLabels(SITE_LABEL_OPTIONS),
    attempts: new Counter({
      name: METRIC.attempts,
      help: 'Recipient replies of SMTP attempts, by what they mean (kind, category), whom they are about (scope) and recipient domain (the top domains by volume, the rest "other")',
      labelNames: ['kind', 'category', 'scope', 'domain'] as const,
      registers,
    }),
    attemptDuration: new Histogram({
      name: METRIC.attemptDuration,
      help: 'Duration of the send activity (one SMTP attempt of one message, with its database reads and writes), in seconds; outcome "failed" when it threw and Temporal retries it',
      labelNames: ['outcome'] as const,
      buckets: ATTEMPT_BUCKETS,
      registers,
    }),
    messagesFinal: new Counter({ name: METRIC.messagesFinal, help: 'Messages that reached a final state, by state', labelNames: ['state'] as const, registers }),
    recipientsExpired: new Counter({
      name: METRIC.recipientsExpired,
      help: "Recipients whose deadline passed while they soft-bounced, by the last reply's category and scope and by recipient domain",
      labelNames: ['category', 'scope', 'domain'] as const,
      registers,
    }),
    suppressions: new Counter({
      name: METRIC.suppressions,
      help: 'Suppressions written by reputation workflows (automatic ones and operators\' through the API or CLI), by reason and source',
      labelNames: ['reason', 'source'] as const,
      registers,
    }),
    suppressedSkips: new Counter({ name: METRIC.suppressedSkips, help: 'Recipients not attempted because their address is suppressed, by suppression reason', labelNames: ['reason'] as const, registers }),
    webhookDeliveries: new Counter({ name: METRIC.webhookDeliveries, help: 'Attempts to deliver a webhook event, by outcome', labelNames: ['outcome'] as const, registers }),
    apiRequests: new Counter({ name: METRIC.apiRequests, help: 'HTTP API requests, by method, route template and status class', labelNames: ['method', 'route', 'status_class'] as const, registers }),
    apiRequestDuration: new Histogram({
      name: METRIC.apiRequestDuration,
      help: 'HTTP API request durations, in seconds, by method and route template',
      labelNames: ['method', 'route'] as const,
      buckets: REQUEST_BUCKETS,
      registers,
    }),
    apiMessagesAccepted: new Counter({
      name: METRIC.apiMessagesAccepted,
      help: 'Messages accepted by POST /v1/messages: "new" ones stored and started (202), "existing" repeats of an accepted id (200)',
      labelNames: ['result'] as const,
      registers,
    }),
    siteAttempts: new Counter({
      name: METRIC.siteAttempts,
      help: 'Recipient replies from each site (README "Traffic shaping"), by kind; sites outside the busiest 30 as "other". Deferrals Rebound made itself are in rebound_site_deferrals_held_total instead',
      labelNames: ['site', 'kind'] as const,
      registers,
    }),
    siteHeldBack: new Counter({
      name: METRIC.siteHeldBack,
      help: 'Recipients deferred without an SMTP attempt because their site (or their domain at it) was suspended or throttled, by site and reason',
      labelNames: ['site', 'reason'] as const,
      registers,
    }),
    sitesSuspended: new Gauge({ name: METRIC.sitesSuspended, help: 'Suspensions in force, by scope (site or domain), as the worker\'s sweeper last read them from PostgreSQL', labelNames: ['scope'] as const, registers }),
    sitesThrottled: new Gauge({ name: METRIC.sitesThrottled, help: 'Adjustments of limits in force (a rule\'s rate or connections), by scope, as the worker\'s sweeper last read them', labelNames: ['scope'] as const, registers }),
    siteSuspended: new Gauge({ name: METRIC.siteSuspended, help: `1 for each site (or domain) suspended now, as the worker's sweeper last read them (at most ${MAX_SUSPENDED_SITE_SERIES})`, labelNames: ['site', 'scope'] as const, registers }),
  };
  // Series that exist from the start, so that rate() and absent() see zeros rather than nothing.
  for (const outcome of WEBHOOK_DELIVERY_OUTCOMES) metrics.webhookDeliveries.inc({ outcome }, 0);
  for (const state of FINAL_MESSAGE_STATES) metrics.messagesFinal.inc({ state }, 0);
  for (const result of ['new', 'existing'] as const) metrics.apiMessagesAccepted.inc({ result }, 0);
  for (const reason of HELD_BACK_REASONS) metrics.siteHeldBack.inc({ site: OTHER, reason }, 0);
  return metrics;
}

export type ProcessMetrics = ReturnType<typeof build>;

let current: ProcessMetrics | undefined;

/** The process's metrics, made on first use. */
export function processMetrics(): ProcessMetrics {
  current ??= build();
  return current;
}

/** The bounded label of a recipient domain (src/metrics/domains.ts), counting one send to it. */
export function domainLabel(domain: string): string {
  return processMetrics().domains.label(domain);
}

export function applyIncrements(increments: readonly WorkerIncrement[]): void {
  const m = processMetrics();
  for (const inc of increments) {
    switch (inc.metric) {
      case 'attempts':
        m.attempts.inc(inc.labels);
        break;
      case 'messagesFinal':
        m.messagesFinal.inc(inc.labels);
        break;
      case 'recipientsExpired':
        m.recipientsExpired.inc(inc.labels);
        break;
      case 'suppressions':
        m.suppressions.inc(inc.labels);
        break;
      case 'suppressedSkips':
        m.suppressedSkips.inc(inc.labels);
        break;
    }
  }
}

/**
 * Counts one recorded attempt's replies per site (README "Metrics", sites), from the recording
 * path where the site is known. Counting never fails the attempt.
 */
export function countSiteReplies(replies: readonly Pick<AttemptReply, 'address' | 'kind'>[], sites: Readonly<Record<string, { site?: string | null; errorCode?: string | null }>>): void {
  try {
    const m = processMetrics();
    for (const inc of siteIncrements(replies, sites, (site) => m.sites.label(site))) {
      if (inc.metric === 'siteAttempts') m.siteAttempts.inc(inc.labels);
      else m.siteHeldBack.inc(inc.labels);
    }
  } catch {
    // A metric is never worth an attempt: the log of the activity tells what was sent.
  }
}

/** Sets the site gauges to what is in force now (the sites' expiry sweeper reads it each round). */
export function setSiteGauges(suspended: readonly { scope: RuleScope; site: string }[], throttled: readonly { scope: RuleScope; site: string }[]): void {
  const m = processMetrics();
  for (const scope of ['site', 'domain'] as const) {
    m.sitesSuspended.set({ scope }, suspended.filter((s) => s.scope === scope).length);
    m.sitesThrottled.set({ scope }, throttled.filter((s) => s.scope === scope).length);
  }
  // Reset, so a site that reopened leaves the gauge instead of staying at its last value.
  m.siteSuspended.reset();
  for (const s of suspended.slice(0, MAX_SUSPENDED_SITE_SERIES)) m.siteSuspended.set({ site: s.site, scope: s.scope }, 1);
}

export function observeAttemptDuration(seconds: number, outcome: ActivityOutcome): void {
  processMetrics().attemptDuration.observe({ outcome }, seconds);
}

/**
 * Counts one attempt to deliver one webhook event (`rebound_webhook_deliveries_total{outcome}`).
 * The webhook delivery activity calls it once per attempt, after the receiver answered or the
 * request failed: `delivered` for a 2xx, `disabled` for a 410, `gave_up` when the schedule's
 * last attempt failed, `failed` for any other failure (retried on the schedule).
 */
export function countWebhookDelivery(outcome: WebhookDeliveryOutcome): void {
  processMetrics().webhookDeliveries.inc({ outcome });
}

/** A try of the webhook delivery activity as the metric counts it: a failed last try is the schedule given up. */
export function webhookTryOutcome(outcome: WebhookTryOutcome, attempt: number, maxTries: number): WebhookDeliveryOutcome {
  return outcome === 'failed' && attempt >= maxTries ? 'gave_up' : outcome;
}

export function statusClass(statusCode: number): StatusClass {
  const c = Math.min(5, Math.max(1, Math.floor(statusCode / 100)));
  return `${c}xx` as StatusClass;
}

/** Counts one API request; `route` is the route template (`/v1/messages/:id`), never the URL. */
export function countApiRequest(method: string, route: string, statusCode: number, seconds: number): void {
  const m = processMetrics();
  m.apiRequests.inc({ method, route, status_class: statusClass(statusCode) });
  m.apiRequestDuration.observe({ method, route }, seconds);
}

export function countAcceptedMessage(result: AcceptedResult): void {
  processMetrics().apiMessagesAccepted.inc({ result });
}

/** The Prometheus text of this process: its registry, then the Temporal SDK's own metrics when it exports them. */
export async function renderMetrics(): Promise<{ contentType: string; body: string }> {
  const m = processMetrics();
  const [own, sdk] = await Promise.all([m.registry.metrics(), fetchSdkMetrics()]);
  return { contentType: m.registry.contentType, body: sdk ? `${own}\n${sdk}` : own };
}
