// The bounce simulator: a real SMTP server (smtp-server) whose answer depends on the local part
// of each recipient, so every delivery outcome of spec section 2 can be produced on demand, by
// hand (swaks, a mail client) or from tests.
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
// - Nothing depends on wall-clock time: greylisting lets the second attempt through whenever it
//   comes, so a time-skipping Temporal test server works.

import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { SMTPServer } from 'smtp-server';
import type { SMTPServerAddress, SMTPServerDataStream, SMTPServerSession } from 'smtp-server';

export interface SinkOptions {
  /** Interface to bind, default 127.0.0.1. */
  host?: string;
  /** SMTP port, default 2525; 0 = random. */
  port?: number;
  /** HTTP control port; default null = off; 0 = random. */
  controlPort?: number | null;
  /** Structured log sink; default: one JSON line per transaction to stdout. */
  log?: (entry: object) => void;
  /** Greylisting hint when the local part gives none (`greylist` vs `greylist-30`): default 60. */
  greylistHintSeconds?: number;
}

export interface ReceivedMessage {
  /** The Message-ID header as sent (with its angle brackets), null when the message had none. */
  messageId: string | null;
  /** Envelope sender ('' for the null sender). */
  from: string;
  /** The recipients accepted in this transaction, as the client wrote them. */
  recipients: string[];
  /** Bytes of the message as received. */
  size: number;
  receivedAt: string;
  transaction: number;
}

export interface SinkTransactionLog {
  /** Sink-wide transaction number (monotonic for the life of the sink, not reset by reset()). */
  transaction: number;
  at: string;
  from: string | null;
  rcpt: { address: string; scenario: string; reply: string }[];
  /** The reply to the end of DATA, when the transaction got that far. */
  data?: string;
  outcome: 'accepted' | 'rejected' | 'dropped' | 'partial';
  /** smtp-server connection id. */
  connection: string;
  /** Recipients stored as received (empty unless the DATA was accepted). */
  accepted: string[];
  messageId?: string | null;
  size?: number;
  /** How a transaction ended without a DATA reply: 'rset', 'closed', 'new-mail', 'drop-scenario'. */
  ended?: string;
}

export interface BounceSink {
  host: string;
  port: number;
  controlPort: number | null;
  /** smtp://host:port */
  url: string;
  received(): ReceivedMessage[];
  transactions(): SinkTransactionLog[];
  /**
   * How many times (messageId, recipient) was accepted. Without a recipient: how many accepted
   * transactions carried that Message-ID. The id matches with or without angle brackets, the
   * recipient case-insensitively.
   */
  deliveries(messageId: string, recipient?: string): number;
  /** Every (messageId, recipient) accepted more than once. */
  duplicates(): { messageId: string; recipient: string; count: number }[];
  /**
   * Forget received messages, transactions, attempt counters (greylist/soft-K state). A transaction
   * still open on a live connection is logged when it ends, so it can appear after a reset.
   */
  reset(): void;
  close(): Promise<void>;
}

export type ScenarioKind =
  | 'accept'
  | 'greylist'
  | 'full'
  | 'soft'
  | 'ratelimit'
  | 'unknown'
  | 'toolarge'
  | 'blocked'
  | 'drop'
  | 'slow';

export interface Scenario {
  kind: ScenarioKind;
  /** Display name, e.g. 'accept', 'greylist-30', 'soft-2'. */
  name: string;
  /** Lower-cased local part without the '+tag'. */
  base: string;
  /** The '+tag', lower-cased, or null. */
  tag: string | null;
  /** State key: the whole address, trimmed and lower-cased. */
  key: string;
  /** greylist: hint in seconds from `greylist-N`; null = use the sink's default. */
  hintSeconds?: number | null;
  /** soft, full-K: how many attempts fail before the address accepts (full: absent = always). */
  failures?: number;
  /** slow-MS: how long the RCPT reply is held back, in milliseconds. */
  delayMs?: number;
}

