// Validation of a send request before any workflow starts (README "Using it from a service"): one small check per
// field; the grammar of a single address or mailbox is in address.ts. Pure: no I/O, no Node built-ins. Every failure
// is a ValidationError naming the field as the caller wrote it.
import { ValidationError, quoteValue } from '../errors';
import { resolveSchedule } from '../delivery/schedule';
import { CONTROL_EXCEPT_TAB, CRLF, normaliseAddress, parseMailbox, utf8Length, type Mailbox } from './address';
import { type ProfileName, type RetrySchedule } from '../delivery/contract';

export { ValidationError } from '../errors';
/** Public surface: src/index.ts exports Mailbox from here, beside the request types that use it. */
export type { Mailbox } from './address';

/** What a caller submits (the client SDK and the HTTP API). */
export interface SendRequest {
  /** Optional idempotency key: 1..200 characters of [A-Za-z0-9._:@+-]. */
  id?: string;
  /** `a@example.com` or `Name <a@example.com>`. */
  from: string;
  to: string | string[];
  cc?: string | string[];
  bcc?: string | string[];
  replyTo?: string;
  subject: string;
  text?: string;
  html?: string;
  /** Extra headers (`X-Campaign`, `List-Unsubscribe`, ...); not the structural ones. */
  headers?: Record<string, string>;
  profile?: ProfileName;
  delays?: (string | number)[];
  deadline?: string | number;
}

export interface ValidatedSendRequest {
  id?: string;
  from: Mailbox;
  to: Mailbox[];
  cc: Mailbox[];
  bcc: Mailbox[];
  replyTo?: Mailbox;
  subject: string;
  text?: string;
  html?: string;
  headers: Record<string, string>;
  /** to + cc + bcc, normalised (trimmed, lower-cased) and de-duplicated, in first-seen order. */
  envelopeRecipients: string[];
  schedule: RetrySchedule;
  profile: ProfileName | 'custom';
}

export interface ValidateOptions {
  /** Limit on the UTF-8 size of subject + text + html + headers. Default 25 MiB. */
  maxBytes?: number;
}

export const DEFAULT_MAX_BYTES = 25 * 1024 * 1024;
export const MAX_RECIPIENTS = 1000;
export const MAX_ID_LENGTH = 200;
export const MAX_SUBJECT_LENGTH = 998;

/** Headers the composer sets itself; a caller may not supply them (case-insensitive). */
export const RESERVED_HEADERS: readonly string[] = [
  'from',
  'to',
  'cc',
  'bcc',
  'reply-to',
  'sender',
  'subject',
  'message-id',
  'date',
  'mime-version',
  'content-type',
  'content-transfer-encoding',
  'return-path',
];

const KNOWN_FIELDS: readonly (keyof SendRequest)[] = [
  'id',
  'from',
  'to',
  'cc',
  'bcc',
  'replyTo',
  'subject',
  'text',
  'html',
  'headers',
  'profile',
  'delays',
  'deadline',
];

const ID_PATTERN = /^[A-Za-z0-9._:@+-]+$/;
/** RFC 5322 field name: printable US-ASCII except ":". */
const HEADER_NAME_PATTERN = /^[\x21-\x39\x3b-\x7e]+$/;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function has(obj: Record<string, unknown>, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(obj, key) && obj[key] !== undefined && obj[key] !== null;
}

function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = above;
    }
  }
  return prev[b.length];
}

function suggestField(unknown: string): string | null {
  const lower = unknown.toLowerCase();
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const known of KNOWN_FIELDS) {
    const d = editDistance(lower, known.toLowerCase());
    if (d < bestDistance) {
      best = known;
      bestDistance = d;
    }
  }
  return bestDistance <= 2 ? best : null;
}

