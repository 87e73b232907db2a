// The delivery activities. The send activity is one attempt of a message, everything a worker
// must do between two timers in one activity (a local one in runs started since local attempts,
// README "Performance"), so that an attempt costs at most one round trip through the server:
//   message, suppressions, earlier acceptances and the send lease (one statement)
//   -> SMTP transaction for the rest, the body written only while the lease holds
//   -> attempt log and, when nothing is left open, the final state (one statement)
//   -> reputation notices -> the lease dropped.
// It heartbeats (as a regular activity) and renews its lease throughout, so a worker that dies
// mid-attempt is noticed in seconds and the attempt retried elsewhere (as a local activity: its
// workflow task times out and runs again), and one that was only paused cannot finish a
// transaction its retry also sends (README "Reliability"). Beside it: the follow-up that writes
// an attempt log the send activity could not, and the record of expiries and final states.
import { ApplicationFailure, Context, log } from '@temporalio/activity';
import { ApplicationFailureCategory } from '@temporalio/common';
import type { Pool } from 'pg';
import { loadAttemptContext, recordAcceptedNow, recordAttemptWithEvents, type AttemptContext, type AttemptSites } from '../src/delivery/attempts';
import { countSiteReplies } from '../src/metrics/registry';
import { newSendLease, releaseSendLease, renewSendLease, type SendLease } from '../src/delivery/leases';
import { isDatabaseUnavailable, type DatabaseOutage } from '../src/db/outage';
import { classifyReply } from '../src/delivery/classify';
import { settleAttempt } from '../src/delivery/attempt';
import { TransactionAbandoned } from '../src/smtp/pool';
import type { RawSend } from '../src/smtp/send-raw';
import { returnPathAddress, returnPathToken, withReboundRef } from '../src/bounces/verp';
import type { Sender } from '../src/smtp/sender';
import type { AttemptLog, AttemptReply, Deferral, DeliveryStateRecord, SendAttemptInput, SendAttemptResult } from '../src/delivery/contract';
import type { ReputationNotice } from '../src/reputation/contract';
import { recordDeliveryState as storeDeliveryState } from '../src/delivery/messages';
import { noticeOf, type ReputationNotifier, type ReputationNotifiers } from './reputation';
import type { WebhookDispatcher } from '../src/webhooks/dispatch';
import { attemptEvents, deferralEvents, expiryEvents } from '../src/webhooks/events';
import { insertMessageEvents } from '../src/webhooks/outbox-write';
import type { SuppressionCheck } from '../src/reputation/contract';
import type { MessageEventType } from '../src/webhooks/contract';

/** The event types an attempt can produce: when no endpoint subscribes to any, none are built. */
const ATTEMPT_EVENT_TYPES: readonly MessageEventType[] = ['message.delivered', 'message.bounced', 'message.deferred', 'message.suppressed'];
const STATE_EVENT_TYPES: readonly MessageEventType[] = ['message.expired', 'message.cancelled'];

/**
 * An attempt log with the recipients it skipped as suppressed (their webhook events), and
 * whether the workflow writes the first soft bounces' events itself; also when handed to it.
 */
type AttemptLogWithSkips = AttemptLog & { suppressed?: SuppressionCheck[]; deferralsAfterPlan?: boolean; sites?: AttemptSites };

export interface SendDeps {
  pool: Pool;
  /** The relay or direct delivery (README "Direct delivery"): one raw reply per recipient. */
  sender: Sender;
  notifyReputation: ReputationNotifier;
  outage: DatabaseOutage;
  /** Absent (tests of the send activity alone): no webhook events are written. */
  webhooks?: WebhookWriter;
  /** The return path (README "Late outcomes"): every attempt's envelope sender is a token on this domain. Null or absent: the message's own sender. */
  returnPath?: { domain: string; secret: string } | null;
}

/** What the delivery activities need of the webhook dispatcher. */
type WebhookWriter = Pick<WebhookDispatcher, 'wants' | 'dispatchSoon'>;

/** Without a dispatcher: nothing subscribes, nothing to start. */
const NO_WEBHOOKS: WebhookWriter = { wants: async () => false, dispatchSoon: () => undefined };

/**
 * How often a running attempt heartbeats. The workflow's heartbeat timeout (30 s) leaves room
 * for the SDK's throttling (at most one heartbeat per 0.8 x the timeout) and a busy event loop:
 * a live worker must never look dead, or its attempt would run twice.
 */
