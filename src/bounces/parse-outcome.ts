// One recipient's outcome in a report (README "Late outcomes", parsing): the action, the status
// and the diagnostic a report gives for the recipient, classified by the project's classifier
// (src/delivery/classify.ts) into kind, category and scope. Pure.
import { classifyReply } from '../delivery/classify';
import type { RawReply } from '../delivery/contract';
import { parseReplyLine } from '../delivery/reply-line';
import { MAILBOX_DISABLED, UNKNOWN_DOMAIN, UNKNOWN_USER } from '../delivery/reply-texts';
import { normaliseAddress } from '../message/address';
import type { DsnAction, ReportRecipient } from './contract';
import { DSN_ACTIONS } from './contract';

/** What a report says about one recipient, before classification. */
export interface RecipientEvidence {
  address: string;
  action: DsnAction | null;
  /** The report's own Status field, when it has one. */
  status: string | null;
  /** The remote server's reply or the MTA's reason, as written. */
  diagnostic: string | null;
}

export const MAX_DIAGNOSTIC_CHARS = 1_000;
/** Recipients kept per report: a real DSN names a handful, a hostile one could name millions. */
export const MAX_RECIPIENTS = 1_000;

const ENHANCED = /^[245]\.\d{1,3}\.\d{1,3}$/;
/** An enhanced code inside text; not part of an IP address or a longer dotted number. */
const ENHANCED_IN_TEXT = /(?<![\d.])([245]\.\d{1,3}\.\d{1,3})(?![\d]|\.\d)/;
/** A reply code inside text ("... said: 550 5.1.1 ...", "Remote host said: 554-..."). */
const CODE_IN_TEXT = /(?<![\d.[])([45]\d\d)(?:[ -](?=[245]\.\d|[A-Za-z<(\[#"'])|$)/m;
/** A reply code the text names as one, after the reply ("mailbox unavailable. [SMTP Error Code 550]"). */
export const NAMED_CODE = /\bSMTP (?:error |reply |response |status )?code:?\s*([45]\d\d)\b/i;

/** Canonical form of a reported address: no "rfc822;" type, no brackets, lower case. */
export function cleanAddress(value: string): string {
  const noType = value.replace(/^\s*[A-Za-z0-9-]{1,20}\s*;\s*/, '');
  const bracketed = /<([^<>\s]*)>/.exec(noType);
  const bare = (bracketed ? bracketed[1] : noType).trim().replace(/^["']|["']$/g, '');
  return normaliseAddress(bare.replace(/[.,;:]+$/, ''));
}

export function isDsnAction(value: string): value is DsnAction {
  return (DSN_ACTIONS as readonly string[]).includes(value);
}

/** Whitespace collapsed and the length bounded, so a hostile report cannot bloat a record. */
export function boundedDiagnostic(text: string | null): string | null {
  if (text === null) return null;
  const flat = text.replace(/\s+/g, ' ').trim();
  if (flat === '') return null;
  return flat.length > MAX_DIAGNOSTIC_CHARS ? `${flat.slice(0, MAX_DIAGNOSTIC_CHARS - 3)}...` : flat;
}

/**
 * Reads the reply in a diagnostic: "smtp; 550 5.1.1 <a@b>: user unknown" is an SMTP reply line;
 * in prose ("host mx.example.org[192.0.2.1] said: 550 ...") the reply starts at its code.
 */
export function replyInDiagnostic(diagnostic: string): RawReply {
  const direct = parseReplyLine(diagnostic);
  if (direct.code !== null) return withEnhancedFromText(direct);
  const at = CODE_IN_TEXT.exec(diagnostic);
  if (at) {
    const fromCode = parseReplyLine(diagnostic.slice(at.index));
    if (fromCode.code !== null) return withEnhancedFromText({ ...fromCode, text: diagnostic.replace(/\s+/g, ' ').trim() });
  }
  const named = NAMED_CODE.exec(diagnostic);
  if (named) return withEnhancedFromText({ code: Number(named[1]), enhanced: direct.enhanced, text: diagnostic.replace(/\s+/g, ' ').trim() });
  return withEnhancedFromText({ code: null, enhanced: direct.enhanced, text: diagnostic.replace(/\s+/g, ' ').trim() });
}

function withEnhancedFromText(reply: RawReply): RawReply {
  if (reply.enhanced) return reply;
  const m = ENHANCED_IN_TEXT.exec(reply.text);
  return m ? { ...reply, enhanced: m[1] } : reply;
}

/** The recipient as the contract has it: codes found, and the classifier's verdict. */
export function classifyEvidence(e: RecipientEvidence): ReportRecipient {
  const diagnostic = boundedDiagnostic(e.diagnostic);
  const found = diagnostic ? replyInDiagnostic(diagnostic) : { code: null, enhanced: null, text: '' };
  const status = e.status && ENHANCED.test(e.status.trim()) ? e.status.trim() : found.enhanced;
  const code = found.code === null ? null : String(found.code);
  const base = { address: cleanAddress(e.address), action: e.action, status, code, diagnostic };
  switch (e.action) {
    case 'delivered':
    case 'relayed':
    case 'expanded':
      return { ...base, kind: 'delivered', category: 'delivered', scope: 'recipient' };
    case 'delayed':
      return { ...base, ...verdict(delayedReply(found, status)) };
    default:
      return { ...base, ...verdict(failedReply(found, status, e.action)) };
  }
}

function verdict(reply: RawReply): Pick<ReportRecipient, 'kind' | 'category' | 'scope'> {
  const c = classifyReply(reply);
  return { kind: c.kind, category: c.category, scope: c.scope };
}

/**
 * A delay is soft by definition (RFC 3464 2.3.3: the MTA is still trying): a 5.x.x status or a
 * 5xx code a delay report quotes (an earlier attempt's) is read as its transient twin.
 */
export function delayedReply(found: RawReply, status: string | null): RawReply {
  const enhanced = status ? status.replace(/^[25]/, '4') : null;
  const code = found.code !== null && found.code >= 400 && found.code < 500 ? found.code : null;
  return { code, enhanced, text: found.text };
}

/**
 * A failure. The report's Status wins over the quoted reply's enhanced code (it is the MTA's
 * final verdict). A failure with no code at all is uncoded to the classifier, which never makes
 * that hard — except when the MTA says it gave up (action failed) *and* the text plainly says
 * the mailbox or domain does not exist: then it is read as a 550, which the classifier still
 * turns into a policy block when the text is about the sender. Anything vaguer stays soft: a
 * wrong hard bounce suppresses a valid address for months, a wrong soft one costs a retry.
 */
export function failedReply(found: RawReply, status: string | null, action: DsnAction | null): RawReply {
  const reply: RawReply = { code: found.code, enhanced: status, text: found.text };
  if (reply.code !== null || reply.enhanced !== null || action !== 'failed') return reply;
  const plainlyGone = UNKNOWN_USER.test(reply.text) || UNKNOWN_DOMAIN.test(reply.text) || MAILBOX_DISABLED.test(reply.text);
  return plainlyGone ? { ...reply, code: 550 } : reply;
}