function parseMailboxList(value: unknown, field: string, required: boolean): Mailbox[] {
  if (typeof value === 'string') return [parseMailbox(value, field)];
  if (!Array.isArray(value)) throw new ValidationError(field, `expected an address or a list of addresses, got ${quoteValue(value)}`);
  if (required && value.length === 0) throw new ValidationError(field, 'at least one recipient is required');
  if (value.length > MAX_RECIPIENTS) {
    throw new ValidationError(field, `too many recipients: ${value.length} (at most ${MAX_RECIPIENTS} in to, cc and bcc together)`);
  }
  return value.map((entry, i) => parseMailbox(entry, `${field}[${i}]`));
}

function optionalString(input: Record<string, unknown>, field: string): string | undefined {
  if (!has(input, field)) return undefined;
  const value = input[field];
  if (typeof value !== 'string') throw new ValidationError(field, `expected a string, got ${quoteValue(value)}`);
  return value;
}

function validateHeaders(value: unknown): Record<string, string> {
  if (!isPlainObject(value)) throw new ValidationError('headers', `expected an object of header names to values, got ${quoteValue(value)}`);
  const seen = new Set<string>();
  const entries: [string, string][] = [];
  for (const [name, headerValue] of Object.entries(value)) {
    const field = `headers[${JSON.stringify(name)}]`;
    if (CRLF.test(name)) throw new ValidationError(field, 'header name must not contain CR or LF (header injection)');
    if (!HEADER_NAME_PATTERN.test(name)) {
      throw new ValidationError(field, 'not a valid header name (printable ASCII without spaces or ":")');
    }
    const lower = name.toLowerCase();
    if (RESERVED_HEADERS.includes(lower)) {
      throw new ValidationError(field, `"${name}" is set by Rebound itself; use the request fields (from, to, cc, bcc, replyTo, subject) instead`);
    }
    if (seen.has(lower)) throw new ValidationError(field, `duplicate header "${name}" (header names are case-insensitive)`);
    seen.add(lower);
    if (typeof headerValue !== 'string') throw new ValidationError(field, `header value must be a string, got ${quoteValue(headerValue)}`);
    if (CRLF.test(headerValue)) throw new ValidationError(field, 'header value must not contain CR or LF (header injection)');
    if (CONTROL_EXCEPT_TAB.test(headerValue)) throw new ValidationError(field, 'header value must not contain control characters');
    entries.push([name, headerValue]);
  }
  // Object.fromEntries defines own properties, so a header named "__proto__" stays a header.
  return Object.fromEntries(entries);
}

/**
 * Validate a send request and resolve its retry schedule. Throws
 * {@link ValidationError} naming the first offending field; nothing is started on error.
 */
