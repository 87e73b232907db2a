// What Rebound's own SMTP servers (the inbound listener, the bounce simulator) share on top of
// smtp-server: an error that answers with a chosen code, and the type of a connection.
import type { SMTPServer } from 'smtp-server';

/** Passed to an smtp-server callback: the client is answered `responseCode` and the text. */
export class SmtpReply extends Error {
  constructor(
    readonly responseCode: number,
    text: string,
  ) {
    super(text);
  }
}

/** One client connection of an smtp-server (its class is not exported by the package). */
export type SmtpConnection = SMTPServer['connections'] extends Set<infer C> ? C : never;
