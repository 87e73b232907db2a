// The bounce simulator's SMTP side: smtp-server wired to the ledger (src/sink/ledger.ts), which
// decides every reply from the scenario table. This file only speaks SMTP: it passes MAIL, RCPT,
// the message body, RSET and closed connections to the ledger and writes the answers back,
// holding a reply back (slow-MS) or destroying the socket (drop) when the ledger says so.
// README section "The bounce simulator".
//
// Behaviour notes (checked against smtp-server 3.21 and nodemailer 10.6):
// - Enhanced status codes are written into the reply text by the sink itself; smtp-server's own
//   ENHANCEDSTATUSCODES feature stays off (its default), otherwise it would prefix a second,
//   code-derived enhanced code (e.g. "450 4.2.1 4.2.0 ...").
// - `ratelimit`: smtp-server closes the connection after any 421 reply (it ends the socket and
//   stops parsing), so the rest of a pipelined transaction gets no reply. That is what real
//   servers do with 421 ("closing transmission channel").
// - `toolarge`: the RCPT is accepted; the rejection comes after the message body (end of DATA)
//   and, SMTP having one DATA reply per transaction, it rejects the message for every recipient
//   of that transaction, including recipients whose own scenario would have accepted it.
// - `drop`: the socket is destroyed while the RCPT is being answered; the client sees the
//   connection close without a reply.

import type { Socket } from 'node:net';
import { SMTPServer } from 'smtp-server';
import type { SMTPServerAddress, SMTPServerDataStream, SMTPServerSession } from 'smtp-server';
import type { SinkLedger } from './ledger';
import { RCPT_OK, replyText } from './scenarios';
import { SmtpReply, type SmtpConnection } from '../smtp/server-reply';

/** Largest message the sink reads (and advertises with SIZE). */
export const MAX_MESSAGE_BYTES = 30 * 1024 * 1024;

const MAIL_OK = '2.1.0 Sender OK';


/**
 * smtp-server with two hooks on every connection: the success replies to MAIL/RCPT carry the
 * sink's texts ("250 2.1.5 Recipient OK" instead of "250 Accepted"), and RSET ends the sink's
 * record of the transaction. Both use smtp-server's public (typed) connection API.
 */
export class SinkSmtpServer extends SMTPServer {
  readonly live = new Map<string, SmtpConnection>();
  onReset: (connectionId: string) => void = () => undefined;

  override connect(socket: Socket, socketOptions?: Parameters<SMTPServer['connect']>[1]): void {
    super.connect(socket, socketOptions);
    let conn: SmtpConnection | undefined;
    for (const c of this.connections) if (c._socket === socket) conn = c;
    if (!conn) return;
    const c = conn;
    this.live.set(c.id, c);
    c.once('close', () => this.live.delete(c.id));
    socket.once('close', () => this.live.delete(c.id));
    const send = c.send.bind(c);
    const rcptOk = replyText(RCPT_OK);
    c.send = (code, data, context) => {
      if (code === 250 && context === 'RCPT_TO_OK') return send(250, rcptOk, false);
      if (code === 250 && context === 'MAIL_FROM_OK') return send(250, MAIL_OK, false);
      return send(code, data, context);
    };
    const rset = c.handler_RSET.bind(c);
    c.handler_RSET = (command, callback) => {
      this.onReset(c.id);
      rset(command, callback);
    };
  }
}

/** An SMTP server (not yet listening) that reports to `ledger` and answers as it decides. */
export function createSmtpServer(ledger: SinkLedger): SinkSmtpServer {
  const server = new SinkSmtpServer({
    name: 'rebound-sink',
    banner: 'Rebound bounce simulator',
    logger: false,
    authOptional: true,
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    size: MAX_MESSAGE_BYTES,
    // answer at once, without a reverse DNS lookup of 127.0.0.1
    disableReverseLookup: true,
    onAuth(auth, _session, callback) {
      callback(null, { user: auth.username || 'anonymous' });
    },
    onMailFrom(address: SMTPServerAddress, session: SMTPServerSession, callback) {
      ledger.mailFrom(session.id, address.address ?? '');
      callback();
    },
    onRcptTo(address: SMTPServerAddress, session: SMTPServerSession, callback) {
      const decision = ledger.rcptTo(session.id, address.address);
      if (decision.drop) {
        server.live.get(session.id)?._socket.destroy();
        // nothing is written to a destroyed socket; the callback only lets the parser finish
        return callback(new SmtpReply(421, '4.4.2 connection dropped'));
      }
      // A reply held back past the connection's end is not written (smtp-server checks the socket).
      if (decision.code === 250) return decision.delayMs ? void setTimeout(() => callback(), decision.delayMs) : callback();
      callback(new SmtpReply(decision.code, decision.text));
    },
    onData(stream: SMTPServerDataStream, session: SMTPServerSession, callback) {
      const chunks: Buffer[] = [];
      let stored = 0;
      let total = 0;
      stream.on('data', (chunk: Buffer) => {
        total += chunk.length;
        if (stored + chunk.length <= MAX_MESSAGE_BYTES) {
          chunks.push(chunk);
          stored += chunk.length;
        }
      });
      stream.on('end', () => {
        const mailFrom = session.envelope.mailFrom;
        const answer = ledger.dataEnd(session.id, {
          raw: Buffer.concat(chunks),
          size: total,
          oversize: stream.sizeExceeded || total > MAX_MESSAGE_BYTES,
          from: mailFrom ? mailFrom.address : '',
          recipients: session.envelope.rcptTo.map((r) => r.address),
        });
        if (answer.code === 250) callback(null, answer.text);
        else callback(new SmtpReply(answer.code, answer.text));
      });
    },
    onClose(session: SMTPServerSession) {
      ledger.end(session.id, 'closed');
    },
  });
  server.onReset = (id) => ledger.end(id, 'rset');
  return server;
}

/** Starts listening; rejects when the port cannot be bound. */
export function listenSmtp(server: SinkSmtpServer, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.server.once('error', onError);
    server.listen(port, host, () => {
      server.server.off('error', onError);
      resolve();
    });
  });
}

export function closeSmtp(server: SinkSmtpServer): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    // do not wait for pooled clients to say QUIT: the sink is a test double
    for (const c of server.connections) c._socket.destroy();
    for (const c of server.live.values()) c._socket.destroy();
  });
}
