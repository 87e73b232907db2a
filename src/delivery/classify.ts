// Reply classification: a raw SMTP answer or a connection failure becomes a kind, a category and
// a scope (whom the reply is about), as README "Behaviour" (Classification) describes. Delivery
// records the classified reply; the reputation rules (README "Reputation and suppression") go by
// its category and scope.
//
// Pure: imported by workflow code, so no I/O and no Node built-ins.
//
// Rules, in order:
//   1. an RFC 3463 enhanced status code decides over the basic code where they disagree;
//   2. recognisable text refines the category;
//   3. the first digit decides the rest.
// Three safety principles shape the judgement calls below, because a wrong hard bounce suppresses
// an address for months while a wrong soft bounce only costs a retry:
//   - text about the *sender* (our domain, our IP, our quota) never lands in a category that
//     suppresses the recipient;
//   - a reply without any status code (local or connection error) is never hard;
//   - a scope is `recipient` only when the reply is about the mailbox or address: a wrong
//     `recipient` scope blames a valid address, a wrong other scope only delays a suppression.
import { Enhanced, parseEnhanced, parseReplyLine, parseWaitHint } from './reply-line';
import { CONNECTION_TEXT, GREYLIST, INVALID_ADDRESS, MAILBOX_DISABLED, MAILBOX_FULL, POLICY, RATE_LIMIT, SENDER_SIDE, SERVER_TROUBLE, TOO_LARGE, TOO_MANY_RECIPIENTS, TRY_LATER, UNKNOWN_DOMAIN, UNKNOWN_USER } from './reply-texts';
import { scopeOf } from './scope';
import { BounceCategory, ClassifiedReply, HELD_BACK_ERROR_CODES, RawReply, ReplyKind, ReplyScope, REPLY_SCOPES, SOFT_CATEGORIES } from './contract';
import { hardBounceBlame } from '../reputation/blame';
export { parseReplyLine, parseWaitHint } from './reply-line';
export { replyScope, scopeOf } from './scope';

// ---------------------------------------------------------------------------------------------
// Classification
// ---------------------------------------------------------------------------------------------


const isSoftCategory = (c: BounceCategory): boolean => (SOFT_CATEGORIES as readonly string[]).includes(c);

function kindOf(category: BounceCategory): ReplyKind {
  if (category === 'delivered') return 'delivered';
  return isSoftCategory(category) ? 'soft' : 'hard';
}

/** Classifies one reply (the rules above). The wait hint is always parsed, whatever the category. */
export function classifyReply(reply: RawReply): ClassifiedReply {
  const category = categorise(reply);
  return {
    code: reply.code,
    enhanced: reply.enhanced,
    text: reply.text,
    kind: kindOf(category),
    category,
    scope: scopeOf(reply, category),
    retryAfterMs: parseWaitHint(reply.text),
    ...(reply.code === null && HELD_BACK_ERROR_CODES.includes(reply.errorCode ?? '') ? { heldBack: true as const } : {}),
  };
}

/** parseReplyLine + classifyReply. */
export function classifyLine(line: string): ClassifiedReply {
  return classifyReply(parseReplyLine(line));
}

/**
 * Whether this reply puts the address on the suppression list at once: a hard bounce the address
 * is to blame for (README "Reputation and suppression", hard bounces).
 */
export function suppressesAddress(c: ClassifiedReply): boolean {
  return c.kind === 'hard' && hardBounceBlame(c).counts;
}

function categorise(reply: RawReply): BounceCategory {
  const text = reply.text ?? '';
  const enhanced = parseEnhanced(reply.enhanced);
  if (reply.code === null && !enhanced) return uncodedCategory(reply, text);
  // An accepted recipient is accepted, whatever else the line says.
  if (reply.code !== null && reply.code >= 200 && reply.code < 300) return 'delivered';
  // Rule 1: the enhanced class (RFC 3463 section 3.1) decides permanence over the basic code.
  const cls = enhanced ? enhanced.cls : Math.floor((reply.code ?? 0) / 100);
  if (cls === 2) return 'delivered';
  return cls === 5 ? permanentCategory(reply.code, enhanced, text) : transientCategory(reply.code, enhanced, text);
}

/**
 * No status code at all: a connection-level failure, or a local error with no server verdict.
 * Never hard: without a code nobody said "permanent", and retrying is cheap.
 */
function uncodedCategory(reply: RawReply, text: string): BounceCategory {
  if (reply.errorCode || CONNECTION_TEXT.test(text)) return 'network_error';
  return transientCategory(null, null, text);
}