export const HEARTBEAT_INTERVAL_MS = 5_000;

/**
 * Heartbeats, and runs `renew` with each heartbeat, until stopped. A local activity has no
 * heartbeat (its workflow task is kept alive by the SDK instead): it only renews.
 */
function heartbeating(renew: () => void): () => void {
  const ctx = Context.current();
  const beat = ctx.info.isLocal ? () => undefined : () => ctx.heartbeat();
  beat();
  const timer = setInterval(() => {
    beat();
    renew();
  }, HEARTBEAT_INTERVAL_MS);
  return () => clearInterval(timer);
}

/** A retryable failure that is part of normal operation: the SDK logs it at debug, not as an error. */
function benign(type: string, message: string): ApplicationFailure {
  return ApplicationFailure.create({ type, message, category: ApplicationFailureCategory.BENIGN });
}

/** The notices of the sends this attempt ended (see settleAttempt). */
function noticesFor(messageId: string, ended: AttemptReply[]): ReputationNotice[] {
  const at = new Date().toISOString();
  return ended.map((r) => noticeOf(messageId, r.address, r.kind === 'delivered' ? 'delivered' : 'hardBounced', r, at));
}

export function createSendActivities({ pool, sender, notifyReputation, outage, webhooks = NO_WEBHOOKS, returnPath = null }: SendDeps) {
  /** Leases of runs that ended in this process but whose release PostgreSQL did not take, by message. */
  const unreleased = new Map<string, string>();
  const MAX_UNRELEASED = 10_000;
  function rememberUnreleased(messageId: string, holder: string): void {
    // Bounded: a forgotten one only makes a later run wait for the lease to lapse (20 s).
    if (unreleased.size >= MAX_UNRELEASED) unreleased.delete(unreleased.keys().next().value!);
    unreleased.set(messageId, holder);
  }

  /**
   * Asked after the server's 354: the body goes out only while this run still holds the lease.
   * Anything else (the lease taken over, PostgreSQL unreachable) abandons the transaction
   * before the final "." — nothing is delivered, and the attempt is retried.
   */
  function leaseGate(lease: SendLease): () => Promise<void> {
    return async () => {
      if (await renewSendLease(pool, lease)) return;
      throw new Error(`the send lease of message ${lease.messageId} was taken over by another run of this attempt`);
    };
  }

  /**
   * Between the transactions of one send (direct delivery, one per recipient domain): the
   * recipients the server just accepted go on the ledger, so that if a later transaction is
   * abandoned (the lease lost) the run that takes over does not send them again.
   */
  function ledgerWriter(messageId: string, attemptNo: number): NonNullable<RawSend['afterTransaction']> {
    return async (replies) => {
      const accepted = replies.flatMap(({ address, reply }) => (classifyReply(reply).kind === 'delivered' ? [{ recipient: address, code: reply.code, enhanced: reply.enhanced, text: reply.text }] : []));
      await recordAcceptedNow(pool, messageId, attemptNo, accepted);
    };
  }

  /**
   * SMTP for the recipients not already accepted by an earlier run of this activity. Besides the
   * replies, where each fresh one came from (its site, its error code): for the attempt log and
   * the per-site metrics only, never in the activity's result (README "Traffic shaping").
   */
  async function attempt(messageId: string, attemptNo: number, recipients: string[], { message, accepted }: AttemptContext, lease: SendLease): Promise<{ replies: AttemptReply[]; sites: AttemptSites }> {
    if (recipients.length === 0) return { replies: [], sites: {} };
    if (!message) {
      throw ApplicationFailure.nonRetryable(
        `message ${messageId} is not in the database: it was never stored or was deleted; start it again with the client`,
        'MessageNotFound',
      );
    }
    // A run of this activity after a crash must not resend what the server already took.
    const acceptedBefore = new Map(accepted.map((a) => [a.recipient, a]));
    const toSend = recipients.filter((r) => !acceptedBefore.has(r));
    const envelope = returnPath
      ? { from: returnPathAddress(messageId, returnPath), raw: withReboundRef(message.raw, returnPathToken(messageId, returnPath.secret)) }
      : { from: message.mailFrom, raw: message.raw };
    const send: RawSend = { ...envelope, recipients: toSend, beforeData: leaseGate(lease), afterTransaction: ledgerWriter(messageId, attemptNo) };
    const fresh = new Map((await sendAbandoningOnLeaseLoss(messageId, lease, send)).map((f) => [f.address, f]));
    const sites: AttemptSites = {};
    for (const [address, f] of fresh) {
      if (f.site || f.reply.errorCode) sites[address] = { site: f.site ?? null, errorCode: f.reply.errorCode ?? null };
    }
    const replies = recipients.map((address) => {
      const before = acceptedBefore.get(address);
      if (before) return { address, alreadyAccepted: true, ...classifyReply({ code: before.code, enhanced: before.enhanced, text: before.text }) };
      return { address, ...classifyReply(fresh.get(address)!.reply) };
    });
    return { replies, sites };
  }

  /** The SMTP transaction; an abandoned one (nothing delivered) fails the activity, to be retried. */
  async function sendAbandoningOnLeaseLoss(messageId: string, lease: SendLease, send: RawSend) {
    try {
      return await sender.send(send);
    } catch (err) {
      if (!(err instanceof TransactionAbandoned)) throw err;
      if (isDatabaseUnavailable(err.reason)) throw outage.failed(err.reason, `checking the send lease of message ${messageId} before its body`);
      log.warn('SMTP transaction abandoned before the body: another run of this attempt holds the send lease', { messageId, holder: lease.holder });
      throw benign('SendLeaseLost', `${(err.reason as Error).message}; this run sent nothing and stops`);
    }
  }

  /**
   * Writes the attempt log after the SMTP transaction. The replies are facts by then: if the
   * write fails (PostgreSQL unreachable, or anything else), the activity still completes with
   * them and hands the log to the workflow, which writes it with a follow-up activity. A retry
   * of this activity would send again what the server accepted.
   */
  async function recordOrHandOver(record: AttemptLogWithSkips): Promise<boolean> {
    try {
      await recordWithEvents(record);
      return true;
    } catch (err) {
      log.warn('attempt log handed to the workflow: the replies are kept in its history and written when PostgreSQL answers', {
        messageId: record.messageId,
        attempt: record.attempt,
        error: (err as Error).message,
      });
      return false;
    }
  }

  return {
    async sendAttempt(input: SendAttemptInput): Promise<SendAttemptResult> {
      const predecessor = unreleased.get(input.messageId);
      const lease = newSendLease(input.messageId, input.attempt, predecessor ? [predecessor] : []);
      const stopHeartbeating = heartbeating(() => void renewSendLease(pool, lease).catch(() => undefined));
      try {
        return await sendAttemptHeartbeating(input, lease);
      } finally {
        stopHeartbeating();
        await releaseSendLease(pool, lease).then(
          () => (unreleased.get(input.messageId) === predecessor ? unreleased.delete(input.messageId) : undefined),
          () => rememberUnreleased(input.messageId, lease.holder),
        );
      }
    },

    /** The attempt log a send activity could not write; retried until PostgreSQL answers. */
    async recordAttemptLog(record: AttemptLogWithSkips): Promise<void> {
      await recordWithEvents(record);
    },
  };

  /**
   * The attempt log with its webhook events in one statement (README "Webhooks"); their
   * deliveries are started in the background, never waited for.
   */
  async function recordWithEvents(record: AttemptLogWithSkips): Promise<void> {
    const all = (await webhooks.wants(ATTEMPT_EVENT_TYPES)) ? attemptEvents(record.messageId, record.replies, record.suppressed ?? [], new Date().toISOString()) : [];
    // The workflow writes message.deferred once it has planned the next attempt (recordDeferrals).
    const events = record.deferralsAfterPlan ? all.filter((e) => e.type !== 'message.deferred') : all;
    const ids = await outage.run(`recording attempt ${record.attempt} of message ${record.messageId}`, () => recordAttemptWithEvents(pool, record, events));
    webhooks.dispatchSoon(ids);
    // Counted where the site is known and recorded: the activity's result does not carry it (README "Metrics").
    countSiteReplies(record.replies, record.sites ?? {});
  }

  async function sendAttemptHeartbeating(input: SendAttemptInput, lease: SendLease): Promise<SendAttemptResult> {
    // PostgreSQL unreachable here: nothing was sent, the activity fails and is retried (the same
    // attempt, so the message's schedule is not used up).
    const context = await outage.run(`reading message ${input.messageId} for attempt ${input.attempt}`, () => loadAttemptContext(pool, input.messageId, input.recipients, lease));
    if (!context.lease.taken) {
      // An earlier run of this attempt went silent but may still be alive (paused, cut off from
      // Temporal): this one waits for its lease to lapse, through the activity's retries.
      throw benign('SendLeaseBusy', `message ${input.messageId}: an earlier run of attempt ${input.attempt} holds the send lease until ${context.lease.until.toISOString()}; retried after it lapses`);
    }
    const { suppressed } = context;
    const skipped = new Set(suppressed.map((s) => s.address));
    const { replies, sites } = await attempt(input.messageId, input.attempt, input.recipients.filter((r) => !skipped.has(r)), context, lease);

    const { finalState, ended } = settleAttempt(input.progress, replies);
    const record: AttemptLogWithSkips = {
      messageId: input.messageId,
      attempt: input.attempt,
      replies,
      finalState,
      ...(suppressed.length > 0 ? { suppressed } : {}),
      ...(input.deferralsAfterPlan ? { deferralsAfterPlan: true } : {}),
      // Handed to the workflow with the rest when PostgreSQL is away, so the follow-up records the sites too.
      ...(Object.keys(sites).length > 0 ? { sites } : {}),
    };
    const recorded = await recordOrHandOver(record);

    // Reputation is told after the attempt is recorded, and a failure to tell it must not
    // repeat the SMTP transaction: the workflow retries what could not be reported.
    let unreported: ReputationNotice[] = [];
    const notices = noticesFor(input.messageId, ended);
    try {
      await notifyReputation(notices);
    } catch (err) {
      log.warn('reputation notices deferred to the workflow', { messageId: input.messageId, error: (err as Error).message });
      unreported = notices;
    }

    log.info('attempt finished', {
      messageId: input.messageId,
      attempt: input.attempt,
      outcomes: replies.map((r) => `${r.kind}:${r.category}`),
      suppressed: suppressed.length,
      skippedAlreadyAccepted: replies.filter((r) => r.alreadyAccepted).length,
      recorded,
    });
    const deferralsWanted = input.deferralsAfterPlan && replies.some((r) => r.kind === 'soft') ? await webhooks.wants(['message.deferred']) : false;
    return { replies, suppressed, unreported, finalState: recorded ? finalState : null, unrecorded: recorded ? null : record, ...(deferralsWanted ? { deferralsWanted } : {}) };
  }
}

