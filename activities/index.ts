// All activities of a worker, built around the resources one worker process shares: one pg
// pool, one pooled SMTP transport, one Temporal client.
import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import { DatabaseOutage } from '../src/db/outage';
import { logger } from '../src/log';
import type { ReputationWorkflowSettings } from '../src/reputation/policy';
import type { SmtpTransport } from '../src/smtp/transport';
import { createDeliveryStateActivities, createSendActivities } from './delivery';
import { createReputationActivities, createSuppressionActivities, reputationNotifiers } from './reputation';

export interface ActivityDeps {
  pool: Pool;
  transport: SmtpTransport;
  client: Client;
  taskQueue: string;
  reputation: ReputationWorkflowSettings;
}

export function createActivities(deps: ActivityDeps) {
  const notifiers = reputationNotifiers(deps);
  // One per worker process: an outage is logged once, whichever activity meets it first.
  const outage = new DatabaseOutage(logger);
  return {
    ...createSendActivities({ ...deps, notifyReputation: notifiers.afterAttempt, outage }),
    ...createDeliveryStateActivities({ ...deps, outage, notifiers }),
    ...createReputationActivities(notifiers),
    ...createSuppressionActivities({ ...deps, outage }),
  };
}