export function validateSendRequest(input: unknown, opts: ValidateOptions = {}): ValidatedSendRequest {
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  if (!Number.isSafeInteger(maxBytes) || maxBytes <= 0) throw new TypeError(`maxBytes must be a positive integer, got ${maxBytes}`);
  if (!isPlainObject(input)) throw new ValidationError('message', `expected an object, got ${input === null ? 'null' : quoteValue(input)}`);

  for (const key of Object.keys(input)) {
    if (!(KNOWN_FIELDS as readonly string[]).includes(key)) {
      const suggestion = suggestField(key);
      throw new ValidationError(
        key,
        `unknown field${suggestion ? `; did you mean "${suggestion}"?` : ''} (known fields: ${KNOWN_FIELDS.join(', ')})`,
      );
    }
  }

  // id: idempotency key
  let id: string | undefined;
  if (has(input, 'id')) {
    const value = input.id;
    if (typeof value !== 'string') throw new ValidationError('id', `expected a string, got ${quoteValue(value)}`);
    if (value.length === 0 || value.length > MAX_ID_LENGTH) {
      throw new ValidationError('id', `must be 1 to ${MAX_ID_LENGTH} characters long, got ${value.length}`);
    }
    if (!ID_PATTERN.test(value)) {
      throw new ValidationError('id', `${quoteValue(value)} may contain only letters, digits and . _ : @ + -`);
    }
    id = value;
  }

  // addresses
  if (!has(input, 'from')) throw new ValidationError('from', 'required');
  const from = parseMailbox(input.from, 'from');
  if (!has(input, 'to')) throw new ValidationError('to', 'required: at least one recipient');
  const to = parseMailboxList(input.to, 'to', true);
  const cc = has(input, 'cc') ? parseMailboxList(input.cc, 'cc', false) : [];
  const bcc = has(input, 'bcc') ? parseMailboxList(input.bcc, 'bcc', false) : [];
  const total = to.length + cc.length + bcc.length;
  if (total > MAX_RECIPIENTS) {
    const field = bcc.length > 0 ? 'bcc' : cc.length > 0 ? 'cc' : 'to';
    throw new ValidationError(field, `too many recipients: ${total} in to, cc and bcc together (at most ${MAX_RECIPIENTS})`);
  }
  const replyTo = has(input, 'replyTo') ? parseMailbox(input.replyTo, 'replyTo') : undefined;

  // subject and body
  if (!has(input, 'subject')) throw new ValidationError('subject', 'required');
  const subject = input.subject;
  if (typeof subject !== 'string') throw new ValidationError('subject', `expected a string, got ${quoteValue(subject)}`);
  if (CRLF.test(subject)) throw new ValidationError('subject', 'must not contain CR or LF (header injection)');
  if (CONTROL_EXCEPT_TAB.test(subject)) throw new ValidationError('subject', 'must not contain control characters');
  if (subject.trim() === '') throw new ValidationError('subject', 'must not be empty');
  if (subject.length > MAX_SUBJECT_LENGTH) {
    throw new ValidationError('subject', `longer than ${MAX_SUBJECT_LENGTH} characters (${subject.length})`);
  }
  const text = optionalString(input, 'text');
  const html = optionalString(input, 'html');
  if (!text && !html) throw new ValidationError(html !== undefined && text === undefined ? 'html' : 'text', 'a non-empty text or html body is required');

  const headers = has(input, 'headers') ? validateHeaders(input.headers) : {};

  // size
  const textBytes = text ? utf8Length(text) : 0;
  if (textBytes > maxBytes) throw new ValidationError('text', `${textBytes} bytes is over the size limit of ${maxBytes} bytes`);
  const htmlBytes = html ? utf8Length(html) : 0;
  if (htmlBytes > maxBytes) throw new ValidationError('html', `${htmlBytes} bytes is over the size limit of ${maxBytes} bytes`);
  let totalBytes = textBytes + htmlBytes + utf8Length(subject);
  for (const [name, value] of Object.entries(headers)) totalBytes += utf8Length(name) + utf8Length(value);
  if (totalBytes > maxBytes) {
    throw new ValidationError('message', `${totalBytes} bytes (subject, text, html and headers) is over the size limit of ${maxBytes} bytes`);
  }

  // envelope
  const envelopeRecipients: string[] = [];
  const seen = new Set<string>();
  for (const mailbox of [...to, ...cc, ...bcc]) {
    const normalised = normaliseAddress(mailbox.address);
    if (!seen.has(normalised)) {
      seen.add(normalised);
      envelopeRecipients.push(normalised);
    }
  }

  // schedule
  const { schedule, profile } = resolveSchedule({
    profile: has(input, 'profile') ? (input.profile as ProfileName) : undefined,
    delays: has(input, 'delays') ? (input.delays as (string | number)[]) : undefined,
    deadline: has(input, 'deadline') ? (input.deadline as string | number) : undefined,
  });

  const result: ValidatedSendRequest = { from, to, cc, bcc, subject, headers, envelopeRecipients, schedule, profile };
  if (id !== undefined) result.id = id;
  if (replyTo !== undefined) result.replyTo = replyTo;
  if (text) result.text = text;
  if (html) result.html = html;
  return result;
}