export interface DeliveryStateDeps {
  pool: Pool;
  outage: DatabaseOutage;
  notifiers: ReputationNotifiers;
  webhooks?: WebhookWriter;
}

/**
 * What a delivery decides without an attempt: recipients that expired (their addresses are
 * told) and the final state when its last attempt did not record it (expired, cancelled).
 */
export function createDeliveryStateActivities({ pool, outage, notifiers, webhooks = NO_WEBHOOKS }: DeliveryStateDeps) {
  return {
    /**
     * Idempotent, so a retry after a crash changes nothing twice: the expiries and the final
     * state are written first, then each expired send is told to its address's reputation
     * workflow, which counts a message once. The first run follows the last attempt's
     * suppression check at once; a retried one may come after a suppression was added.
     */
    async recordDeliveryState(record: DeliveryStateRecord): Promise<void> {
      const at = new Date().toISOString();
      const events = record.expired?.length && (await webhooks.wants(STATE_EVENT_TYPES)) ? expiryEvents(record.messageId, record.expired, at) : [];
      const eventIds = await outage.run(`recording the state of message ${record.messageId}`, () => storeDeliveryState(pool, record, events));
      webhooks.dispatchSoon(eventIds);
      const notices = (record.expired ?? []).map((e) => noticeOf(record.messageId, e.address, 'softBounced', e.reply, at));
      await (Context.current().info.attempt === 1 ? notifiers.afterAttempt : notifiers.later)(notices);
    },

    /**
     * The `message.deferred` events of recipients' first soft bounces, written once the workflow
     * has planned their next attempt, so each event says when it is (README "Webhooks"). One
     * event per recipient (its key): a retry writes nothing twice.
     */
    async recordDeferrals(input: { messageId: string; deferrals: Deferral[] }): Promise<void> {
      const events = deferralEvents(input.messageId, input.deferrals, new Date().toISOString());
      const ids = await outage.run(`recording the deferrals of message ${input.messageId}`, () => insertMessageEvents(pool, input.messageId, events));
      webhooks.dispatchSoon(ids);
    },
  };
}