/** 4xx (or a 4.x.x enhanced code): soft. */
function transientCategory(code: number | null, e: Enhanced | null, text: string): BounceCategory {
  // RFC 3463 X.2.2 "mailbox full" is a persistent transient condition.
  if ((e && e.subject === 2 && e.detail === 2) || MAILBOX_FULL.test(text)) return 'mailbox_full';
  if (GREYLIST.test(text)) return 'greylisted';
  if (RATE_LIMIT.test(text) || isRateLimitCode(e)) return 'rate_limited';
  // X.3.x is "mail system status", X.4.x "network and routing status" (RFC 3463 sections
  // 3.5/3.6). A 4.4.x that *says* "too many ..." was caught by RATE_LIMIT above: text is the
  // better clue there, because MTAs use 4.4.x loosely for connection-level throttling.
  if (SERVER_TROUBLE.test(text) || (e && (e.subject === 3 || e.subject === 4))) return 'server_unavailable';
  if (SENDER_SIDE.test(text)) return 'temporary_failure';
  // 421 "Service not available, closing transmission channel" (RFC 5321 4.2.3), no other clue.
  if (code === 421) return 'server_unavailable';
  if ((code === 450 || code === 451) && TRY_LATER.test(text)) return 'greylisted';
  return 'temporary_failure';
}

/**
 * 4.7.0 (Gmail/Yahoo deferrals) and 4.7.28 (Gmail "unusual rate") mean "send slower", and so
 * does Exchange Online's 4.7.500-4.7.699 range (NDR "451 4.7.500-699 (ASxxx)": the sending IP
 * is throttled, e.g. "451 4.7.500 Server busy. Please try again later from [IP]").
 */
function isRateLimitCode(e: Enhanced | null): boolean {
  if (e === null || e.cls !== 4 || e.subject !== 7) return false;
  return e.detail === 0 || e.detail === 28 || (e.detail >= 500 && e.detail <= 699);
}

/** 5xx (or a 5.x.x enhanced code): hard, except mailbox full and 552 too-many-recipients. */
function permanentCategory(code: number | null, e: Enhanced | null, text: string): BounceCategory {
  if (SENDER_SIDE.test(text)) return 'policy_block';
  return byEnhancedCode(e, text) ?? byPermanentText(text) ?? byBasicCode(code, e, text);
}

/** Enhanced codes specific enough to decide on their own (RFC 3463 section 3). */
function byEnhancedCode(e: Enhanced | null, text: string): BounceCategory | null {
  if (!e) return null;
  const sd = `${e.subject}.${e.detail}`;
  if (sd === '2.2') return 'mailbox_full';
  if (sd === '3.4' || sd === '2.3') return 'message_too_large'; // too big for system / mailbox
  if (sd === '1.1' || sd === '1.10' || sd === '1.6') return 'unknown_user'; // 1.6: moved, no forward
  if (sd === '1.2') return 'unknown_domain';
  if (sd === '1.3') return 'invalid_address';
  if (sd === '2.1') return 'mailbox_disabled';
  // X.1.7/X.1.8 are the *sender's* address; X.7.x is security or policy status.
  if (sd === '1.7' || sd === '1.8' || e.subject === 7) return 'policy_block';
  // Microsoft 365 answers unknown recipients of its domains with "5.4.1 Recipient address
  // rejected: Access denied" (directory-based edge blocking).
  if (sd === '4.1' && /recipient address rejected/i.test(text)) return 'unknown_user';
  return null;
}

/** Text refinements for permanent replies; policy first, so a doubt never suppresses. */
function byPermanentText(text: string): BounceCategory | null {
  if (TOO_MANY_RECIPIENTS.test(text)) return 'rate_limited';
  if (TOO_LARGE.test(text)) return 'message_too_large';
  if (MAILBOX_FULL.test(text)) return 'mailbox_full';
  if (POLICY.test(text)) return 'policy_block';
  if (UNKNOWN_DOMAIN.test(text)) return 'unknown_domain';
  if (MAILBOX_DISABLED.test(text)) return 'mailbox_disabled';
  if (UNKNOWN_USER.test(text)) return 'unknown_user';
  if (INVALID_ADDRESS.test(text)) return 'invalid_address';
  return null;
}

/** Rule 3, with the basic codes that carry meaning of their own (RFC 5321 4.2.2/4.2.3). */
function byBasicCode(code: number | null, e: Enhanced | null, text: string): BounceCategory {
  const generic = !e || e.subject === 0 || e.subject === 2;
  // 552 "Requested mail action aborted: exceeded storage allocation".
  if (code === 552 && generic) return 'mailbox_full';
  // 501 (syntax error in parameters) / 553 (mailbox name not allowed) at RCPT: the address is
  // malformed. A 501 about HELO/EHLO is about our greeting, not the address.
  if ((code === 501 || code === 553) && !/\b(?:helo|ehlo)\b/i.test(text)) return 'invalid_address';
  return 'permanent_failure';
}

