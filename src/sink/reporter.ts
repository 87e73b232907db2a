// The bounce simulator's outbound side (README "The bounce simulator"): it mails the late reports
// the ledger owes (bouncelater, delaylater, complain) to the sink's reportTo — Rebound's inbound
// listener — once each is due, the way the relay that answered 250 mails the real outcome later
// (README "Late outcomes"). One nodemailer SMTP connection per try, no TLS, no auth, envelope
// sender <>. A deferral or an unreachable receiver is tried again (src/sink/report-retry.ts), as
// a real MTA does when the listener answers 451 4.3.0 while its database is down; every try goes
// to the ledger, and nothing here may throw into the sink.

import { randomBytes } from 'node:crypto';
import nodemailer from 'nodemailer';
import type { LateReport, SinkLedger } from './ledger';
import { DEFAULT_REPORT_RETRY, nextTryDelay, resultOfReply, type ReportRetryPolicy, type SendResult } from './report-retry';
import { buildReport, type BuiltReport } from './reports';

export interface ReporterOptions {
  /** Where reports are mailed (the inbound listener). */
  destination: { host: string; port: number };
  /** The sink's host name in the reports and in its EHLO. */
  reportingHost: string;
  ledger: SinkLedger;
  retry?: ReportRetryPolicy;
  /** Structured log, `{ msg: 'sink report', ... }` per try. */
  log: (entry: object) => void;
}

/** How long one try may wait for the receiver, per step. */
const CONNECTION_TIMEOUT_MS = 5_000;
const SOCKET_TIMEOUT_MS = 15_000;

/** The outcome of one SMTP try as a SendResult: the reply that ended it, or no reply. */
function resultOfError(err: unknown): SendResult {
  const e = err as { response?: unknown; code?: unknown; message?: unknown };
  if (typeof e.response === 'string' && /^\d{3}/.test(e.response)) return resultOfReply(e.response);
  return { kind: 'unreachable', error: [e.code, e.message].filter((x) => typeof x === 'string').join(': ') || String(err) };
}

export class LateReporter {
  private readonly timers = new Map<number, NodeJS.Timeout>();
  private readonly retry: ReportRetryPolicy;
  /** Bumped by cancelAll(): a try that was under way when it ran reports nothing. */
  private generation = 0;

  constructor(private readonly opts: ReporterOptions) {
    this.retry = opts.retry ?? DEFAULT_REPORT_RETRY;
  }

  /** Mails `report` when it is due, and again while the receiver defers it. */
  schedule(report: LateReport, originalHeaders: Buffer): void {
    const built = buildReport({
      kind: report.kind,
      originalHeaders,
      envelope: { from: report.originalFrom, recipient: report.recipient },
      reportingHost: this.opts.reportingHost,
      queueId: report.queueId,
      arrivedAt: new Date(report.acceptedAt),
      date: new Date(report.dueAt),
      reportQueueId: randomBytes(5).toString('hex').toUpperCase(),
    });
    if (built === null) return; // the ledger records no_sender and does not hand these over
    const firstTryAt = Date.parse(report.dueAt);
    this.wait(report.id, Math.max(0, firstTryAt - Date.now()), () => this.tryOnce(report, built, 1, firstTryAt));
  }

  /** Forgets every report still waiting (the ledger's reset, the sink's close). */
  cancelAll(): void {
    this.generation++;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  private wait(id: number, ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(id);
      fn();
    }, ms);
    // the SMTP server keeps `rebound sink` alive; a report alone must not keep a test process up
    timer.unref();
    this.timers.set(id, timer);
  }

  private async tryOnce(report: LateReport, built: BuiltReport, tries: number, firstTryAt: number): Promise<void> {
    const generation = this.generation;
    const result = await this.send(built);
    if (generation !== this.generation) return;
    const delay = nextTryDelay(result, tries, Date.now() - firstTryAt, this.retry);
    const givingUp = delay === null && (result.kind === 'deferred' || result.kind === 'unreachable');
    const after = this.opts.ledger.reportTried(report.id, result, { givingUp, reportMessageId: built.messageId });
    this.logTry(report, built, tries, result, after?.state ?? 'forgotten', delay);
    if (after?.state === 'waiting' && delay !== null) this.wait(report.id, delay, () => this.tryOnce(report, built, tries + 1, firstTryAt));
  }

  /** One SMTP transaction with the receiver; never throws. */
  private async send(built: BuiltReport): Promise<SendResult> {
    const transport = nodemailer.createTransport({
      host: this.opts.destination.host,
      port: this.opts.destination.port,
      secure: false,
      ignoreTLS: true,
      name: this.opts.reportingHost,
      connectionTimeout: CONNECTION_TIMEOUT_MS,
      greetingTimeout: CONNECTION_TIMEOUT_MS,
      socketTimeout: SOCKET_TIMEOUT_MS,
    });
    try {
      const info = await transport.sendMail({ envelope: { from: '', to: [built.envelope.to] }, raw: built.raw });
      return resultOfReply(String(info.response));
    } catch (err) {
      return resultOfError(err);
    } finally {
      transport.close();
    }
  }

  private logTry(report: LateReport, built: BuiltReport, tries: number, result: SendResult, state: string, delay: number | null): void {
    const { host, port } = this.opts.destination;
    try {
      this.opts.log({
        msg: 'sink report',
        report: report.id,
        kind: report.kind,
        messageId: report.messageId,
        reportMessageId: built.messageId,
        destination: `${host}:${port}`,
        try: tries,
        reply: result.kind === 'unreachable' ? null : result.reply,
        error: result.kind === 'unreachable' ? result.error : undefined,
        state,
        // what to expect next, and what to check, for whoever reads the log while the listener is down
        nextTryInMs: state === 'waiting' ? delay : undefined,
        hint:
          state === 'waiting' || state === 'gave_up'
            ? `the receiver at ${host}:${port} did not take the report: check that Rebound's inbound listener runs there (REBOUND_INBOUND_LISTEN)${state === 'gave_up' ? '; the sink has stopped trying' : ''}`
            : undefined,
      });
    } catch {
      // a failing log sink must not stop the reports
    }
  }
}
