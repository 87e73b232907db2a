// The bounce simulator's memory, without sockets: the SMTP server (src/sink/smtp.ts) reports each
// MAIL, RCPT, end of DATA, RSET and closed connection here, and the ledger decides the reply from
// the scenario table (src/sink/scenarios.ts), counts attempts per address (greylist, soft-K,
// full-K state), records every transaction and every message accepted, and answers what tests
// and the control port ask: received(), transactions(), deliveries(), duplicates(), reset().
// README section "The bounce simulator".
//
// Nothing depends on wall-clock time: greylisting lets the second attempt through whenever it
// comes, so a time-skipping Temporal test server works. A transaction is recorded (and handed to
// onTransaction) when it ends: DATA answered, RSET, a new MAIL, the connection closing, `drop`.

import { randomBytes } from 'node:crypto';
import { DEFAULT_GREYLIST_HINT_SECONDS, TOO_LARGE, dataReply, rcptDecision, replyText, type RcptDecision } from './scenarios';

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

export interface LedgerOptions {
  /** Greylisting hint when the local part gives none: default 60. */
  greylistHintSeconds?: number;
  /** Called with each transaction as it is recorded; an exception from it is ignored. */
  onTransaction?: (entry: SinkTransactionLog) => void;
  now?: () => Date;
  /** The id in "250 2.0.0 Ok: queued as <id>"; default 12 random hex digits. */
  queueId?: () => string;
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
  private readonly defaultHint: number;
  private readonly onTransaction: (entry: SinkTransactionLog) => void;
  private readonly now: () => Date;
  private readonly queueId: () => string;

  constructor(opts: LedgerOptions = {}) {
    this.defaultHint = opts.greylistHintSeconds ?? DEFAULT_GREYLIST_HINT_SECONDS;
    this.onTransaction = opts.onTransaction ?? (() => undefined);
    this.now = opts.now ?? (() => new Date());
    this.queueId = opts.queueId ?? (() => randomBytes(6).toString('hex').toUpperCase());
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
    const text = replyText(reply, { id: this.queueId() });
    this.receivedList.push({
      messageId,
      from: d.from,
      recipients: d.recipients,
      size: d.size,
      receivedAt: this.now().toISOString(),
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
    return { code: reply.code, text };
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
   * Forgets received messages, transactions and attempt counters. Transaction numbers go on, and
   * a transaction still open is recorded when it ends, so it can appear after a reset.
   */
  reset(): void {
    this.receivedList = [];
    this.log = [];
    this.attempts = new Map();
    this.deliveryCounts = new Map();
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
