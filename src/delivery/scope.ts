// Whom a reply is about: the recipient, the destination, the sender or the message (README
// "Behaviour", the scope table). Only recipient-scope replies can count against an address.
// Pure: imported by workflow code.
//
// Decided in this order, each step only when the previous ones said nothing:
//   1. categories whose scope never depends on the codes (delivered, connection failures,
//      greylisting, size);
//   2. enhanced codes that name the party outright: X.6 content, X.7 policy, the sender's
//      address (X.1.7/X.1.8), size and recipient-count limits, a soft X.1.2;
//   3. the sender: policy blocks and text about our envelope address or sending quota;
//   4. the recipient categories (unknown user, disabled, invalid, full, unknown domain);
//   5. the sender again: text about our IP, host or reputation (after step 4, so a reply the
//      categories already pinned on the mailbox keeps its recipient scope);
//   6. the server's own trouble (server_unavailable): the destination;
//   7. a "too many recipients" limit: the message;
//   8. the RFC 3463 subject of the enhanced code;
//   9. without one: the category, the basic code and the wording.
import { Enhanced, parseEnhanced } from './reply-line';
import { SENDER_SIDE, SENDER_SOURCE, TOO_MANY_RECIPIENTS } from './reply-texts';
import { BounceCategory, ClassifiedReply, REPLY_SCOPES, RawReply, ReplyScope } from './contract';

/** Scope fixed by the category alone, whatever the codes say. */
const CATEGORY_SCOPE: Partial<Record<BounceCategory, ReplyScope>> = {
  // 2xx: the mailbox accepted the message.
  delivered: 'recipient',
  // Refused, reset, timed out, TLS, DNS: the receiving server could not be talked to.
  network_error: 'destination',
  // Greylisting is the receiving server's policy towards unknown triplets, whatever enhanced
  // code it comes with (postgrey answers 450 4.2.0, milter-greylist 451 4.7.1).
  greylisted: 'destination',
  message_too_large: 'message',
};

/** RFC 3463 subject.detail codes that name the party on their own (section 3). */
const DETAIL_SCOPE: Readonly<Record<string, ReplyScope>> = {
  '1.7': 'sender', // X.1.7 bad sender's mailbox address syntax
  '1.8': 'sender', // X.1.8 bad sender's system address
  '2.3': 'message', // X.2.3 message length exceeds administrative limit
  '3.4': 'message', // X.3.4 message too big for system
  '5.3': 'message', // X.5.3 too many recipients (for this message)
};

/** RFC 3463 subjects that name the party on their own: X.6 content/media, X.7 security/policy. */
const STRONG_SUBJECT_SCOPE: Readonly<Record<number, ReplyScope>> = {
  6: 'message',
  7: 'sender',
};

/** RFC 3463 subjects (section 3): X.1 addressing, X.2 mailbox, X.3 mail system, X.4 network
 * and routing, X.5 protocol, X.6 content, X.7 policy. X.0 ("other or undefined") says nothing. */
const SUBJECT_SCOPE: Readonly<Record<number, ReplyScope>> = {
  1: 'recipient',
  2: 'recipient',
  3: 'destination',
  4: 'destination',
  5: 'destination',
  6: 'message',
  7: 'sender',
};

/** Categories that are about the mailbox or address itself. */
const RECIPIENT_CATEGORIES: ReadonlySet<BounceCategory> = new Set<BounceCategory>([
  'unknown_user', 'mailbox_disabled', 'invalid_address', 'mailbox_full', 'unknown_domain',
]);




/** Gmail X.2.1 "The user you are trying to contact is receiving mail too quickly / at a rate". */
export const RECIPIENT_RATE = /\breceiving (?:mail|messages|email) (?:too quickly|too fast|at a rate)\b/i;

/** A 4xx without enhanced code that names the mailbox (RFC 5321 450 "mailbox unavailable"). */
export const MAILBOX_WORDING = /\bmail ?box(?:es)?\b|\brecipient\b|\b(?:user|account|addressee)\b/i;

export function isReplyScope(value: unknown): value is ReplyScope {
  return typeof value === 'string' && (REPLY_SCOPES as readonly string[]).includes(value);
}

/**
 * Whom a reply is about (README "Behaviour"), from the reply and the category `categorise` decided.
 * Pure and total; uses only code, enhanced code and text, so a reply stored without its
 * errorCode gets the same scope again.
 */
export function scopeOf(reply: RawReply, category: BounceCategory): ReplyScope {
  const fixed = CATEGORY_SCOPE[category];
  if (fixed) return fixed;
  const text = reply.text ?? '';
  const e = parseEnhanced(reply.enhanced);
  const named = e ? scopeNamedByCode(e) : null;
  if (named) return named;
  if (category === 'policy_block' || SENDER_SIDE.test(text)) return 'sender';
  if (RECIPIENT_CATEGORIES.has(category)) return 'recipient';
  if (SENDER_SOURCE.test(text)) return 'sender';
  if (category === 'server_unavailable') return 'destination';
  if (category === 'rate_limited' && TOO_MANY_RECIPIENTS.test(text)) return 'message';
  if (e && e.subject !== 0) return SUBJECT_SCOPE[e.subject] ?? 'destination';
  return scopeWithoutSubject(reply.code, category, text);
}

/** Step 2: enhanced codes that name the party whatever the category or the text says. */
export function scopeNamedByCode(e: Enhanced): ReplyScope | null {
  const byDetail = DETAIL_SCOPE[`${e.subject}.${e.detail}`];
  if (byDetail) return byDetail;
  // A *transient* X.1.2 "bad destination system address" is a DNS lookup that failed for now
  // (Postfix "450 4.1.2 ... Domain not found" on a SERVFAIL): the domain's DNS, not the address.
  if (e.cls === 4 && e.subject === 1 && e.detail === 2) return 'destination';
  return STRONG_SUBJECT_SCOPE[e.subject] ?? null;
}

/**
 * Step 9: no enhanced subject to go by (no enhanced code, or X.0.x, which RFC 3463 section 3.1
 * reserves for errors of which only the class is known: the basic code keeps its meaning).
 */
export function scopeWithoutSubject(code: number | null, category: BounceCategory, text: string): ReplyScope {
  switch (category) {
    case 'rate_limited':
      return RECIPIENT_RATE.test(text) ? 'recipient' : 'destination';
    case 'temporary_failure':
      // Without a code nobody spoke about the mailbox: a local or connection-level error.
      return code !== null && MAILBOX_WORDING.test(text) ? 'recipient' : 'destination';
    case 'permanent_failure':
      // RFC 5321 4.2.2: 550 "mailbox unavailable", 551 "user not local". Any other code left
      // unexplained (554 "Transaction failed", 500-504 protocol errors) names no mailbox.
      return code === 550 || code === 551 ? 'recipient' : 'destination';
    default:
      return 'destination';
  }
}

/**
 * The scope of a classified reply: the stored one, or for replies recorded before scopes
 * existed, the one derived from code, enhanced code, text and category.
 */
export function replyScope(
  reply: Pick<ClassifiedReply, 'code' | 'enhanced' | 'text' | 'category'> & { scope?: ReplyScope },
): ReplyScope {
  if (isReplyScope(reply.scope)) return reply.scope;
  return scopeOf({ code: reply.code, enhanced: reply.enhanced, text: reply.text ?? '' }, reply.category);
}

/** Every list of alternatives, by the name of the regex it makes, for the test of the samples. */
