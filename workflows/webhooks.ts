// One event to one endpoint = one run of this workflow (README "Webhooks"). It tries at once,
// then sleeps durably on the Standard Webhooks schedule (5 s, 5 min, 30 min, 2 h, 5 h, 10 h,
// 14 h, 20 h, 24 h), or longer when the receiver asked with Retry-After, until a try is
// delivered, the endpoint answers 410 (it is disabled) or is deleted or disabled meanwhile, or
// the ten tries are used up. The history holds ids, statuses and the receiver's answer, never
// the event's body or the endpoint's secret (the activity reads both).
import { proxyActivities, sleep } from '@temporalio/workflow';
import type { createActivities } from '../activities';
import type { WebhookDeliveryInput, WebhookDeliveryResult } from '../src/webhooks/contract';
import { waitBeforeTry } from '../src/webhooks/schedule';

type Activities = ReturnType<typeof createActivities>;

const { deliverWebhook } = proxyActivities<Activities>({
  // The request itself is bounded at 15 s; the rest is DNS and two short statements.
  startToCloseTimeout: '45 seconds',
  // Only PostgreSQL being unreachable (or a worker dying) fails a try: retried as the same try.
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

export async function webhookDeliveryWorkflow(input: WebhookDeliveryInput): Promise<WebhookDeliveryResult> {
  for (let attempt = 1; ; attempt++) {
    const result = await deliverWebhook({ ...input, attempt });
    if (result.outcome !== 'failed') return { outcome: result.outcome, tries: attempt };
    const wait = waitBeforeTry(attempt + 1, result.retryAfterMs);
    if (wait === null) return { outcome: 'exhausted', tries: attempt };
    await sleep(wait);
  }
}