/** Largest message the sink reads (and advertises with SIZE). */
export const MAX_MESSAGE_BYTES = 30 * 1024 * 1024;
export const DEFAULT_GREYLIST_HINT_SECONDS = 60;

/** Which scenario a recipient address selects. Pure: no state, no I/O. */
export function scenarioFor(address: string): Scenario {
  const key = address.trim().toLowerCase();
  const at = key.lastIndexOf('@');
  const local = at < 0 ? key : key.slice(0, at);
  const plus = local.indexOf('+');
  const base = plus < 0 ? local : local.slice(0, plus);
  const tag = plus < 0 ? null : local.slice(plus + 1);
  const make = (kind: ScenarioKind, name: string = kind, extra: Partial<Scenario> = {}): Scenario => ({
    kind,
    name,
    base,
    tag,
    key,
    ...extra,
  });

  let m: RegExpMatchArray | null;
  if ((m = base.match(/^greylist(?:-(\d{1,6}))?$/))) {
    const hint = m[1] === undefined ? null : Number(m[1]);
    return make('greylist', hint === null ? 'greylist' : `greylist-${hint}`, { hintSeconds: hint });
  }
  if (base === 'full' || base === 'mailbox-full') return make('full');
  if ((m = base.match(/^full-(\d{1,6})$/)) && Number(m[1]) >= 1) {
    const k = Number(m[1]);
    return make('full', `full-${k}`, { failures: k });
  }
  if ((m = base.match(/^soft-?(\d{1,6})$/)) && Number(m[1]) >= 1) {
    const k = Number(m[1]);
    return make('soft', `soft-${k}`, { failures: k });
  }
  if (base === 'ratelimit' || base === 'rate-limit') return make('ratelimit');
  if (base === 'ratelimit-ip') return make('ratelimit', 'ratelimit-ip');
  if (base === 'unknown' || base === 'nouser') return make('unknown');
  if (base === 'toolarge' || base === 'too-large') return make('toolarge');
  if (base === 'blocked' || base === 'policy') return make('blocked');
  if (base === 'drop') return make('drop');
  // slow-MS: accepted, but only after MS ms, so that a fault (a killed worker, a database that
  // goes away) can be made to land inside an SMTP transaction (test/faults/).
  if ((m = base.match(/^slow-(\d{1,6})$/))) return make('slow', `slow-${Number(m[1])}`, { delayMs: Number(m[1]) });
  return make('accept');
}

/** One RCPT answer: the reply code and the text that follows it (enhanced code included). */
interface RcptDecision {
  code: number;
  text: string;
  drop?: boolean;
  /** Hold the reply back this long (slow-MS). */
  delayMs?: number;
}

const RCPT_OK = '2.1.5 Recipient OK';
const MAIL_OK = '2.1.0 Sender OK';
const TOO_LARGE = { code: 552, text: '5.3.4 Message size exceeds fixed limit' };

/** What `scenario` answers on its `attempt`-th RCPT (1-based) for its address. */
function decideRcpt(scenario: Scenario, address: string, attempt: number, defaultHint: number): RcptDecision {
  const a = `<${address}>`;
  switch (scenario.kind) {
    case 'greylist': {
      if (attempt > 1) return { code: 250, text: RCPT_OK };
      const hint = scenario.hintSeconds ?? defaultHint;
      return { code: 450, text: `4.2.0 ${a}: Recipient address rejected: Greylisted, try again in ${hint} seconds` };
    }
    case 'full':
      if (scenario.failures !== undefined && attempt > scenario.failures) return { code: 250, text: RCPT_OK };
      return { code: 452, text: `4.2.2 ${a}: mailbox full, over quota` };
    case 'soft':
      if (attempt <= (scenario.failures ?? 1)) {
        return { code: 451, text: '4.3.0 Temporary local problem, please try again later' };
      }
      return { code: 250, text: RCPT_OK };
    case 'ratelimit':
      // ratelimit-ip: Gmail's answer when the sending IP, not the recipient, is over its rate.
      if (scenario.name === 'ratelimit-ip') {
        return { code: 421, text: '4.7.28 [127.0.0.1] Our system has detected an unusual rate of unsolicited mail originating from your IP address. To protect our users from spam, mail sent from your IP address has been temporarily rate limited.' };
      }
      return { code: 421, text: '4.7.0 Too many messages, slow down' };
    case 'unknown':
      return { code: 550, text: `5.1.1 ${a}: Recipient address rejected: User unknown` };
    case 'blocked':
      return { code: 554, text: `5.7.1 ${a}: Relay access denied: message rejected due to policy` };
    case 'drop':
      return { code: 0, text: '(connection dropped)', drop: true };
    case 'slow':
      return { code: 250, text: RCPT_OK, delayMs: scenario.delayMs };
    case 'toolarge':
    case 'accept':
      return { code: 250, text: RCPT_OK };
  }
}

