// The returned message (README "Late outcomes", correlation): a report quotes the message it is
// about — as a message/rfc822 part, a text/rfc822-headers part, or for plain-text bounces as
// lines after "----- Original message -----" — and its Message-ID and X-Rebound-Ref name it.
// Pure.
import { REBOUND_REF_HEADER } from './contract';
import { Field, fieldValue, headerBlockOf } from './parse-fields';
import type { ReceivedMail } from './parse-mime';

export const RETURNED_MESSAGE_TYPES: ReadonlySet<string> = new Set([
  'message/rfc822',
  'message/global',
  'text/rfc822-headers',
  'message/rfc822-headers',
  'message/global-headers',
]);

/** The token Rebound puts in X-Rebound-Ref (src/bounces/verp.ts): 36 hex digits. */
const REF_TOKEN = /^[0-9a-f]{36}$/i;
const MESSAGE_ID = /<([^<>\s]{1,250}@[^<>\s]{1,250})>|([^<>\s@]{1,250}@[^<>\s]{1,250})/;
const REF_NAME = REBOUND_REF_HEADER.toLowerCase();

/** The returned message's header fields, from its own part; null when none is attached. */
export function returnedHeaders(mail: ReceivedMail): Field[] | null {
  const part = mail.parts.find((p) => RETURNED_MESSAGE_TYPES.has(p.mimeType));
  return part ? headerBlockOf(part.text) : null;
}

/** "<id@host>" as in the header, or null when the value is no message id. */
export function messageIdOf(value: string | null): string | null {
  if (!value) return null;
  const m = MESSAGE_ID.exec(value);
  if (!m) return null;
  return `<${m[1] ?? m[2]}>`;
}

export function reboundRefOf(value: string | null): string | null {
  const v = (value ?? '').trim().toLowerCase();
  return REF_TOKEN.test(v) ? v : null;
}

/** A header quoted in text ("   Message-ID: <id@host>", Exchange indents them, some quote with ">"). */
function quotedHeader(text: string, name: string): string | null {
  const re = new RegExp(`^[ \\t>]*${name.replace(/-/g, '[-]')}[ \\t]*:[ \\t]*(\\S[^\\r\\n]{0,500})`, 'im');
  const m = re.exec(text);
  return m ? m[1].trim() : null;
}

export interface ReturnedIds {
  originalMessageId: string | null;
  reboundRef: string | null;
  /** The returned message's To header, for complaints that leave out Original-Rcpt-To. */
  to: string | null;
}

/**
 * The ids of the returned message: from its attached part, else from headers quoted in the
 * text after the explanation (`quoted`: the text after the human part).
 */
export function returnedIds(mail: ReceivedMail, quoted: string): ReturnedIds {
  const headers = returnedHeaders(mail);
  if (headers) {
    const ids = {
      originalMessageId: messageIdOf(fieldValue(headers, 'message-id')),
      reboundRef: reboundRefOf(fieldValue(headers, REF_NAME)),
      to: fieldValue(headers, 'to'),
    };
    if (ids.originalMessageId || ids.reboundRef) return ids;
  }
  return {
    originalMessageId: messageIdOf(quotedHeader(quoted, 'Message-ID')),
    reboundRef: reboundRefOf(quotedHeader(quoted, REBOUND_REF_HEADER)),
    to: headers ? fieldValue(headers, 'to') : quotedHeader(quoted, 'To'),
  };
}
