// A pool of SMTP connections to one relay, built on nodemailer's SMTPConnection (which speaks
// the protocol: EHLO, STARTTLS, AUTH, PIPELINING, DATA dot-stuffing), because the send activity
// needs one thing nodemailer's own pool cannot give it: a last word before the message's body
// goes out. nodemailer's pool reads the whole message into its buffers before the envelope is
// even sent, so whether the final "." is written is decided before RCPT; here the body is read
// only after the server's 354, and a gate the caller passes runs first. A gate that refuses
// abandons the transaction: the connection is closed without the final ".", and the server
// discards the message (RFC 5321 4.1.1.4). See README "Reliability".
import { Readable } from 'node:stream';
import SMTPConnection, { type SMTPConnectionOptions, type SMTPConnectionSendInfo } from 'nodemailer/lib/smtp-connection';
import type { ConnectionAdmission } from '../sites/connections';

export interface SmtpPoolOptions {
  /** Where and how to connect: host, port, TLS, timeouts. */
  connection: SMTPConnectionOptions;
  auth?: { user: string; pass: string };
  /** Connections open at once; further sends wait for one. */
  maxConnections: number;
  /** Messages per connection before it is closed and a new one opened. */
  maxMessages: number;
  /** An idle connection is closed after this long (servers drop idle clients anyway). */
  idleTimeoutMs: number;
  /**
   * The site's connections across every worker (README "Traffic shaping", Limits): asked for a
   * lease before each new connection, which the connection holds while it lives, and told how
   * each transaction went (the site's slow start).
   */
  admission?: ConnectionAdmission;
  /** The site, for the error when no lease came free in time. */
  site?: string;
  /** How long a send waits for a lease before it gives up with ESITEBUSY. */
  leaseWaitMs?: number;
}

/** How long a send waits for one of the site's connections (all workers together) by default. */
export const LEASE_WAIT_MS = 20_000;

export interface SmtpEnvelope {
  from: string;
  to: string[];
}

/** Runs after the server's 354 and before any byte of the body; throws to abandon the transaction. */
export type DataGate = () => Promise<void>;

/** What a send resolves with: the recipients the server took and its final reply. */
export type SmtpSendInfo = SMTPConnectionSendInfo;

/** The gate refused: the transaction was abandoned before the final ".", so nothing was delivered. */
export class TransactionAbandoned extends Error {
  constructor(readonly reason: unknown) {
    super(`SMTP transaction abandoned before the message body: ${(reason as Error)?.message ?? String(reason)}`);
    this.name = 'TransactionAbandoned';
  }
}

/**
 * How much of the body is held back until the gate has passed a second time. The gate runs
 * before the body; for a body longer than this it runs again before the last part, once the
 * rest has drained into the socket, so the final "." follows its last check within one
 * socket buffer rather than a whole large message later.
 */
const TAIL_BYTES = 64 * 1024;

interface Slot {
  conn: SMTPConnection;
  messages: number;
  gone: boolean;
  idleTimer: NodeJS.Timeout | null;
  /** Gives the site's connection lease back (admission), when it holds one. */
  releaseLease: (() => void) | null;
}

interface NodemailerError extends Error {
  code?: string;
  responseCode?: number;
}

/**
 * A connection the server dropped (idle timeout, restart) before this message was started on it:
 * nodemailer's own rule (its errors module is not part of its public exports).
 */
function isTransient(err: NodemailerError): boolean {
  return err.responseCode === 421 || err.code === 'ECONNECTION' || err.code === 'ESOCKET' || err.code === 'ETIMEDOUT';
}

/** The body as a stream that asks the gate before it gives anything, and again before its tail. */
function gatedBody(body: Buffer, gate: DataGate | undefined): { stream: Readable; started: () => boolean; refusal: () => unknown } {
  let started = false;
  let refusal: unknown = null;
  const headEnd = body.length > TAIL_BYTES ? body.length - TAIL_BYTES : 0;
  async function* parts(): AsyncGenerator<Buffer> {
    started = true;
    try {
      if (headEnd > 0) {
        await gate?.();
        yield body.subarray(0, headEnd);
      }
      await gate?.();
    } catch (err) {
      refusal = err;
      throw err;
    }
    yield body.subarray(headEnd);
  }
  return { stream: Readable.from(parts(), { objectMode: false }), started: () => started, refusal: () => refusal };
}

export class SmtpPool {
  private readonly idle: Slot[] = [];
  /** Connections open or opening. */
  private count = 0;
  private readonly waiters: (() => void)[] = [];
  private closed = false;

  constructor(private readonly options: SmtpPoolOptions) {}

  /**
   * One SMTP transaction. SMTP answers come back as nodemailer errors (rejected recipients,
   * a refused DATA) or as the info; a refusing gate rejects with TransactionAbandoned.
   */
  async send(envelope: SmtpEnvelope, body: Buffer, gate?: DataGate): Promise<SmtpSendInfo> {
    for (let tries = 0; ; tries++) {
      const slot = await this.acquire();
      const reused = slot.messages > 0;
      slot.messages += 1;
      const data = gatedBody(body, gate);
      try {
        const info = await new Promise<SmtpSendInfo>((resolve, reject) => {
          slot.conn.send({ from: envelope.from, to: envelope.to, size: body.length }, data.stream, (err, info) => (err ? reject(err) : resolve(info!)));
        });
        this.options.admission?.heard(true);
        this.release(slot);
        return info;
      } catch (e) {
        const err = e as NodemailerError;
        if (data.refusal() !== null) {
          // Mid-DATA: only closing the connection ends the transaction without a final ".".
          this.discard(slot);
          throw new TransactionAbandoned(data.refusal());
        }
        // A reused connection the server had dropped: nothing of this message was sent, so it
        // goes out over a fresh one (once).
        if (reused && tries === 0 && !data.started() && isTransient(err)) {
          this.discard(slot);
          continue;
        }
        // A dropped connection or a 421 ("too many connections", "slow down") lowers the site's slow-start limit.
        if (isTransient(err)) this.options.admission?.heard(false);
        if ((err.code === 'EENVELOPE' || err.code === 'EMESSAGE') && err.responseCode !== 421 && !slot.gone) {
          // The server refused this message; the session is fine once reset.
          slot.conn.reset((resetErr) => (resetErr ? this.discard(slot) : this.release(slot)));
        } else {
          this.discard(slot);
        }
        throw err;
      }
    }
  }

