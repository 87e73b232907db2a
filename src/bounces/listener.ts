// `rebound inbound`'s SMTP side (README "Late outcomes"): the MX of the bounce domain. It takes
// DSNs and complaints for that domain only, and answers 250 only once the raw mail is a row of
// inbound_reports (src/bounces/inbox.ts); when PostgreSQL cannot take it the answer is 451, so
// the sending MTA keeps it and retries: nothing is lost. Everything a client can make it spend
// is bounded (README "Security", Bounded): message size, recipients, connections, messages a
// minute per client address, idle time and session length.
//
// Behaviour notes (checked against smtp-server 3.21):
// - Enhanced status codes are written into the reply texts here; smtp-server's own
//   ENHANCEDSTATUSCODES feature stays off (its default), or it would prefix a second one.
// - A MAIL FROM whose SIZE= is over the limit is refused by smtp-server itself, before any
//   handler runs; its reply is rewritten (and counted) where the connection sends it.
// - smtp-server's idle timeout (socketTimeout) is reset by every byte, so a client trickling
//   one byte a second is never idle: each session also has a deadline of its own
//   (sessionTimeoutMs) that nothing extends. Command lines are bounded by smtp-server
//   (maxCommandLength), message bodies by maxBytes, read and dropped past it.
// - No AUTH (nobody logs in to an MX) and no STARTTLS: no certificate is configured, and
//   smtp-server's built-in one has a published key. Reports travel in the clear, as most
//   bounces on the Internet do.
import { hostname } from 'node:os';
import type { Socket } from 'node:net';
import type { Pool } from 'pg';
import { SMTPServer } from 'smtp-server';
import type { SMTPServerAddress, SMTPServerDataStream, SMTPServerSession } from 'smtp-server';
import { configDefault, type ReboundConfig } from '../config';
import { isDatabaseUnavailable } from '../db/outage';
import { logger as defaultLogger, type Logger } from '../log';
import { storeRawReport } from './inbox';
import { ClientRateLimiter, clientKey } from './inbound-rate';
import { judgeRecipient, reportRecipient } from './inbound-recipient';
import { countInboundRefusal, countInboundReport } from './listener-metrics';
import { createRefusalCounter, type RefusalReason } from './refusals';
import { tokenOfAddress } from './verp';
import { SmtpReply, type SmtpConnection } from '../smtp/server-reply';

/** The timeouts default to REBOUND_INBOUND_IDLE_TIMEOUT_MS's and REBOUND_INBOUND_SESSION_TIMEOUT_MS's defaults when left out. */
export type InboundListenerConfig = Pick<ReboundConfig['inbound'], 'listen' | 'bounceDomain' | 'bounceSecret' | 'maxBytes' | 'maxConnections' | 'ratePerMinute'> &
  Partial<Pick<ReboundConfig['inbound'], 'idleTimeoutMs' | 'sessionTimeoutMs'>>;

export interface InboundLimits {
  /** Recipients one message may have (more: 452 4.5.3). */
  maxRecipients: number;
  /** How long close() lets open sessions finish before it ends them with 421. */
  closeTimeoutMs: number;
}

export const DEFAULT_INBOUND_LIMITS: InboundLimits = { maxRecipients: 100, closeTimeoutMs: 10_000 };
const DEFAULT_IDLE_TIMEOUT_MS = Number(configDefault('REBOUND_INBOUND_IDLE_TIMEOUT_MS'));
const DEFAULT_SESSION_TIMEOUT_MS = Number(configDefault('REBOUND_INBOUND_SESSION_TIMEOUT_MS'));

export interface InboundListenerOptions {
  pool: Pool;
  config: InboundListenerConfig;
  logger?: Logger;
  limits?: Partial<InboundLimits>;
}

export interface InboundListener {
  host: string;
  /** The port listened on (the one chosen when 0 was asked for). */
  port: number;
  /** Stops taking connections, lets open sessions finish (up to closeTimeoutMs), writes the pending refusal counts. Leaves the pool open. */
  close(): Promise<void>;
}


const TOO_MANY_CONNECTIONS = '4.7.0 too many connections, try again later';
const RATE_LIMITED = '4.7.1 too many messages from your address, try again later';
const STORE_FAILED = '4.3.0 the report could not be stored just now, try again later';
const SESSION_TOO_LONG = '4.4.2 session too long, closing; reconnect to go on';
/** How often a session past its deadline is looked at again while a handler (storing a report) has not answered. */
const DEADLINE_RECHECK_MS = 1_000;

