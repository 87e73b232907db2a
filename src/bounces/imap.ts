// Polls a bounce mailbox hosted elsewhere (README "Late outcomes", IMAP): every pollSeconds it
// takes each mail in the folder, stores it as a report exactly as the SMTP listener would, and
// only once PostgreSQL has it deletes it from the mailbox. A mail that could not be stored stays
// where it is for the next poll, so nothing is lost; one stored twice (a crash between the store
// and the delete) is one report, as `storeRawReport` dedupes.
//
// Every mail in the folder is taken, seen or not: the folder is a dedicated bounce mailbox, and a
// mail leaves it once stored, so what is there is what is still to do. Deleting (rather than
// moving to a "processed" folder) keeps that mailbox from growing; the report is in
// `inbound_reports`.
import { ImapFlow, type ImapFlowOptions } from 'imapflow';
import type { Pool } from 'pg';
import type { Logger } from '../log';
import { storeRawReport } from './inbox';
import { nextPollDelaySeconds } from './imap-backoff';
import { recoverEnvelope } from './imap-envelope';
import { parseImapUrl, type ImapMailbox } from './imap-url';

/** REBOUND_INBOUND_MAX_BYTES's default: the SMTP listener and the poller take the same reports. */
export const DEFAULT_IMAP_MAX_BYTES = 10 * 1024 * 1024;
/** Mails taken in one poll; more wait for the next one, so a flooded mailbox is drained in steps. */
export const DEFAULT_IMAP_MAX_PER_POLL = 500;
/** How long stop() lets a running poll finish before it closes the connection under it. */
const STOP_GRACE_MS = 10_000;

export interface ImapPollerOptions {
  pool: Pool;
  imap: { url: string; pollSeconds: number };
  logger: Logger;
  /** Larger mails are left in the mailbox, unread, and logged once each. */
  maxBytes?: number;
  maxPerPoll?: number;
  /** REBOUND_BOUNCE_DOMAIN: the Delivered-To on it is the envelope recipient kept (src/bounces/imap-envelope.ts). */
  bounceDomain?: string | null;
  /** A certificate authority to trust besides the system's (a test's self-signed certificate). */
  tls?: { ca: string | Buffer };
}

export interface PollResult {
  /** Mails read from the mailbox in this poll. */
  fetched: number;
  /** Of those, stored as new reports (and deleted from the mailbox). */
  stored: number;
  /** Of those, already stored before (and deleted from the mailbox). */
  duplicates: number;
  /** Mails over maxBytes, left in the mailbox. */
  tooLarge: number;
}

export interface ImapPoller {
  /** Polls now, or joins the poll already running: two polls never overlap. Rejects when the poll failed. */
  pollOnce(): Promise<PollResult>;
  /** Waits for a running poll, then logs out. */
  stop(): Promise<void>;
}

/** Which side a poll failed on: the mailbox (connection, login, a command) or PostgreSQL. */
type FailedSide = 'imap' | 'database';

class PollFailure extends Error {
  constructor(
    readonly side: FailedSide,
    message: string,
    cause: unknown,
  ) {
    super(`${message}: ${describe(cause)}`, { cause });
  }
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  // imapflow puts the server's words in responseText ("Authentication failed."), its own in message.
  const text = (err as { responseText?: string }).responseText;
  return text ? `${err.message} (${text})` : err.message;
}

