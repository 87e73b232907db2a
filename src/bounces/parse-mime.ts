// Reading one received mail with postal-mime (README "Late outcomes", parsing): its top-level
// headers, its human-readable text, and the parts a report carries as evidence (the
// delivery-status or feedback-report fields, the returned message or its headers), each as text.
import PostalMime from 'postal-mime';
import type { Field } from './parse-fields';

/** What the bounce logic reads from a mail. */
export interface ReceivedMail {
  headers: Field[];
  subject: string;
  /** The sender's address, lower-cased, or "" when there is none. */
  from: string;
  /** The human-readable text: text/plain parts, else the HTML with its tags dropped. */
  text: string;
  /** Every non-text part (report fields, returned messages, headers), decoded as text. */
  parts: MailPart[];
}

export interface MailPart {
  /** Lower-cased MIME type, e.g. "message/delivery-status". */
  mimeType: string;
  text: string;
}

/** Beyond this the rest of a mail is not read: the report parts come first in every layout. */
export const MAX_RAW_BYTES = 10 * 1024 * 1024;
/** Text kept of one part: enough for the fields or headers of any real report. */
const MAX_PART_CHARS = 256 * 1024;
const MAX_PARTS = 50;

export type MailReading = { ok: true; mail: ReceivedMail } | { ok: false; reason: string };

/** Parses a raw mail; a failure is a reason, never an exception. */
export async function readMail(raw: Buffer | string): Promise<MailReading> {
  const bytes = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw;
  if (bytes.length === 0) return { ok: false, reason: 'empty message' };
  const bounded = bytes.length > MAX_RAW_BYTES ? bytes.subarray(0, MAX_RAW_BYTES) : bytes;
  let email: PostalMime.Email;
  try {
    // Every message/rfc822 part kept whole, so the returned message's own headers stay readable.
    email = await PostalMime.parse(bounded, { forceRfc822Attachments: true, attachmentEncoding: 'arraybuffer' });
  } catch (err) {
    return { ok: false, reason: `unreadable MIME: ${err instanceof Error ? err.message : String(err)}`.slice(0, 200) };
  }
  const headers = email.headers.map((h) => ({ name: h.key, value: h.value.trim() }));
  if (headers.length === 0) return { ok: false, reason: 'no headers: not a mail' };
  return {
    ok: true,
    mail: {
      headers,
      subject: email.subject ?? '',
      from: fromAddress(email),
      text: email.text ?? htmlToText(email.html ?? ''),
      parts: email.attachments.slice(0, MAX_PARTS).map((a) => ({ mimeType: a.mimeType.toLowerCase(), text: partText(a.content) })),
    },
  };
}

function fromAddress(email: PostalMime.Email): string {
  const from = email.from;
  const address = from && 'address' in from && typeof from.address === 'string' ? from.address : '';
  return address.trim().toLowerCase();
}

function partText(content: ArrayBuffer | Uint8Array | string): string {
  if (typeof content === 'string') return content.slice(0, MAX_PART_CHARS);
  const view = content instanceof Uint8Array ? content : new Uint8Array(content);
  return new TextDecoder('utf-8').decode(view.subarray(0, MAX_PART_CHARS));
}

/** HTML-only bounces (some Exchange and GroupWise ones): the text without tags is enough. */
export function htmlToText(html: string): string {
  return html
    .slice(0, MAX_PART_CHARS)
    .replace(/<(?:br|p|div|tr|li)\b[^>]*>/gi, '\n')
    .replace(/<[^>]{0,2000}>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&nbsp;/g, ' ')
    .replace(/&amp;/g, '&');
}