class SmtpReply extends Error {
  constructor(
    readonly responseCode: number,
    text: string,
  ) {
    super(text);
  }
}

type Connection = SMTPServer['connections'] extends Set<infer C> ? C : never;

interface OpenTransaction {
  transaction: number;
  at: string;
  from: string | null;
  connection: string;
  rcpt: { address: string; scenario: string; reply: string; accepted: boolean; kind: ScenarioKind }[];
}

/**
 * smtp-server with two hooks on every connection: the success replies to MAIL/RCPT carry the
 * sink's texts ("250 2.1.5 Recipient OK" instead of "250 Accepted"), and RSET ends the sink's
 * record of the transaction. Both use smtp-server's public (typed) connection API.
 */
class SinkSmtpServer extends SMTPServer {
  readonly live = new Map<string, Connection>();
  onReset: (connectionId: string) => void = () => undefined;

  override connect(socket: Socket, socketOptions?: Parameters<SMTPServer['connect']>[1]): void {
    super.connect(socket, socketOptions);
    let conn: Connection | undefined;
    for (const c of this.connections) if (c._socket === socket) conn = c;
    if (!conn) return;
    const c = conn;
    this.live.set(c.id, c);
    c.once('close', () => this.live.delete(c.id));
    socket.once('close', () => this.live.delete(c.id));
    const send = c.send.bind(c);
    c.send = (code, data, context) => {
      if (code === 250 && context === 'RCPT_TO_OK') return send(250, RCPT_OK, false);
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

/** Reads the Message-ID header from the raw message (header block only, folded lines joined). */
export function extractMessageId(raw: Buffer): string | null {
  let end = raw.indexOf('\r\n\r\n');
  if (end < 0) end = raw.indexOf('\n\n');
  const head = raw.subarray(0, end < 0 ? raw.length : end).toString('latin1');
  const unfolded = head.replace(/\r?\n[ \t]+/g, ' ');
  for (const line of unfolded.split(/\r?\n/)) {
    const m = line.match(/^message-id[ \t]*:(.*)$/i);
    if (m) {
      const value = m[1]!.trim();
      return value === '' ? null : value;
    }
  }
  return null;
}

const bare = (id: string): string => id.trim().replace(/^<(.*)>$/, '$1');
const defaultLog = (entry: object): void => {
  process.stdout.write(JSON.stringify(entry) + '\n');
};

export async function startSink(opts: SinkOptions = {}): Promise<BounceSink> {
  const host = opts.host ?? '127.0.0.1';
  const log = opts.log ?? defaultLog;
  const defaultHint = opts.greylistHintSeconds ?? DEFAULT_GREYLIST_HINT_SECONDS;

  let received: ReceivedMessage[] = [];
  let transactions: SinkTransactionLog[] = [];
  /** RCPT attempts per whole lower-cased address. */
  let attempts = new Map<string, number>();
  /** bare Message-ID -> lower-cased recipient -> times accepted. */
  let deliveryCounts = new Map<string, Map<string, number>>();
  const open = new Map<string, OpenTransaction>();
  let txCounter = 0;

  const finish = (
    tx: OpenTransaction,
    outcome: SinkTransactionLog['outcome'],
    extra: Partial<SinkTransactionLog> = {},
  ): void => {
    if (open.get(tx.connection) === tx) open.delete(tx.connection);
    const entry: SinkTransactionLog = {
      transaction: tx.transaction,
      at: tx.at,
      from: tx.from,
      rcpt: tx.rcpt.map(({ address, scenario, reply }) => ({ address, scenario, reply })),
      outcome,
      connection: tx.connection,
      accepted: [],
      ...extra,
    };
    transactions.push(entry);
    try {
      log({ msg: 'sink transaction', ...entry });
    } catch {
      // a failing log sink must not break the SMTP session
    }
  };

  /** A transaction that ended without a DATA reply (RSET, a new MAIL, the connection closing). */
  const abandon = (connectionId: string, ended: string): void => {
    const tx = open.get(connectionId);
    if (!tx) return;
    const anyAccepted = tx.rcpt.some((r) => r.accepted);
    finish(tx, anyAccepted ? 'dropped' : 'rejected', { ended });
  };

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
      abandon(session.id, 'new-mail');
      open.set(session.id, {
        transaction: ++txCounter,
        at: new Date().toISOString(),
        from: address.address ?? '',
        connection: session.id,
        rcpt: [],
      });
      callback();
    },
    onRcptTo(address: SMTPServerAddress, session: SMTPServerSession, callback) {
      const scenario = scenarioFor(address.address);
      const attempt = (attempts.get(scenario.key) ?? 0) + 1;
      attempts.set(scenario.key, attempt);
      const decision = decideRcpt(scenario, address.address, attempt, defaultHint);
      const tx = open.get(session.id);
      const reply = decision.drop ? decision.text : `${decision.code} ${decision.text}`;
      tx?.rcpt.push({
        address: address.address,
        scenario: scenario.name,
        reply,
        accepted: decision.code === 250,
        kind: scenario.kind,
      });
      if (decision.drop) {
        if (tx) finish(tx, 'dropped', { ended: 'drop-scenario' });
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
        const raw = Buffer.concat(chunks);
        const messageId = extractMessageId(raw);
        const tx = open.get(session.id);
        const rcptTo = session.envelope.rcptTo.map((r) => r.address);
        const tooLarge =
          stream.sizeExceeded || total > MAX_MESSAGE_BYTES || rcptTo.some((a) => scenarioFor(a).kind === 'toolarge');
        if (tooLarge) {
          if (tx) finish(tx, 'rejected', { data: `${TOO_LARGE.code} ${TOO_LARGE.text}`, messageId, size: total });
          return callback(new SmtpReply(TOO_LARGE.code, TOO_LARGE.text));
        }
        const queueId = randomBytes(6).toString('hex').toUpperCase();
        const dataReply = `2.0.0 Ok: queued as ${queueId}`;
        const mailFrom = session.envelope.mailFrom;
        const message: ReceivedMessage = {
          messageId,
          from: mailFrom ? mailFrom.address : '',
          recipients: rcptTo,
          size: total,
          receivedAt: new Date().toISOString(),
          transaction: tx?.transaction ?? ++txCounter,
        };
        received.push(message);
        if (messageId !== null) {
          const key = bare(messageId);
          let perRcpt = deliveryCounts.get(key);
          if (!perRcpt) deliveryCounts.set(key, (perRcpt = new Map()));
          for (const r of rcptTo) perRcpt.set(r.toLowerCase(), (perRcpt.get(r.toLowerCase()) ?? 0) + 1);
        }
        if (tx) {
          const rejectedSome = tx.rcpt.some((r) => !r.accepted);
          finish(tx, rejectedSome ? 'partial' : 'accepted', {
            data: `250 ${dataReply}`,
            accepted: rcptTo,
            messageId,
            size: total,
          });
        }
        callback(null, dataReply);
      });
    },
    onClose(session: SMTPServerSession) {
      abandon(session.id, 'closed');
    },
  });
  server.onReset = (id) => abandon(id, 'rset');
  server.on('error', (err: Error) => {
    try {
      log({ msg: 'sink smtp error', error: err.message, code: (err as NodeJS.ErrnoException).code ?? null });
    } catch {
      // ignore
    }
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.server.once('error', onError);
    server.listen(opts.port ?? 2525, host, () => {
      server.server.off('error', onError);
      resolve();
    });
  });
  const port = (server.server.address() as AddressInfo).port;

  const sink: BounceSink = {
    host,
    port,
    controlPort: null,
    url: `smtp://${host.includes(':') ? `[${host}]` : host}:${port}`,
    received: () => received.map((m) => ({ ...m, recipients: [...m.recipients] })),
    transactions: () => transactions.map((t) => ({ ...t, rcpt: t.rcpt.map((r) => ({ ...r })), accepted: [...t.accepted] })),
    deliveries(messageId: string, recipient?: string): number {
      const key = bare(messageId);
      if (recipient === undefined) {
        return received.filter((m) => m.messageId !== null && bare(m.messageId) === key).length;
      }
      return deliveryCounts.get(key)?.get(recipient.trim().toLowerCase()) ?? 0;
    },
    duplicates() {
      const out: { messageId: string; recipient: string; count: number }[] = [];
      for (const m of received) {
        if (m.messageId === null) continue;
        const perRcpt = deliveryCounts.get(bare(m.messageId));
        for (const r of m.recipients) {
          const count = perRcpt?.get(r.toLowerCase()) ?? 0;
          if (count > 1 && !out.some((d) => bare(d.messageId) === bare(m.messageId!) && d.recipient === r.toLowerCase())) {
            out.push({ messageId: m.messageId, recipient: r.toLowerCase(), count });
          }
        }
      }
      return out;
    },
    reset() {
      received = [];
      transactions = [];
      attempts = new Map();
      deliveryCounts = new Map();
    },
    close: async () => {
      await Promise.all([closeSmtp(server), control ? closeHttp(control) : Promise.resolve()]);
    },
  };

  let control: http.Server | null = null;
  if (opts.controlPort !== undefined && opts.controlPort !== null) {
    try {
      control = await startControl(sink, host, opts.controlPort);
    } catch (err) {
      await closeSmtp(server);
      throw err;
    }
    sink.controlPort = (control.address() as AddressInfo).port;
  }
  return sink;
}

