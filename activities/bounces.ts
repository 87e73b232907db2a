// The report activity (README "Late outcomes"): one stored report processed and told, with the
// worker's resources. Telling goes through the same paths as an attempt's outcomes: the
// reputation notifier (signal-with-start when the outcome blames the address), the suppression
// list through the address's reputation workflow (a complaint), a signal to the delivery
// workflow while it is open, and the webhook dispatcher.
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Pool } from 'pg';
import type { ReboundConfig } from '../src/config';
import { Suppressions } from '../src/client/suppressions';
import type { DatabaseOutage } from '../src/db/outage';
import { deliveryWorkflowId, lateOutcomeSignal } from '../src/delivery/contract';
import { reputationEventOf } from '../src/bounces/late';
import { parseReport } from '../src/bounces/parse';
import type { ReportProcessing } from '../src/bounces/contract';
import { processReport, type Tellers } from '../src/bounces/process';
import type { WebhookDispatcher } from '../src/webhooks/dispatch';
import { noticeOf, type ReputationNotifiers } from './reputation';

export interface BounceActivityDeps {
  pool: Pool;
  client: Client;
  notifiers: ReputationNotifiers;
  webhooks: Pick<WebhookDispatcher, 'dispatchSoon'>;
  outage: DatabaseOutage;
  inbound: Pick<ReboundConfig['inbound'], 'bounceDomain' | 'bounceSecret' | 'complaintSuppressionDays'>;
  /** REBOUND_ADDRESS_ID_KEY (README "Security"); absent or null: reputation workflow ids hold the address. */
  addressIdKey?: string | null;
}

/** Who a complaint's suppression names as its author in the suppression list. */
export const COMPLAINT_ACTOR = 'rebound:complaint';

export function createBounceActivities({ pool, client, notifiers, webhooks, outage, inbound, addressIdKey = null }: BounceActivityDeps) {
  const suppressions = new Suppressions(client, pool, addressIdKey);
  const tellers: Tellers = {
    dispatchEvents: (ids) => webhooks.dispatchSoon(ids),
    async tellReputation(messageId, outcome) {
      const event = reputationEventOf(outcome);
      if (event && outcome.reply) await notifiers.later([noticeOf(messageId, outcome.recipient, event, outcome.reply, outcome.at)]);
    },
    async suppressForComplaint(messageId, outcome) {
      const days = inbound.complaintSuppressionDays;
      await suppressions.add(outcome.recipient, {
        reason: 'complaint',
        ...(days === null ? { forever: true } : { days }),
        actor: COMPLAINT_ACTOR,
        source: 'auto',
        messageId,
        note: `${outcome.feedbackType ?? 'complaint'} report, via ${outcome.source}`,
      });
    },
    async tellDeliveryWorkflow(messageId, outcome) {
      // A closed run has nothing to update: status readers merge the outcome from PostgreSQL.
      await client.workflow
        .getHandle(deliveryWorkflowId(messageId))
        .signal(lateOutcomeSignal, outcome)
        .catch((err: unknown) => {
          if (!(err instanceof WorkflowNotFoundError)) throw err;
        });
    },
  };
  return {
    /** Processes one stored report (idempotent: the workflow retries it until it completes). */
    async processInboundReport(reportId: string): Promise<ReportProcessing> {
      return outage.run(`processing inbound report ${reportId}`, () =>
        processReport({ pool, parse: parseReport, bounceDomain: inbound.bounceDomain, bounceSecret: inbound.bounceSecret }, tellers, reportId),
      );
    },
  };
}