/** What the session deadline needs of a connection beyond its type (smtp-server 3.21 internals). */
interface ClosableConnection {
  close(): void;
  _handlerPending?: boolean;
}

/**
 * smtp-server whose connections send a counted, coded reply when smtp-server itself refuses a
 * message for its declared SIZE, and end with 421 at their session deadline.
 */
class InboundSmtpServer extends SMTPServer {
  onDeclaredTooLarge: () => string = () => '5.3.4 message too big';
  onSessionTooLong: (conn: SmtpConnection) => void = () => undefined;
  sessionTimeoutMs = DEFAULT_SESSION_TIMEOUT_MS;

  override connect(socket: Socket, socketOptions?: Parameters<SMTPServer['connect']>[1]): void {
    super.connect(socket, socketOptions);
    let conn: SmtpConnection | undefined;
    for (const c of this.connections) if (c._socket === socket) conn = c;
    if (!conn) return;
    const send = conn.send.bind(conn);
    conn.send = (code, data, context) => (code === 552 && context === 'MESSAGE_TOO_BIG' ? send(552, this.onDeclaredTooLarge(), false) : send(code, data, context));
    this.armDeadline(conn, socket, this.sessionTimeoutMs);
  }

  /** Ends the session at its deadline, unless a handler is still deciding: its answer is awaited (the idle timeout does the same). */
  private armDeadline(conn: SmtpConnection, socket: Socket, afterMs: number): void {
    const timer = setTimeout(() => {
      if (socket.destroyed) return;
      if ((conn as unknown as ClosableConnection)._handlerPending) return this.armDeadline(conn, socket, DEADLINE_RECHECK_MS);
      this.onSessionTooLong(conn);
      conn.send(421, SESSION_TOO_LONG, false);
      (conn as unknown as ClosableConnection).close();
    }, afterMs);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
  }
}

function checkConfig(config: InboundListenerConfig): { domain: string | null; secret: string } {
  if (config.bounceDomain !== null && config.bounceSecret === null) {
    throw new Error(`REBOUND_BOUNCE_DOMAIN is ${config.bounceDomain} but REBOUND_BOUNCE_SECRET is off: return-path tokens cannot be checked. Set REBOUND_BOUNCE_SECRET (e.g. \`openssl rand -base64 32\`) to the key the senders use`);
  }
  const bounds = [['maxBytes', config.maxBytes], ['maxConnections', config.maxConnections], ['ratePerMinute', config.ratePerMinute], ['idleTimeoutMs', config.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS], ['sessionTimeoutMs', config.sessionTimeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS]] as const;
  for (const [name, value] of bounds) {
    if (!Number.isInteger(value) || value < 1) throw new Error(`inbound listener: ${name} must be a positive whole number, got ${value}`);
  }
  return { domain: config.bounceDomain, secret: config.bounceSecret ?? '' };
}

