// The events an outcome makes (README "Webhooks", events): one per recipient outcome, built
// from what the activity recording the outcome already holds. Never the subject or the body.
// Pure. The address events are built by the statements that write the suppression list
// (src/webhooks/outbox.ts), the cancellations by the one that records the final state.
import type { AttemptReply, Deferral, ExpiredRecipient, LateOutcome } from '../delivery/contract';
import type { SuppressionCheck } from '../reputation/contract';
import type { AnyWebhookEventType, EventReply, MessageEventData, MessageEventType, OutboxEvent } from './contract';

/** The fact an event reports, as a unique key: a retried activity writes no second event. */
export const messageEventKey = (type: MessageEventType, messageId: string, recipient: string): string => `${type} ${messageId} ${recipient}`;

const replyOf = (r: { code: number | null; enhanced: string | null; text: string }): EventReply => ({ code: r.code, enhanced: r.enhanced, text: r.text });

function messageEvent(type: MessageEventType, at: string, data: Omit<MessageEventData, 'attempts'>, attemptsPlus: number): OutboxEvent {
  return {
    key: messageEventKey(type, data.messageId, data.recipient),
    type,
    // `attempts` is counted by the statement that writes the event (the store knows the log).
    payload: { type, timestamp: at, data: { ...data, attempts: attemptsPlus } },
    messageId: data.messageId,
    recipient: data.recipient,
    attemptsPlus,
  };
}

/** The event type of one attempt's reply: delivered, bounced (hard), deferred (soft; only the first per recipient is kept). */
export function replyEventType(r: Pick<AttemptReply, 'kind'>): MessageEventType {
  return r.kind === 'delivered' ? 'message.delivered' : r.kind === 'hard' ? 'message.bounced' : 'message.deferred';
}

/**
 * The events of one attempt: each reply's (the first soft bounce of a recipient is its
 * `message.deferred`: later ones have the same key and add nothing), and each recipient skipped
 * because it is suppressed. Here `nextAttemptAt` is null: the delivery workflow decides it after
 * the activity has returned. Runs that write deferrals after planning (deferralEvents) leave
 * these out (README "Webhooks").
 */
export function attemptEvents(messageId: string, replies: AttemptReply[], suppressed: SuppressionCheck[], at: string): OutboxEvent[] {
  const events = replies.map((r) => {
    const type = replyEventType(r);
    const data: Omit<MessageEventData, 'attempts'> = { messageId, recipient: r.address, reply: replyOf(r), category: r.category, scope: r.scope ?? null };
    if (type === 'message.deferred') Object.assign(data, { nextAttemptAt: null, retryAfterMs: r.retryAfterMs ?? null });
    return messageEvent(type, at, data, 1);
  });
  for (const s of suppressed) {
    events.push(messageEvent('message.suppressed', at, { messageId, recipient: s.address, reply: null, category: null, scope: null, reason: s.reason }, 0));
  }
  return events;
}

/** The `message.deferred` events of first soft bounces whose next attempt the workflow has planned. */
export function deferralEvents(messageId: string, deferrals: Deferral[], at: string): OutboxEvent[] {
  return deferrals.map((d) =>
    messageEvent('message.deferred', at, { messageId, recipient: d.address, reply: replyOf(d.reply), category: d.reply.category, scope: d.reply.scope ?? null, nextAttemptAt: d.nextAttemptAt, retryAfterMs: d.reply.retryAfterMs ?? null }, 0),
  );
}

/** The events of recipients that expired, each with the reply its expiry is judged by. */
export function expiryEvents(messageId: string, expired: ExpiredRecipient[], at: string): OutboxEvent[] {
  return expired.map((e) => messageEvent('message.expired', at, { messageId, recipient: e.address, reply: replyOf(e.reply), category: e.reply.category, scope: e.reply.scope ?? null }, 0));
}

/** Whether any of `types` is subscribed to, from a list of subscribed types. */
export function anySubscribed(subscribed: ReadonlySet<string>, types: readonly AnyWebhookEventType[]): boolean {
  return types.some((t) => subscribed.has(t));
}

/**
 * The events of late outcomes (README "Late outcomes"): `message.bounced` with `late: true` for
 * a bounce after the 250, `message.complained` for a complaint; a delay notice makes none. Their
 * keys differ from the attempt's own events, so a recipient that was delivered gets both.
 */
export function lateEvents(messageId: string, outcomes: LateOutcome[]): OutboxEvent[] {
  return outcomes.flatMap((o): OutboxEvent[] => {
    if (o.kind === 'delayed') return [];
    const type: MessageEventType = o.kind === 'bounced' ? 'message.bounced' : 'message.complained';
    const data: Omit<MessageEventData, 'attempts'> = {
      messageId,
      recipient: o.recipient,
      reply: o.reply ? replyOf(o.reply) : null,
      category: o.reply?.category ?? null,
      scope: o.reply?.scope ?? null,
      late: true,
      source: o.source,
      ...(o.kind === 'complained' ? { feedbackType: o.feedbackType } : {}),
    };
    return [{ ...messageEvent(type, o.at, data, 0), key: `${type} late ${messageId} ${o.recipient}` }];
  });
}
