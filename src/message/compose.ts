// Composes a validated request to MIME once. The bytes are stored and every attempt sends
// them unchanged, so the Message-ID, the Date and the DKIM signature (README "DKIM") never
// change between attempts.
import { createHash } from 'node:crypto';
import MailComposer from 'nodemailer/lib/mail-composer';
import { dkimKeyFor, signMessage, type DkimKey } from './dkim';
import type { ValidatedSendRequest } from './validate';

export interface ComposedMessage {
  raw: Buffer;
  messageIdHeader: string;
  contentHash: string;
}

const DOT_ATOM = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;

/** `<id@domain>`; ids that are not a valid dot-atom are hashed so the header stays well formed. */
export function messageIdHeaderFor(messageId: string, domain: string): string {
  const left = DOT_ATOM.test(messageId) ? messageId : createHash('sha256').update(messageId).digest('hex').slice(0, 32);
  return `<${left}@${domain}>`;
}

/**
 * A digest of what the caller asked for (not of the MIME bytes, which carry a date and random
 * boundaries): a repeated request with the same id is recognised as the same message.
 */
export function contentHashOf(req: ValidatedSendRequest): string {
  const { id: _id, ...content } = req;
  return createHash('sha256').update(JSON.stringify(content)).digest('hex');
}

export interface ComposeOptions {
  messageIdDomain?: string;
  date?: Date;
  /** Signing keys per From domain; a message whose From domain has none is not signed. */
  dkim?: readonly DkimKey[];
}

export async function composeMessage(req: ValidatedSendRequest, messageId: string, opts: ComposeOptions = {}): Promise<ComposedMessage> {
  const domain = opts.messageIdDomain ?? (req.from.address.split('@')[1] || 'rebound.invalid');
  const messageIdHeader = messageIdHeaderFor(messageId, domain);
  const composer = new MailComposer({
    from: req.from,
    to: req.to,
    cc: req.cc,
    // Bcc recipients are in the envelope only; the composer leaves the header out.
    bcc: req.bcc,
    replyTo: req.replyTo,
    subject: req.subject,
    text: req.text,
    html: req.html,
    headers: req.headers,
    messageId: messageIdHeader,
    date: opts.date ?? new Date(),
  });
  const composed = await composer.compile().build();
  const key = dkimKeyFor(req.from.address, opts.dkim ?? []);
  const raw = key === null ? composed : await signMessage(composed, key);
  return { raw, messageIdHeader, contentHash: contentHashOf(req) };
}