export async function startInboundListener(opts: InboundListenerOptions): Promise<InboundListener> {
  const { pool, config } = opts;
  const keys = checkConfig(config);
  const limits = { ...DEFAULT_INBOUND_LIMITS, ...opts.limits };
  const log = (opts.logger ?? defaultLogger).child({ component: 'inbound' });
  const refusals = createRefusalCounter(pool, log);
  const rates = new ClientRateLimiter({ limit: config.ratePerMinute });
  let storeDownSince: number | null = null;

  if (keys.domain === null) log.warn('REBOUND_BOUNCE_DOMAIN is off: the inbound listener refuses every recipient (550 5.7.1); set it to the domain whose MX points here');

  const refuse = (reason: RefusalReason, session: SMTPServerSession, detail: Record<string, unknown> = {}): void => {
    refusals.count(reason);
    countInboundRefusal(reason);
    log.info({ reason, client: session.remoteAddress, ...detail }, 'inbound SMTP refused');
  };

  async function store(raw: Buffer, session: SMTPServerSession): Promise<string> {
    const domain = keys.domain ?? '';
    const accepted = session.envelope.rcptTo.map((r) => ({ address: r.address, returnPath: tokenOfAddress(r.address, domain) !== null }));
    const mailFrom = session.envelope.mailFrom;
    try {
      const stored = await storeRawReport(pool, { source: 'smtp', raw, envelopeFrom: mailFrom && mailFrom.address ? mailFrom.address : null, envelopeTo: reportRecipient(accepted) });
      if (storeDownSince !== null) log.info({ downMs: Date.now() - storeDownSince }, 'PostgreSQL takes inbound reports again');
      storeDownSince = null;
      countInboundReport(stored.duplicate ? 'duplicate' : 'stored');
      log.info({ report: stored.id, source: 'smtp', size: raw.length, duplicate: stored.duplicate }, 'inbound report stored');
      return stored.id;
    } catch (err) {
      countInboundReport('failed');
      if (!isDatabaseUnavailable(err)) {
        log.error({ error: (err as Error).message, size: raw.length }, 'could not store an inbound report: answered 451 4.3.0, the sender retries; check that the migrations are applied (npm run setup) and the PostgreSQL log');
      } else if (storeDownSince === null) {
        storeDownSince = Date.now();
        log.warn({ error: (err as Error).message }, 'PostgreSQL is unreachable: inbound reports are answered 451 4.3.0 and their senders retry until it is back');
      }
      throw err;
    }
  }

  const server: InboundSmtpServer = new InboundSmtpServer({
    name: hostname(),
    banner: 'Rebound inbound: bounce reports and complaints',
    logger: false,
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    size: config.maxBytes,
    maxRecipients: limits.maxRecipients,
    // The listener counts and answers the connections over its limit itself (onConnect);
    // smtp-server's own check, at twice that, turns a flood away at once, uncounted.
    maxClients: config.maxConnections * 2,
    socketTimeout: config.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
    closeTimeout: limits.closeTimeoutMs,
    disableReverseLookup: true,
    onConnect(session, callback) {
      if (server.connections.size <= config.maxConnections) return callback();
      refuse('too_many_connections', session);
      callback(new SmtpReply(421, TOO_MANY_CONNECTIONS));
    },
    onMailFrom(_address: SMTPServerAddress, session: SMTPServerSession, callback) {
      if (rates.take(clientKey(session.remoteAddress), Date.now())) return callback();
      refuse('rate_limited', session);
      callback(new SmtpReply(451, RATE_LIMITED));
    },
    onRcptTo(address: SMTPServerAddress, session: SMTPServerSession, callback) {
      const verdict = judgeRecipient(address.address, keys);
      if (verdict.accepted) return callback();
      refuse(verdict.reason, session, { domain: address.address.slice(address.address.lastIndexOf('@') + 1).toLowerCase() });
      callback(new SmtpReply(verdict.code, verdict.text));
    },
    onData(stream: SMTPServerDataStream, session: SMTPServerSession, callback) {
      const chunks: Buffer[] = [];
      let size = 0;
      stream.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size <= config.maxBytes) chunks.push(chunk);
      });
      // The whole message is read before the answer, whatever it is: SMTP has one reply per DATA.
      stream.on('end', () => {
        if (stream.sizeExceeded || size > config.maxBytes) {
          refuse('too_large', session, { size });
          return callback(new SmtpReply(552, tooLargeText(config.maxBytes)));
        }
        store(Buffer.concat(chunks, size), session).then(
          (id) => callback(null, `2.0.0 stored as report ${id}`),
          () => callback(new SmtpReply(451, STORE_FAILED)),
        );
      });
    },
  });
  server.sessionTimeoutMs = config.sessionTimeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS;
  server.onSessionTooLong = (conn) => {
    refusals.count('session_too_long');
    countInboundRefusal('session_too_long');
    log.info({ reason: 'session_too_long', client: conn.remoteAddress, sessionTimeoutMs: server.sessionTimeoutMs }, 'inbound SMTP session closed at its deadline');
  };
  server.onDeclaredTooLarge = () => {
    refusals.count('too_large');
    countInboundRefusal('too_large');
    log.info({ reason: 'too_large', declared: true }, 'inbound SMTP refused');
    return tooLargeText(config.maxBytes);
  };
  // A client resetting its connection and the like: the session is gone, nothing to do.
  server.on('error', (err: Error) => log.debug({ error: err.message }, 'inbound SMTP connection error'));

  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => reject(new Error(`cannot listen for inbound SMTP on ${config.listen.host}:${config.listen.port} (REBOUND_INBOUND_LISTEN): ${err.message}`));
    server.server.once('error', onError);
    server.listen(config.listen.port, config.listen.host, () => {
      server.server.off('error', onError);
      resolve();
    });
  });
  const address = server.server.address();
  const port = typeof address === 'object' && address ? address.port : config.listen.port;

  return {
    host: config.listen.host,
    port,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await refusals.close();
    },
  };
}

function tooLargeText(maxBytes: number): string {
  return `5.3.4 message too big: this server takes reports of at most ${maxBytes} bytes`;
}