function closeSmtp(server: SinkSmtpServer): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    // do not wait for pooled clients to say QUIT: the sink is a test double
    for (const c of server.connections) c._socket.destroy();
    for (const c of server.live.values()) c._socket.destroy();
  });
}

function closeHttp(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** GET /received, GET /duplicates, GET /transactions, GET /deliveries?messageId=&recipient=, POST /reset. */
function startControl(sink: BounceSink, host: string, port: number): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://sink.invalid');
    const json = (status: number, body: unknown): void => {
      const text = JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    };
    req.resume();
    const route = `${req.method} ${url.pathname.replace(/\/+$/, '') || '/'}`;
    switch (route) {
      case 'GET /received':
        return json(200, sink.received());
      case 'GET /duplicates':
        return json(200, sink.duplicates());
      case 'GET /transactions':
        return json(200, sink.transactions());
      case 'GET /deliveries': {
        const messageId = url.searchParams.get('messageId');
        if (!messageId) return json(400, { error: 'messageId query parameter is required' });
        const recipient = url.searchParams.get('recipient') ?? undefined;
        return json(200, { messageId, recipient: recipient ?? null, count: sink.deliveries(messageId, recipient) });
      }
      case 'POST /reset':
        sink.reset();
        return json(200, { ok: true });
      case 'GET /':
      case 'GET /health':
        return json(200, { ok: true, smtp: sink.url });
      default:
        return json(404, { error: `no route ${route}` });
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
