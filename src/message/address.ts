// Addresses: how Rebound keys them, and the grammar a send request's addresses must follow
// (README "Reputation and suppression" for the keys, "Using it from a service" for what is
// accepted). Pure: imported by workflow code, so no I/O, no Node built-ins, and nothing but
// pure modules (src/errors.ts) imported.
import { ValidationError, quoteValue } from '../errors';

export interface Mailbox {
  name?: string;
  address: string;
}

export const MAX_DISPLAY_NAME_LENGTH = 256;
export const MAX_LOCAL_PART_OCTETS = 64;
export const MAX_ADDRESS_OCTETS = 254;

/** RFC 5322 atext (plus "." between atoms), and any non-ASCII character (RFC 6531). */
const LOCAL_PART_PATTERN = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~\u0080-\uffff-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~\u0080-\uffff-]+)*$/;
/** A domain label: letters, digits, hyphens (or non-ASCII, for IDNs), not starting or ending with "-". */
const LABEL_PATTERN = /^[A-Za-z0-9\u0080-\uffff]([A-Za-z0-9\u0080-\uffff-]*[A-Za-z0-9\u0080-\uffff])?$/;
/** Header text rules, shared with the subject and header checks in validate.ts. */
// eslint-disable-next-line no-control-regex
export const CRLF = /[\r\n]/;
// eslint-disable-next-line no-control-regex
export const CONTROL_EXCEPT_TAB = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]/;
// eslint-disable-next-line no-control-regex
const WHITESPACE_OR_CONTROL = /[\s\x00-\x1f\x7f-\x9f]/;

/** Whole address lower-cased and trimmed; no other folding (README "Reputation and suppression"). */
export function normaliseAddress(address: string): string {
  return address.trim().toLowerCase();
}

export function domainOf(address: string): string {
  const at = address.lastIndexOf('@');
  return at < 0 ? '' : address.slice(at + 1).toLowerCase();
}

/** UTF-8 length of a string, without TextEncoder or Buffer (pure). Lone surrogates count 3. */
export function utf8Length(value: string): number {
  // eslint-disable-next-line no-control-regex
  if (!/[^\x00-\x7f]/.test(value)) return value.length; // fast path: ASCII
  let bytes = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < value.length) {
      const next = value.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

/** Why `address` (already trimmed, without angle brackets) is not a usable address, or null. */
export function addressProblem(address: string): string | null {
  if (address === '') return 'empty address';
  if (/[,;]/.test(address)) return 'one address per entry: use a list for several recipients';
  if (WHITESPACE_OR_CONTROL.test(address)) return 'addresses must not contain spaces or control characters';
  if (/[<>]/.test(address)) return 'unexpected "<" or ">"';
  const at = address.lastIndexOf('@');
  if (at < 0) return 'missing "@"';
  const local = address.slice(0, at);
  const domain = address.slice(at + 1);
  if (local === '') return 'nothing before "@"';
  if (domain === '') return 'nothing after "@"';
  if (utf8Length(address) > MAX_ADDRESS_OCTETS) return `longer than ${MAX_ADDRESS_OCTETS} bytes`;
  if (utf8Length(local) > MAX_LOCAL_PART_OCTETS) return `local part longer than ${MAX_LOCAL_PART_OCTETS} bytes`;
  if (local.includes('@')) return 'more than one "@"';
  if (!LOCAL_PART_PATTERN.test(local)) return 'invalid local part (quoted local parts, leading, trailing or double dots and special characters are not accepted)';
  if (domain.startsWith('[')) return 'address literals like [192.0.2.1] are not accepted';
  const labels = domain.split('.');
  if (labels.length === 1 && domain.toLowerCase() !== 'localhost') return `domain ${quoteValue(domain)} has no dot`;
  for (const label of labels) {
    if (label === '') return `domain ${quoteValue(domain)} has an empty label`;
    if (utf8Length(label) > 63) return 'domain label longer than 63 bytes';
    if (!LABEL_PATTERN.test(label)) return `invalid domain ${quoteValue(domain)}`;
  }
  if (/^\d+$/.test(labels[labels.length - 1])) return `invalid domain ${quoteValue(domain)} (numeric top-level label)`;
  return null;
}

/** Parse `a@b.c` or `Name <a@b.c>` / `"Last, First" <a@b.c>`. */
export function parseMailbox(value: unknown, field: string): Mailbox {
  if (typeof value !== 'string') throw new ValidationError(field, `expected an email address string, got ${quoteValue(value)}`);
  if (CRLF.test(value)) throw new ValidationError(field, 'must not contain CR or LF (header injection)');
  const text = value.trim();
  if (text === '') throw new ValidationError(field, 'empty address');

  let name: string | undefined;
  let address = text;
  if (text.includes('<') || text.includes('>')) {
    const match = /^([^<>]*)<([^<>]*)>$/.exec(text);
    if (!match) throw new ValidationError(field, `${quoteValue(value)} is not a valid mailbox; write "a@example.com" or "Name <a@example.com>"`);
    address = match[2].trim();
    const rawName = match[1].trim();
    if (rawName.startsWith('"')) {
      const quoted = /^"((?:[^"\\]|\\.)*)"$/.exec(rawName);
      if (!quoted) throw new ValidationError(field, `display name ${quoteValue(rawName)} has unbalanced quotes`);
      name = quoted[1].replace(/\\(.)/g, '$1');
    } else {
      if (/[",;]/.test(rawName)) {
        throw new ValidationError(field, `display name ${quoteValue(rawName)} contains "," ";" or '"'; put it in double quotes`);
      }
      name = rawName;
    }
    if (CONTROL_EXCEPT_TAB.test(name)) throw new ValidationError(field, 'display name must not contain control characters');
    if (name.length > MAX_DISPLAY_NAME_LENGTH) throw new ValidationError(field, `display name longer than ${MAX_DISPLAY_NAME_LENGTH} characters`);
    name = name.trim();
    if (name === '') name = undefined;
  }

  const problem = addressProblem(address);
  if (problem) throw new ValidationError(field, `${quoteValue(address)} is not a valid email address (${problem})`);
  return name === undefined ? { address } : { name, address };
}
