// The bounce simulator's memory, without sockets: the SMTP server (src/sink/smtp.ts) reports each
// MAIL, RCPT, end of DATA, RSET and closed connection here, and the ledger decides the reply from
// the scenario table (src/sink/scenarios.ts), counts attempts per address (greylist, soft-K,
// full-K state), records every transaction and every message accepted, and answers what tests
// and the control port ask: received(), transactions(), deliveries(), duplicates(), reports(),
// reset(). README section "The bounce simulator".
//
// Late reports (bouncelater, delaylater, complain): when such a recipient's message is queued the
// ledger records the report it owes and hands it to onReport; the reporter (src/sink/reporter.ts)
// mails it and tells the ledger how each try went (reportTried), so that tests and the control
// port see whether it was sent and what the receiver answered.
//
// Nothing depends on wall-clock time but the optional rateLimit, whose windows are time:
// greylisting lets the second attempt through whenever it comes, so a time-skipping Temporal
// test server works. A transaction is recorded (and handed to
// onTransaction) when it ends: DATA answered, RSET, a new MAIL, the connection closing, `drop`.

import { randomBytes } from 'node:crypto';
import type { SendResult } from './report-retry';
import { headerBlock, reportRecipient } from './reports';
import { FRESH_WINDOW, checkedRateLimit, rateDecision, type RateLimit, type RateWindowState } from './rate-window';
import {
  DEFAULT_GREYLIST_HINT_SECONDS,
  RATE_LIMITED_IP,
  TOO_LARGE,
  dataReply,
  laterReport,
  rcptDecision,
  replyText,
  scenarioFor,
  type LateReportKind,
  type RcptDecision,
} from './scenarios';

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

/**
 * Where a late report stands: `waiting` (due, or between tries), `sent` (the receiver answered
 * 2xx), `refused` (5xx: final), `gave_up` (deferred or unreachable until the retry time ran out),
 * `no_destination` (the sink has no reportTo), `no_sender` (the message came from the null
 * sender, which no report goes back to).
 */
export type LateReportState = 'waiting' | 'sent' | 'refused' | 'gave_up' | 'no_destination' | 'no_sender';

export interface LateReportTry {
  at: string;
  /** The receiver's reply to the end of DATA (or the one that ended the transaction); null: none. */
  reply: string | null;
  /** Why there was no reply (connection refused, timeout). */
  error?: string;
}

export interface LateReport {
  /** Sink-wide report number (not reset by reset()). */
  id: number;
  kind: LateReportKind;
  /** The recipient the report is about, as the client wrote it. */
  recipient: string;
  /** The reported message's Message-ID header (with angle brackets), null when it had none. */
  messageId: string | null;
  /** The reported message's envelope sender. */
  originalFrom: string;
  /** The report's envelope recipient (its envelope sender is always <>); null with no_sender. */
  to: string | null;
  /** host:port the report is mailed to; null: none configured. */
  destination: string | null;
  /** The reported message's queue id ("queued as <id>"). */
  queueId: string;
  acceptedAt: string;
  /** When the first try is due. */
  dueAt: string;
  state: LateReportState;
  tries: LateReportTry[];
  /** The report's own Message-ID, once written. */
  reportMessageId?: string;
  sentAt?: string;
}

export interface LedgerOptions {
  /** Greylisting hint when the local part gives none: default 60. */
  greylistHintSeconds?: number;
  /** Called with each transaction as it is recorded; an exception from it is ignored. */
  onTransaction?: (entry: SinkTransactionLog) => void;
  now?: () => Date;
  /** The id in "250 2.0.0 Ok: queued as <id>"; default 12 random hex digits. */
  queueId?: () => string;
  /** host:port late reports are mailed to; null or absent: they are recorded as no_destination. */
  reportTo?: string | null;
  /** Called with each late report to send and the reported message's headers; an exception from it is ignored. */
  onReport?: (report: LateReport, originalHeaders: Buffer) => void;
  /**
   * A receiver's rate limit over every recipient (src/sink/rate-window.ts): past `after` in a
   * window, each RCPT gets Gmail's 421 4.7.28 until the window ends. Absent: none.
   */
  rateLimit?: RateLimit | null;
}

