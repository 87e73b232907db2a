// Reading a provider's webhook JSON (README "Late outcomes", provider webhooks): it comes from the
// internet, so every field is checked for its type and cut to a bounded length, and a field that
// is missing or wrong is named in the error (the route answers 400 with it). Pure: no I/O.
import type { ProviderEvent } from '../contract';

/** Most events one request may carry: a provider batch beyond this is refused (413) rather than half-stored. */
export const MAX_EVENTS_PER_REQUEST = 5000;
/** Ids and addresses are cut to this; a Message-ID header may be longer (RFC 5322 line limit). */
const MAX_ID = 256;
const MAX_MESSAGE_ID_HEADER = 998;
/** The remote server's text, as kept in an event. */
const MAX_DIAGNOSTIC = 1000;

/** A payload whose shape is not the provider's: `field` is the JSON path of what is wrong. */
export class PayloadError extends Error {
  override readonly name = 'PayloadError';
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`field "${field}": ${reason}`);
  }
}

/** What one request's payload became: the events to store, and how many of the provider's records were of no interest (opens, clicks, deliveries). */
export interface Normalised {
  events: ProviderEvent[];
  ignored: number;
}

export type JsonObject = Record<string, unknown>;

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function objectAt(value: unknown, field: string): JsonObject {
  if (!isObject(value)) throw new PayloadError(field, 'must be a JSON object');
  return value;
}

/** A required string, trimmed and cut to `max`. */
export function requiredText(value: unknown, field: string, max = MAX_ID): string {
  const text = optionalText(value, field, max);
  if (text === null) throw new PayloadError(field, 'is required');
  return text;
}

/** A string (or a number, which some providers send for ids and codes), trimmed and cut to `max`; null when absent or empty. */
export function optionalText(value: unknown, field: string, max = MAX_ID): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value !== 'string') throw new PayloadError(field, `must be a string, got ${Array.isArray(value) ? 'an array' : typeof value}`);
  const text = value.trim();
  return text === '' ? null : text.slice(0, max);
}

/** The remote server's text, bounded. */
export function diagnosticText(value: unknown, field: string): string | null {
  return optionalText(value, field, MAX_DIAGNOSTIC);
}

/** A recipient address: required, lower-cased domain, bounded; no whitespace or angle brackets. */
export function recipientAddress(value: unknown, field: string): string {
  const raw = requiredText(value, field, 320).replace(/^<(.*)>$/, '$1');
  const at = raw.lastIndexOf('@');
  if (at < 1 || at === raw.length - 1 || /[\s<>]/.test(raw)) throw new PayloadError(field, 'must be an email address');
  return `${raw.slice(0, at)}@${raw.slice(at + 1).toLowerCase()}`;
}

/** A Message-ID header value in Rebound's form `<left@right>` (providers may drop the brackets). */
export function messageIdHeader(value: unknown, field: string): string | null {
  const text = optionalText(value, field, MAX_MESSAGE_ID_HEADER);
  if (text === null) return null;
  const bare = text.replace(/^<(.*)>$/, '$1').trim();
  return bare === '' || /[\s<>]/.test(bare) ? null : `<${bare}>`;
}

/** An instant as ISO: an ISO/RFC 3339 string, or Unix seconds (SendGrid, Mailgun). */
export function instant(value: unknown, field: string): string {
  let ms: number;
  if (typeof value === 'number' && Number.isFinite(value)) ms = value * 1000;
  else if (typeof value === 'string' && value.length <= 64) ms = Date.parse(value);
  else throw new PayloadError(field, 'is required: a date-time or Unix seconds');
  if (!Number.isFinite(ms)) throw new PayloadError(field, 'is not a date-time');
  return new Date(ms).toISOString();
}

/** A list of records, bounded by MAX_EVENTS_PER_REQUEST. */
export function recordList(value: unknown, field: string): unknown[] {
  if (!Array.isArray(value)) throw new PayloadError(field, 'must be a JSON array');
  if (value.length > MAX_EVENTS_PER_REQUEST) throw new TooManyEventsError(value.length);
  return value;
}

export class TooManyEventsError extends Error {
  override readonly name = 'TooManyEventsError';
  constructor(readonly count: number) {
    super(`the request carries ${count} events; at most ${MAX_EVENTS_PER_REQUEST} are taken at once`);
  }
}

/** The parts of an SMTP reply quoted in a diagnostic ("smtp; 550 5.1.1 <a@b>: unknown"): its code and enhanced status. */
export function replyParts(diagnostic: string | null): { code: string | null; status: string | null } {
  if (diagnostic === null) return { code: null, status: null };
  const m = /^(?:smtp;\s*)?([245]\d\d)?[\s-]*([245]\.\d{1,3}\.\d{1,3})?/i.exec(diagnostic.trim());
  return { code: m?.[1] ?? null, status: m?.[2] ?? null };
}

/** An enhanced status code ("5.1.1") when the value is one, else null. */
export function enhancedStatus(value: unknown, field: string): string | null {
  const text = optionalText(value, field, 16);
  return text !== null && /^[245]\.\d{1,3}\.\d{1,3}$/.test(text) ? text : null;
}

/** Parses a webhook body as JSON; a body that is not JSON is a PayloadError on `body`. */
export function parseJsonBody(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch (err) {
    throw new PayloadError('body', `is not valid JSON (${(err as Error).message})`);
  }
}

/** The fields of a ProviderEvent an event without a reply or verdict leaves empty, filled in per event type. */
export const NO_REPLY = { status: null, code: null, diagnostic: null, permanent: null, feedbackType: null } as const;
