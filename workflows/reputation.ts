// One long-lived workflow per normalised address (spec 5): it hears every send's outcome.
// This first version records the outcomes, deduplicated per message and event; counting and
// suppression build on it.
import { defineQuery, setHandler, condition } from '@temporalio/workflow';
import type { ReputationEventType, ReputationSignal } from '../src/types';
import { deliveredSignal, hardBouncedSignal, softBouncedSignal } from './definitions';

export interface ReputationInput {
  address: string;
}

export interface ReputationEvent extends ReputationSignal {
  event: ReputationEventType;
}

export interface ReputationView {
  address: string;
  events: ReputationEvent[];
}

export const reputationQuery = defineQuery<ReputationView>('reputation');

export async function reputationWorkflow(input: ReputationInput): Promise<void> {
  const events: ReputationEvent[] = [];
  const seen = new Set<string>();
  const record = (event: ReputationEventType) => (signal: ReputationSignal) => {
    const key = `${event}:${signal.messageId}`;
    if (seen.has(key)) return;
    seen.add(key);
    events.push({ event, ...signal });
  };
  setHandler(deliveredSignal, record('delivered'));
  setHandler(softBouncedSignal, record('softBounced'));
  setHandler(hardBouncedSignal, record('hardBounced'));
  setHandler(reputationQuery, () => ({ address: input.address, events: events.slice(-20) }));
  await condition(() => false);
}
