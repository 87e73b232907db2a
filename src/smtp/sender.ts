// What the send activity hands a message to: one SMTP attempt for some recipients, one raw reply
// each. Two kinds implement it: the relay (every message to REBOUND_SMTP_URL) and direct
// delivery (each recipient domain's MX hosts, README "Direct delivery"); the worker picks one
// from REBOUND_DELIVERY.
import { sendRaw, type RawSend, type RecipientRawReply } from './send-raw';
import type { SmtpTransport } from './transport';

export interface Sender {
  /** Replies for every recipient; throws only TransactionAbandoned (the data gate refused). */
  send(message: RawSend): Promise<RecipientRawReply[]>;
  /** Closes idle connections now and the others as their transactions end. */
  close(): void;
}

/** Every message through one relay, in one transaction. */
export function relaySender(transport: SmtpTransport): Sender {
  return {
    send: (message) => sendRaw(transport, message),
    close: () => transport.close(),
  };
}
