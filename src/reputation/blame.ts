// Blame rules (README "Reputation and suppression"): which outcomes of a send count
// against the address. The address is blamed only for what the address did: a relay outage, a
// sender rate limit or a mailbox that is full for an hour must never suppress anyone. Pure: the
// send activity, the delivery workflow and the reputation workflow all decide with these.
import { NON_SUPPRESSING_CATEGORIES, type ReputationEventType } from './contract';
import { type BounceCategory, type ReplyKind, type ReplyScope } from '../delivery/contract';

/** The reply kind each send outcome stands for. */
export const OUTCOME_KIND: Readonly<Record<ReputationEventType, ReplyKind>> = { delivered: 'delivered', softBounced: 'soft', hardBounced: 'hard' };

/** What the rules look at in a reply. */
export interface BlameFacts {
  kind: ReplyKind;
  category: BounceCategory;
  scope: ReplyScope;
}

/** Whether an outcome counts against the address, and when it does not, why not (shown by `rebound address`). */
export type Blame = { counts: true } | { counts: false; why: string };

/**
 * Soft replies that say the mailbox itself is unusable: over quota, disabled or unavailable for
 * now, a temporary address failure. Rate limits and greylisting are not among them even when
 * they name the mailbox (Gmail's "450 4.2.1 ... receiving mail at a rate ..." is a valid, busy
 * mailbox).
 */
const MAILBOX_UNUSABLE: readonly BounceCategory[] = ['mailbox_full', 'temporary_failure'];

const SCOPE_REASONS: Record<Exclude<ReplyScope, 'recipient'>, string> = {
  destination: "destination scope: about the receiving server or domain, not the address (counted in the domain's health)",
  sender: "sender scope: about the sending IP, domain or authentication, not the address (counted in the domain's health)",
  message: 'message scope: about the content or size of this message, not the address',
};

function notTheAddress(facts: BlameFacts): Blame | null {
  if (facts.category === 'rate_limited') return { counts: false, why: 'rate_limited: a rate limit is never the address\'s fault' };
  if (facts.category === 'greylisted') return { counts: false, why: 'greylisted: the receiving server defers every new sender' };
  if (facts.scope !== 'recipient') return { counts: false, why: SCOPE_REASONS[facts.scope] };
  return null;
}

/**
 * A soft reply that would make its send count as failed if the send ends `expired`. A send
 * still retrying counts nothing; one delivered later is a delivery.
 */
export function softReplyBlame(facts: BlameFacts): Blame {
  const excused = notTheAddress(facts);
  if (excused) return excused;
  if (!MAILBOX_UNUSABLE.includes(facts.category)) return { counts: false, why: `${facts.category}: does not say the mailbox is unusable` };
  return { counts: true };
}

/**
 * A hard bounce suppresses at once when the address is at fault: `recipient` scope, or a domain
 * that does not exist. `policy_block` and `message_too_large` never do: they are about the message, not the address.
 */
export function hardBounceBlame(facts: BlameFacts): Blame {
  if (NON_SUPPRESSING_CATEGORIES.includes(facts.category)) return { counts: false, why: `${facts.category}: the sender's problem, never the address's` };
  if (facts.category === 'unknown_domain') return { counts: true };
  return notTheAddress(facts) ?? { counts: true };
}

/** The blame of a send's outcome as its reputation workflow hears it. */
export function outcomeBlame(facts: BlameFacts): Blame {
  if (facts.kind === 'delivered') return { counts: true };
  return facts.kind === 'hard' ? hardBounceBlame(facts) : softReplyBlame(facts);
}

/**
 * Of a send's soft replies, the one its expiry is judged by: the latest that blames the
 * address, else the latest of all.
 */
export function decidingReply<T extends BlameFacts>(current: T | null, next: T): T {
  if (current && softReplyBlame(current).counts && !softReplyBlame(next).counts) return current;
  return next;
}