  /** Closes idle connections now and the others as their transactions end. */
  close(): void {
    this.closed = true;
    for (const slot of [...this.idle]) this.discard(slot, true);
    for (const wake of this.waiters.splice(0)) wake();
  }

  private async acquire(): Promise<Slot> {
    const admission = this.options.admission;
    const deadline = Date.now() + (this.options.leaseWaitMs ?? LEASE_WAIT_MS);
    let backoffMs = 100;
    for (;;) {
      if (this.closed) throw Object.assign(new Error('the SMTP pool is closed'), { code: 'ECONNECTION' });
      const slot = this.idle.pop();
      if (slot) {
        if (slot.idleTimer) clearTimeout(slot.idleTimer);
        slot.idleTimer = null;
        if (!slot.gone) return slot;
        continue;
      }
      if (this.count < this.options.maxConnections) {
        if (!admission) return this.connect(null);
        // The lease being asked for counts as a connection opening, so no other send asks too.
        this.count += 1;
        let lease: (() => void) | null;
        try {
          lease = await admission.open();
        } finally {
          this.count -= 1;
        }
        if (lease) return this.connect(lease);
        // Every connection the site allows is open (all workers together): wait for one of
        // ours to come free, or ask again a little later (another worker's may close).
        if (Date.now() >= deadline) throw this.siteBusy();
        await this.waitForWake(Math.min(backoffMs, Math.max(1, deadline - Date.now())));
        backoffMs = Math.min(backoffMs * 2, 1_000);
        continue;
      }
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  private siteBusy(): Error {
    const wait = Math.round((this.options.leaseWaitMs ?? LEASE_WAIT_MS) / 1000);
    const site = this.options.site ? `site ${this.options.site}` : 'the site';
    return Object.assign(new Error(`${site}: every connection it allows is open (all workers together) and none came free within ${wait} s; try again in 30 seconds (README "Traffic shaping", Limits)`), {
      code: 'ESITEBUSY',
      originalCode: 'ESITEBUSY',
    });
  }

  /** Until a connection comes free here, or `ms` at most. */
  private waitForWake(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        const at = this.waiters.indexOf(wake);
        if (at >= 0) this.waiters.splice(at, 1);
        resolve();
      }, ms);
      this.waiters.push(wake);
    });
  }

  private connect(releaseLease: (() => void) | null): Promise<Slot> {
    this.count += 1;
    const conn = new SMTPConnection(this.options.connection);
    const slot: Slot = { conn, messages: 0, gone: false, idleTimer: null, releaseLease };
    return new Promise<Slot>((resolve, reject) => {
      let ready = false;
      const fail = (err: Error) => {
        if (ready) return;
        ready = true;
        this.options.admission?.heard(false);
        this.discard(slot);
        reject(err);
      };
      // After the handshake an error in a transaction reaches its send callback too; an idle
      // connection that fails is dropped here ('end' follows either way).
      conn.on('error', (err: Error) => {
        if (!ready) return fail(err);
        if (this.idle.includes(slot)) this.forget(slot);
      });
      conn.once('end', () => {
        fail(Object.assign(new Error('the server closed the connection before it was ready'), { code: 'ECONNECTION' }));
        this.forget(slot);
      });
      conn.connect((err) => {
        if (err) return fail(err);
        const auth = this.options.auth;
        if (!auth || !conn.allowsAuth) {
          ready = true;
          return resolve(slot);
        }
        conn.login({ credentials: auth }, (loginErr) => {
          if (loginErr) return fail(loginErr);
          ready = true;
          resolve(slot);
        });
      });
    });
  }

  private release(slot: Slot): void {
    if (slot.gone) return;
    if (this.closed || slot.messages >= this.options.maxMessages) return this.discard(slot, true);
    slot.idleTimer = setTimeout(() => this.discard(slot, true), this.options.idleTimeoutMs);
    slot.idleTimer.unref();
    this.idle.push(slot);
    this.wake();
  }

  /** Closes a connection: with QUIT when it is between transactions, at once otherwise. */
  private discard(slot: Slot, polite = false): void {
    if (slot.gone) return;
    if (polite) slot.conn.quit();
    else slot.conn.close();
    this.forget(slot);
  }

  private forget(slot: Slot): void {
    if (slot.gone) return;
    slot.gone = true;
    slot.releaseLease?.();
    if (slot.idleTimer) clearTimeout(slot.idleTimer);
    const at = this.idle.indexOf(slot);
    if (at >= 0) this.idle.splice(at, 1);
    this.count -= 1;
    this.wake();
  }

  private wake(): void {
    this.waiters.shift()?.();
  }
}