/** The end of a DATA phase, as the SMTP server saw it. */
export interface DataEnd {
  /** The message as stored (the server may keep only the first bytes of an oversized one). */
  raw: Buffer;
  /** Bytes received. */
  size: number;
  /** Over the size the server accepts. */
  oversize: boolean;
  /** Envelope sender ('' for the null sender). */
  from: string;
  /** The recipients the server accepted in this transaction. */
  recipients: string[];
}

/** A reply to the end of DATA: the code and the text after it (enhanced code included). */
export interface DataAnswer {
  code: number;
  text: string;
}

interface OpenTransaction {
  transaction: number;
  at: string;
  from: string | null;
  connection: string;
  rcpt: { address: string; scenario: string; reply: string; accepted: boolean }[];
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

const copyReport = (r: LateReport): LateReport => ({ ...r, tries: r.tries.map((t) => ({ ...t })) });

const bare = (id: string): string => id.trim().replace(/^<(.*)>$/, '$1');

export class SinkLedger {
  private receivedList: ReceivedMessage[] = [];
  private log: SinkTransactionLog[] = [];
  /** RCPT attempts per whole lower-cased address. */
  private attempts = new Map<string, number>();
  /** bare Message-ID -> lower-cased recipient -> times accepted. */
  private deliveryCounts = new Map<string, Map<string, number>>();
  /** Open transactions by connection id; not forgotten by reset(). */
  private readonly open = new Map<string, OpenTransaction>();
  private txCounter = 0;
  private lateReports: LateReport[] = [];
  private reportCounter = 0;
  private readonly reportTo: string | null;
  private readonly onReport: (report: LateReport, originalHeaders: Buffer) => void;
  private readonly defaultHint: number;
  private readonly onTransaction: (entry: SinkTransactionLog) => void;
  private readonly now: () => Date;
  private readonly queueId: () => string;
  private readonly rateLimit: RateLimit | null;
  private rateWindow: RateWindowState = FRESH_WINDOW;

  constructor(opts: LedgerOptions = {}) {
    this.rateLimit = opts.rateLimit ? checkedRateLimit(opts.rateLimit) : null;
    this.defaultHint = opts.greylistHintSeconds ?? DEFAULT_GREYLIST_HINT_SECONDS;
    this.onTransaction = opts.onTransaction ?? (() => undefined);
    this.now = opts.now ?? (() => new Date());
    this.queueId = opts.queueId ?? (() => randomBytes(6).toString('hex').toUpperCase());
    this.reportTo = opts.reportTo ?? null;
    this.onReport = opts.onReport ?? (() => undefined);
  }

  /** MAIL FROM on a connection: ends the transaction still open there ('new-mail'), opens one. */
  mailFrom(connection: string, from: string): void {
    this.end(connection, 'new-mail');
    this.open.set(connection, {
      transaction: ++this.txCounter,
      at: this.now().toISOString(),
      from,
      connection,
      rcpt: [],
    });
  }

  /** RCPT TO: counts the attempt for the address and decides the reply. A drop ends the transaction. */
  rcptTo(connection: string, address: string): RcptDecision {
    // The rate limit comes before the recipient's scenario, and a refused RCPT counts no attempt
    // for the address: the receiver turned the sender away, not the mailbox.
    const limited = this.overRate(address);
    if (limited) {
      this.open.get(connection)?.rcpt.push({ address, scenario: 'rate-limit', reply: `${limited.code} ${limited.text}`, accepted: false });
      return limited;
    }
    const key = address.trim().toLowerCase();
    const attempt = (this.attempts.get(key) ?? 0) + 1;
    this.attempts.set(key, attempt);
    const decision = rcptDecision(address, attempt, this.defaultHint);
    const tx = this.open.get(connection);
    tx?.rcpt.push({
      address,
      scenario: decision.scenario.name,
      reply: decision.drop ? decision.text : `${decision.code} ${decision.text}`,
      accepted: decision.code === 250,
    });
    if (decision.drop && tx) this.finish(tx, 'dropped', { ended: 'drop-scenario' });
    return decision;
  }