export function startImapPoller(opts: ImapPollerOptions): ImapPoller {
  const mailbox = parseImapUrl(opts.imap.url);
  const maxBytes = opts.maxBytes ?? DEFAULT_IMAP_MAX_BYTES;
  const maxPerPoll = opts.maxPerPoll ?? DEFAULT_IMAP_MAX_PER_POLL;
  // The user and the password stay out of every line (README "Late outcomes": secrets out of logs).
  const log = opts.logger.child({ component: 'imap-poller', host: mailbox.host, port: mailbox.port, mailbox: mailbox.mailbox });

  let client: ImapFlow | null = null;
  let running: Promise<PollResult> | null = null;
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;
  let failures = 0;
  let outageSince = 0;
  /** Mails already reported as too large, by UIDVALIDITY and UID, so each is logged once. */
  const tooLargeLogged = new Set<string>();

  async function connection(): Promise<ImapFlow> {
    if (client?.usable) return client;
    client?.close();
    client = null;
    const fresh = new ImapFlow(flowOptions(mailbox, maxBytes, opts.tls));
    // A dropped connection is an 'error' event; the poll that meets it fails and the next reconnects.
    fresh.on('error', (err: Error) => log.debug({ error: err.message }, 'the IMAP connection failed; the next poll reconnects'));
    try {
      await fresh.connect();
    } catch (err) {
      fresh.close();
      throw new PollFailure('imap', `could not connect and log in to ${mailbox.host}:${mailbox.port}`, err);
    }
    log.info({ tls: fresh.secureConnection }, 'connected to the bounce mailbox');
    client = fresh;
    return fresh;
  }

  /** What a poll takes: the UIDs of at most maxPerPoll mails within maxBytes, oldest first; the larger ones are counted and logged once each. */
  async function findMails(c: ImapFlow): Promise<{ uids: number[]; tooLarge: number }> {
    // On a connection kept from the last poll the server tells of mail that arrived since only
    // when asked (RFC 9051 NOOP): SEARCH alone answers from the session's older view.
    await imapStep(`checking ${mailbox.mailbox} for new mail`, () => c.noop());
    const small = (await imapStep(`searching ${mailbox.mailbox}`, () => c.search({ smaller: maxBytes + 1 }, { uid: true }))) || [];
    const large = (await imapStep(`searching ${mailbox.mailbox}`, () => c.search({ larger: maxBytes }, { uid: true }))) || [];
    const uidValidity = c.mailbox ? String(c.mailbox.uidValidity) : '';
    for (const uid of large) {
      const key = `${uidValidity}:${uid}`;
      if (tooLargeLogged.has(key)) continue;
      tooLargeLogged.add(key);
      log.warn({ uid, maxBytes }, 'a mail in the bounce mailbox is larger than REBOUND_INBOUND_MAX_BYTES: left there unread; delete it by hand or raise the limit');
    }
    return { uids: small.sort((a, b) => a - b).slice(0, maxPerPoll), tooLarge: large.length };
  }

  /** Stores one mail as a report, then deletes it from the mailbox; 'gone' when another client took it since the search. */
  async function takeMail(c: ImapFlow, uid: number): Promise<'stored' | 'duplicate' | 'gone'> {
    const mail = await imapStep(`fetching UID ${uid}`, () => c.fetchOne(String(uid), { uid: true, source: true }, { uid: true }));
    if (!mail || !mail.source) return 'gone';
    let duplicate: boolean;
    try {
      ({ duplicate } = await storeRawReport(opts.pool, { source: 'imap', raw: mail.source, ...recoverEnvelope(mail.source, opts.bounceDomain ?? null) }));
    } catch (err) {
      throw new PollFailure('database', `could not store mail UID ${uid} as a report in PostgreSQL (it stays in the mailbox for the next poll)`, err);
    }
    // Only now is it safe to let the mail go: the report is in PostgreSQL.
    await imapStep(`deleting stored mail UID ${uid}`, () => c.messageDelete(String(uid), { uid: true }));
    return duplicate ? 'duplicate' : 'stored';
  }

  async function takeMails(c: ImapFlow): Promise<PollResult> {
    let lock;
    try {
      lock = await c.getMailboxLock(mailbox.mailbox);
    } catch (err) {
      throw new PollFailure('imap', `could not open the folder ${mailbox.mailbox}`, err);
    }
    try {
      const { uids, tooLarge } = await findMails(c);
      const result: PollResult = { fetched: 0, stored: 0, duplicates: 0, tooLarge };
      for (const uid of uids) {
        const taken = await takeMail(c, uid);
        if (taken === 'gone') continue;
        result.fetched += 1;
        if (taken === 'stored') result.stored += 1;
        else result.duplicates += 1;
      }
      return result;
    } finally {
      lock.release();
    }
  }

  async function poll(): Promise<PollResult> {
    try {
      const result = await takeMails(await connection());
      recovered();
      if (result.fetched > 0) log.info(result, 'polled the bounce mailbox');
      return result;
    } catch (err) {
      const failure = err instanceof PollFailure ? err : new PollFailure('imap', 'polling failed', err);
      // The mailbox side may be half-broken: start from a fresh connection next time.
      if (failure.side === 'imap') dropConnection();
      failed(failure);
      throw failure;
    }
  }

  /** One line per outage: the first failure says what failed; the recovery says for how long. */
  function failed(failure: PollFailure): void {
    if (failures === 0) {
      outageSince = Date.now();
      log.error({ failed: failure.side, error: failure.message }, 'could not poll the bounce mailbox; its mails stay there and are taken once this is fixed; retrying with backoff');
    }
    failures += 1;
  }

  function recovered(): void {
    if (failures === 0) return;
    log.info({ failedPolls: failures, outageSeconds: Math.round((Date.now() - outageSince) / 1000) }, 'the bounce mailbox is polled again');
    failures = 0;
  }

  function dropConnection(): void {
    client?.close();
    client = null;
  }

  function pollOnce(): Promise<PollResult> {
    if (stopped) return Promise.reject(new Error('the IMAP poller is stopped; start a new one with startImapPoller'));
    running ??= poll().finally(() => {
      running = null;
    });
    return running;
  }

  function tick(): void {
    timer = null;
    pollOnce()
      .catch(() => undefined) // logged by poll(), once per outage
      .then(() => {
        if (!stopped) timer = setTimeout(tick, nextPollDelaySeconds(opts.imap.pollSeconds, failures) * 1000);
      });
  }

  tick();

  return {
    pollOnce,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = null;
      // A poll cut short is safe: a mail is deleted only after it was stored, and stored twice is one report.
      if (running) await Promise.race([running.catch(() => undefined), new Promise((r) => setTimeout(r, STOP_GRACE_MS).unref())]);
      const last = client;
      client = null;
      if (last?.usable) await last.logout().catch(() => last.close());
      else last?.close();
    },
  };
}

async function imapStep<T>(what: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (err) {
    throw new PollFailure('imap', what, err);
  }
}

/**
 * imapflow's settings for a mailbox. Its own logger is off: it logs every command at debug, and
 * what matters is logged here. The response bounds follow maxBytes, so a server announcing a
 * bigger mail than it said it had fails the poll instead of filling memory.
 */
function flowOptions(mailbox: ImapMailbox, maxBytes: number, tls: ImapPollerOptions['tls']): ImapFlowOptions {
  const security: Pick<ImapFlowOptions, 'secure' | 'doSTARTTLS'> =
    mailbox.security === 'tls' ? { secure: true } : mailbox.security === 'starttls' ? { secure: false, doSTARTTLS: true } : { secure: false };
  return {
    host: mailbox.host,
    port: mailbox.port,
    ...security,
    auth: { user: mailbox.user, pass: mailbox.password },
    logger: false,
    ...(tls ? { tls: { ca: tls.ca } } : {}),
    connectionTimeout: 30_000,
    greetingTimeout: 16_000,
    socketTimeout: 5 * 60_000,
    maxLiteralSize: maxBytes,
    maxResponseSize: maxBytes + 1024 * 1024,
    maxLineLength: 64 * 1024 * 1024,
  };
}
