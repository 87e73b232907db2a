// Scenario 5: cost per message independent of the machine — history events, workflow tasks
// and activities of the delivery workflow plus the address's reputation workflow, for a
// message delivered at once and for one that soft-bounces once. Fresh addresses, so each
// reputation workflow holds only that message's events.
import { deliveryWorkflowId } from '../../src/delivery/contract';
import { reputationWorkflowId } from '../../src/reputation/contract';
import { request, type ModeContext } from '../context';
import { countEvents, fetchEvents, settledEvents, type EventCounts } from '../history';

export interface MessageCost {
  outcome: string;
  state: string;
  delivery: EventCounts;
  reputation: EventCounts;
  total: Omit<EventCounts, 'byType'>;
}

export interface CostResult {
  delivered: MessageCost;
  softBouncedOnce: MessageCost;
}

async function costOf(ctx: ModeContext, id: string, address: string, outcome: string, extra: object): Promise<MessageCost> {
  await ctx.rebound.send(request(id, address, extra));
  const final = await ctx.rebound.result(id);
  const deliveryEvents = await fetchEvents(ctx.temporal, deliveryWorkflowId(id));
  const reputationEvents = await settledEvents(ctx.temporal, reputationWorkflowId(address.toLowerCase()));
  const { byType: _, ...total } = countEvents([...deliveryEvents, ...reputationEvents]);
  return { outcome, state: final.state, delivery: countEvents(deliveryEvents), reputation: countEvents(reputationEvents), total };
}

export async function runCost(ctx: ModeContext): Promise<CostResult> {
  ctx.log(`[${ctx.mode}] scenario 5: events per message`);
  const [delivered, softBouncedOnce] = await Promise.all([
    costOf(ctx, `${ctx.tag}-c-ok`, `cost+${ctx.tag}@example.test`, 'delivered at once', {}),
    costOf(ctx, `${ctx.tag}-c-soft`, `soft-1+${ctx.tag}c@example.test`, 'soft bounce, then delivered', { delays: ['1s'], deadline: '30s' }),
  ]);
  ctx.log(`[${ctx.mode}]   delivered: ${delivered.total.events} events, ${delivered.total.workflowTasks} workflow tasks; soft once: ${softBouncedOnce.total.events} events, ${softBouncedOnce.total.workflowTasks} workflow tasks`);
  return { delivered, softBouncedOnce };
}
