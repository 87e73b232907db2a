// All activities of a worker, built around the resources one worker process shares: one pg
// pool, one sender (the relay's pooled connections or direct delivery's), one Temporal client.
import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import { DatabaseOutage } from '../src/db/outage';
import { logger } from '../src/log';
import type { ReputationWorkflowSettings } from '../src/reputation/policy';
import type { Sender } from '../src/smtp/sender';
import { createWebhookDispatcher, type WebhookDispatcher } from '../src/webhooks/dispatch';
import { createDeliveryStateActivities, createSendActivities } from './delivery';
import { createReputationActivities, createSuppressionActivities, reputationNotifiers } from './reputation';
import { createWebhookActivities, type WebhookTryRecord } from './webhooks';
import { createBounceActivities } from './bounces';
import type { ReboundConfig } from '../src/config';

export interface ActivityDeps {
  pool: Pool;
  sender: Sender;
  client: Client;
  taskQueue: string;
  reputation: ReputationWorkflowSettings;
  /** REBOUND_ADDRESS_ID_KEY: reputation workflow ids are keyed hashes of the addresses (README "Security"); absent: the addresses. */
  addressIdKey?: string | null;
  /** Webhook URLs on private addresses allowed (REBOUND_WEBHOOKS_ALLOW_PRIVATE); default false. */
  webhooksAllowPrivate?: boolean;
  /** Starts webhook deliveries of the events activities write (the worker passes the one its sweeper uses). */
  webhooks?: WebhookDispatcher;
  /** Called after every webhook try, e.g. to count deliveries by outcome. */
  onWebhookTry?: (record: WebhookTryRecord) => void;
  /** The return path and what a complaint does (README "Late outcomes"); absent: no return path. */
  inbound?: Pick<ReboundConfig['inbound'], 'bounceDomain' | 'bounceSecret' | 'complaintSuppressionDays'>;
}

const NO_RETURN_PATH: NonNullable<ActivityDeps['inbound']> = { bounceDomain: null, bounceSecret: null, complaintSuppressionDays: null };

export function createActivities(deps: ActivityDeps) {
  const notifiers = reputationNotifiers(deps);
  // One per worker process: an outage is logged once, whichever activity meets it first.
  const outage = new DatabaseOutage(logger);
  const webhooks = deps.webhooks ?? createWebhookDispatcher({ ...deps, logger });
  return {
    ...createSendActivities({ ...deps, notifyReputation: notifiers.afterAttempt, outage, webhooks, returnPath: returnPathOf(deps.inbound ?? NO_RETURN_PATH) }),
    ...createDeliveryStateActivities({ ...deps, outage, notifiers, webhooks }),
    ...createReputationActivities(notifiers),
    ...createSuppressionActivities({ ...deps, outage }),
    ...createBounceActivities({ ...deps, notifiers, outage, webhooks, inbound: deps.inbound ?? NO_RETURN_PATH }),
    ...createWebhookActivities({ ...deps, outage, webhooksAllowPrivate: deps.webhooksAllowPrivate ?? false }),
  };
}

/** The return path every attempt uses: both a domain and a key, or none. */
function returnPathOf(inbound: NonNullable<ActivityDeps['inbound']>): { domain: string; secret: string } | null {
  return inbound.bounceDomain && inbound.bounceSecret ? { domain: inbound.bounceDomain, secret: inbound.bounceSecret } : null;
}