  /** The 421 of the rate limit when this RCPT is over it; null when it is taken (or there is no limit). */
  private overRate(address: string): RcptDecision | null {
    if (!this.rateLimit) return null;
    const { accept, state } = rateDecision(this.rateLimit, this.rateWindow, this.now().getTime());
    this.rateWindow = state;
    if (accept) return null;
    return { scenario: { ...scenarioFor(address), name: 'rate-limit' }, code: RATE_LIMITED_IP.code, text: replyText(RATE_LIMITED_IP, { addr: address }) };
  }

  /** The end of DATA: stores the message unless it is too large (by size or by scenario). */
  dataEnd(connection: string, d: DataEnd): DataAnswer {
    const messageId = extractMessageId(d.raw);
    const tx = this.open.get(connection);
    const reply = d.oversize ? TOO_LARGE : dataReply(d.recipients);
    if (reply.code !== 250) {
      const text = replyText(reply);
      if (tx) this.finish(tx, 'rejected', { data: `${reply.code} ${text}`, messageId, size: d.size });
      return { code: reply.code, text };
    }
    const queueId = this.queueId();
    const text = replyText(reply, { id: queueId });
    const receivedAt = this.now();
    this.receivedList.push({
      messageId,
      from: d.from,
      recipients: d.recipients,
      size: d.size,
      receivedAt: receivedAt.toISOString(),
      transaction: tx?.transaction ?? ++this.txCounter,
    });
    if (messageId !== null) {
      const key = bare(messageId);
      let perRcpt = this.deliveryCounts.get(key);
      if (!perRcpt) this.deliveryCounts.set(key, (perRcpt = new Map()));
      for (const r of d.recipients) perRcpt.set(r.toLowerCase(), (perRcpt.get(r.toLowerCase()) ?? 0) + 1);
    }
    if (tx) {
      const rejectedSome = tx.rcpt.some((r) => !r.accepted);
      this.finish(tx, rejectedSome ? 'partial' : 'accepted', {
        data: `${reply.code} ${text}`,
        accepted: d.recipients,
        messageId,
        size: d.size,
      });
    }
    this.planReports(d, messageId, queueId, receivedAt);
    return { code: reply.code, text };
  }

  /** Records the late report each accepted recipient's scenario owes, and hands over the ones to send. */
  private planReports(d: DataEnd, messageId: string | null, queueId: string, accepted: Date): void {
    let headers: Buffer | null = null;
    for (const recipient of d.recipients) {
      const later = laterReport(recipient);
      if (!later) continue;
      const to = reportRecipient(later.kind, d.from);
      const report: LateReport = {
        id: ++this.reportCounter,
        kind: later.kind,
        recipient,
        messageId,
        originalFrom: d.from,
        to,
        destination: this.reportTo,
        queueId,
        acceptedAt: accepted.toISOString(),
        dueAt: new Date(accepted.getTime() + later.delaySeconds * 1000).toISOString(),
        state: to === null ? 'no_sender' : this.reportTo === null ? 'no_destination' : 'waiting',
        tries: [],
      };
      this.lateReports.push(report);
      if (report.state !== 'waiting') continue;
      headers ??= headerBlock(d.raw);
      try {
        this.onReport(copyReport(report), headers);
      } catch {
        // a failing reporter must not break the SMTP session
      }
    }
  }

