// Reading a reply: an SMTP answer line (multi-line continuations, enhanced codes in the ways
// servers write them) or a connection failure, and the wait hints in its text ("try again in
// 5 minutes"). Pure: imported by workflow code through classify.ts.

import { RawReply } from './contract';

/** Error codes of connection-level failures (Node's net/dns/tls layer and nodemailer's). */
export const CONNECTION_ERROR_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'ETIMEDOUT', 'EAI_AGAIN', 'ENOTFOUND',
  'EHOSTUNREACH', 'EHOSTDOWN', 'ENETUNREACH', 'ENETDOWN', 'EPIPE', 'ESOCKET', 'ECONNECTION',
  'ETLS', 'EDNS', 'EPROTOCOL',
]);
/** OpenSSL / Node TLS verification codes (CERT_HAS_EXPIRED, ERR_TLS_CERT_ALTNAME_INVALID, ...). */
export const TLS_ERROR_CODE = /^(?:ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_)[A-Z0-9_]+$/;

/**
 * Basic code, optionally preceded by digit-free "label:" / "label;" segments: "smtp; 550 ...",
 * "Error: 550 ...", nodemailer's "Can't send mail - all recipients were rejected: 550 ...".
 */
export const CODED_LINE = /^(?:[^\d:;\r\n]{0,80}[:;]\s*)*?([2-5]\d\d)(?:[ -]|$)(.*)$/s;
/** RFC 3463 enhanced code: class.subject.detail, subject and detail 1-3 digits. */
export const LEADING_ENHANCED = /^([245]\.\d{1,3}\.\d{1,3})(?=\s|$|[,;:])[,;:]?\s*/;
/** qmail and some others put the enhanced code at the end: "(#5.7.1)". */
export const HASH_ENHANCED = /#([245]\.\d{1,3}\.\d{1,3})\b/;

/**
 * Parses a raw SMTP reply (one line, or a multi-line reply with "550-" continuations) or a
 * connection error message into its parts. Never throws.
 */
export function parseReplyLine(line: string): RawReply {
  const lines = String(line ?? '').split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '');
  const first = lines[0] ?? '';
  const coded = CODED_LINE.exec(first);
  if (!coded) return parseUncoded(lines.join(' '));

  const code = Number(coded[1]);
  const head = splitEnhanced(coded[2].trim());
  const texts = [head.text, ...lines.slice(1).map((l) => continuationText(l, coded[1]))];
  const text = texts.filter((t) => t !== '').join(' ').replace(/\s+/g, ' ').trim();
  const enhanced = head.enhanced ?? HASH_ENHANCED.exec(text)?.[1] ?? null;
  return { code, enhanced, text, errorCode: null };
}

export function splitEnhanced(rest: string): { enhanced: string | null; text: string } {
  const m = LEADING_ENHANCED.exec(rest);
  return m ? { enhanced: m[1], text: rest.slice(m[0].length) } : { enhanced: null, text: rest };
}

/** A continuation line repeats the code (and usually the enhanced code): drop both. */
export function continuationText(line: string, code: string): string {
  if (!line.startsWith(code)) return line;
  const rest = line.slice(3).replace(/^[ -]/, '').trim();
  return splitEnhanced(rest).text;
}

/**
 * No basic code: a connection failure ("ECONNREFUSED ...", "Error: connect ETIMEDOUT ...") or
 * plain text. The text keeps the error code, because ClassifiedReply has no errorCode field and
 * the text is what operators will see.
 */
export function parseUncoded(line: string): RawReply {
  const text = line.replace(/^(?:smtp\s*;|(?:smtp)?error\s*:)\s*/i, '').trim();
  const errorCode = findErrorCode(text);
  const enhanced = errorCode ? null : (LEADING_ENHANCED.exec(text)?.[1] ?? null);
  return { code: null, enhanced, text: enhanced ? splitEnhanced(text).text : text, errorCode };
}

export function findErrorCode(text: string): string | null {
  for (const token of text.match(/\b[A-Z][A-Z0-9_]{2,}\b/g) ?? []) {
    if (CONNECTION_ERROR_CODES.has(token) || TLS_ERROR_CODE.test(token)) return token;
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Wait hints
// ---------------------------------------------------------------------------------------------

export const UNIT_MS: ReadonlyArray<[RegExp, number]> = [
  [/^(?:milliseconds?|msecs?|ms)$/i, 1],
  [/^(?:seconds?|secs?|s)$/i, 1_000],
  [/^(?:minutes?|mins?|m)$/i, 60_000],
  [/^(?:hours?|hrs?|h)$/i, 3_600_000],
  [/^(?:days?|d)$/i, 86_400_000],
];
/** Words that introduce a wait: "try again in", "retry after", "wait", "greylisted for". */
export const LEAD = String.raw`\b(?:in|after|for|wait|retry|delay(?:ed)?(?:\s+(?:of|for|by))?)\s+`;
export const AMOUNT = String.raw`(?:about\s+|approximately\s+|at\s+least\s+|another\s+)?(\d+(?:\.\d+)?|an?|one)`;
export const UNIT = String.raw`(milliseconds?|msecs?|ms|seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h|days?|d)`;
export const DURATION_HINT = new RegExp(`${LEAD}${AMOUNT}\\s*${UNIT}\\b`, 'i');
/** hh:mm:ss or mm:ss, as greylisting daemons print it ("come back in 00:05:00"). */
export const CLOCK_HINT = new RegExp(`${LEAD}(?:(\\d{1,3}):)?(\\d{1,2}):(\\d{2})\\b`, 'i');

/** The wait the server asks for, in milliseconds; null when the text gives none. */
export function parseWaitHint(text: string): number | null {
  const s = String(text ?? '');
  const duration = DURATION_HINT.exec(s);
  const clock = CLOCK_HINT.exec(s);
  // When both forms occur, the one written first is the server's hint.
  const ms = clock && (!duration || clock.index < duration.index) ? clockMs(clock) : duration ? durationMs(duration) : null;
  return ms !== null && Number.isFinite(ms) && ms > 0 ? Math.round(ms) : null;
}

export function durationMs(m: RegExpExecArray): number | null {
  const amount = /^\d/.test(m[1]) ? Number(m[1]) : 1; // "a minute", "an hour", "one hour"
  const unit = UNIT_MS.find(([re]) => re.test(m[2]));
  return unit ? amount * unit[1] : null;
}

export function clockMs(m: RegExpExecArray): number {
  const hours = m[1] === undefined ? 0 : Number(m[1]);
  return ((hours * 60 + Number(m[2])) * 60 + Number(m[3])) * 1_000;
}

export interface Enhanced {
  cls: number;
  subject: number;
  detail: number;
}

export function parseEnhanced(enhanced: string | null): Enhanced | null {
  const m = /^([245])\.(\d{1,3})\.(\d{1,3})$/.exec((enhanced ?? '').trim());
  return m ? { cls: Number(m[1]), subject: Number(m[2]), detail: Number(m[3]) } : null;
}
