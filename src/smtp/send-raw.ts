// Sends stored MIME bytes to some recipients in one SMTP transaction and turns whatever the
// server or the network said into one raw reply per recipient. SMTP answers are results, not
// exceptions: the caller classifies them.
import type { RawReply } from '../delivery/contract';
import { parseReplyLine } from '../delivery/classify';
import { TransactionAbandoned, type DataGate, type SmtpPool } from './pool';

export interface RawSend {
  from: string;
  recipients: string[];
  raw: Buffer;
  /** Asked after the server's 354, before the body; a refusal abandons the transaction (thrown). */
  beforeData?: DataGate;
  /**
   * Told the replies of one transaction while others of the same send are still to come (direct
   * delivery, one transaction per recipient domain), so that what a server already took is on
   * record before the next transaction can be abandoned (README "Reliability").
   */
  afterTransaction?: (replies: RecipientRawReply[]) => Promise<void>;
}

export interface RecipientRawReply {
  address: string;
  reply: RawReply;
  /** The site the reply came from or was held back for (README "Traffic shaping"), when the sender knows it. */
  site?: string;
}

interface SmtpError extends Error {
  code?: string;
  /** The socket error's own code (ECONNREFUSED, ...) when nodemailer wraps it as ESOCKET. */
  originalCode?: string;
  response?: string;
  responseCode?: number;
  recipient?: string;
  rejectedErrors?: SmtpError[];
}

/** A reply for one recipient from a nodemailer error: an SMTP answer when there is one. */
function replyOf(err: SmtpError): RawReply {
  if (err.response && err.responseCode) return parseReplyLine(err.response);
  // No SMTP answer: refused, reset, timed out, TLS failure. nodemailer wraps the socket error
  // (code ESOCKET/ECONNECTION); its message still names the cause (ECONNREFUSED, ...).
  const cause = err.originalCode ?? /\b(E[A-Z_]{3,})\b/.exec(err.message)?.[1];
  return { code: null, enhanced: null, text: err.message, errorCode: cause ?? err.code ?? 'ECONNECTION' };
}

/** What sendRaw needs of a connection pool: one transaction (the direct sender wraps it to see where it failed). */
export type SmtpTransaction = Pick<SmtpPool, 'send'>;

export async function sendRaw(transport: SmtpTransaction, send: RawSend): Promise<RecipientRawReply[]> {
  const byAddress = new Map<string, RawReply>();
  try {
    const info = await transport.send({ from: send.from, to: send.recipients }, send.raw, send.beforeData);
    const accepted = parseReplyLine(info.response ?? '250 OK');
    for (const address of info.accepted) byAddress.set(address.toLowerCase(), accepted);
    for (const err of (info.rejectedErrors ?? []) as SmtpError[]) {
      if (err.recipient) byAddress.set(err.recipient.toLowerCase(), replyOf(err));
    }
  } catch (e) {
    // Not an answer from the server: the caller refused to send the body.
    if (e instanceof TransactionAbandoned) throw e;
    const err = e as SmtpError;
    // Rejected per recipient (RCPT or, for LMTP-style servers, DATA): each gets its own answer.
    for (const r of err.rejectedErrors ?? []) {
      if (r.recipient) byAddress.set(r.recipient.toLowerCase(), replyOf(r));
    }
    // Whatever failed the whole transaction (DATA rejected, connection lost) answers the rest.
    // nodemailer drops the RCPT rejections when DATA fails too, so those recipients get the
    // DATA reply: for a 5.3.4 that is message_too_large, which never suppresses.
    const rest = replyOf(err);
    for (const address of send.recipients) if (!byAddress.has(address)) byAddress.set(address, rest);
  }
  return send.recipients.map((address) => ({
    address,
    // A recipient the server neither accepted nor rejected (should not happen) is retried.
    reply: byAddress.get(address) ?? { code: null, enhanced: null, text: 'no reply for this recipient', errorCode: 'ENOREPLY' },
  }));
}