  /**
   * How one try of report `id` went; `givingUp`: no more tries will follow a deferral. The
   * report's Message-ID is kept from its first try. Unknown ids (forgotten by reset()) are ignored.
   */
  reportTried(id: number, result: SendResult, opts: { givingUp: boolean; reportMessageId?: string }): LateReport | null {
    const report = this.lateReports.find((r) => r.id === id);
    if (!report) return null;
    const at = this.now().toISOString();
    report.tries.push(result.kind === 'unreachable' ? { at, reply: null, error: result.error } : { at, reply: result.reply });
    report.reportMessageId ??= opts.reportMessageId;
    if (result.kind === 'accepted') {
      report.state = 'sent';
      report.sentAt = at;
    } else if (result.kind === 'refused') report.state = 'refused';
    else report.state = opts.givingUp ? 'gave_up' : 'waiting';
    return copyReport(report);
  }

  /** Every late report, in the order the messages were accepted. */
  reports(): LateReport[] {
    return this.lateReports.map(copyReport);
  }

  /**
   * A transaction that ended without a DATA reply ('rset', 'new-mail', 'closed'): 'dropped' when
   * a recipient had been accepted, 'rejected' otherwise. Nothing happens when none is open.
   */
  end(connection: string, ended: string): void {
    const tx = this.open.get(connection);
    if (!tx) return;
    const anyAccepted = tx.rcpt.some((r) => r.accepted);
    this.finish(tx, anyAccepted ? 'dropped' : 'rejected', { ended });
  }

  received(): ReceivedMessage[] {
    return this.receivedList.map((m) => ({ ...m, recipients: [...m.recipients] }));
  }

  transactions(): SinkTransactionLog[] {
    return this.log.map((t) => ({ ...t, rcpt: t.rcpt.map((r) => ({ ...r })), accepted: [...t.accepted] }));
  }

  /**
   * How many times (messageId, recipient) was accepted. Without a recipient: how many accepted
   * transactions carried that Message-ID. The id matches with or without angle brackets, the
   * recipient case-insensitively.
   */
  deliveries(messageId: string, recipient?: string): number {
    const key = bare(messageId);
    if (recipient === undefined) {
      return this.receivedList.filter((m) => m.messageId !== null && bare(m.messageId) === key).length;
    }
    return this.deliveryCounts.get(key)?.get(recipient.trim().toLowerCase()) ?? 0;
  }

  /** Every (messageId, recipient) accepted more than once, in the order first received. */
  duplicates(): { messageId: string; recipient: string; count: number }[] {
    const out: { messageId: string; recipient: string; count: number }[] = [];
    for (const m of this.receivedList) {
      if (m.messageId === null) continue;
      const perRcpt = this.deliveryCounts.get(bare(m.messageId));
      for (const r of m.recipients) {
        const count = perRcpt?.get(r.toLowerCase()) ?? 0;
        if (count > 1 && !out.some((d) => bare(d.messageId) === bare(m.messageId!) && d.recipient === r.toLowerCase())) {
          out.push({ messageId: m.messageId, recipient: r.toLowerCase(), count });
        }
      }
    }
    return out;
  }

  /**
   * Forgets received messages, transactions, attempt counters and late reports (the sink cancels
   * the ones still waiting). Transaction and report numbers go on, and a transaction still open
   * is recorded when it ends, so it can appear after a reset.
   */
  reset(): void {
    this.receivedList = [];
    this.log = [];
    this.attempts = new Map();
    this.deliveryCounts = new Map();
    this.lateReports = [];
    this.rateWindow = FRESH_WINDOW;
  }

  private finish(tx: OpenTransaction, outcome: SinkTransactionLog['outcome'], extra: Partial<SinkTransactionLog> = {}): void {
    if (this.open.get(tx.connection) === tx) this.open.delete(tx.connection);
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
    this.log.push(entry);
    try {
      this.onTransaction(entry);
    } catch {
      // a failing log sink must not break the SMTP session
    }
  }
}
