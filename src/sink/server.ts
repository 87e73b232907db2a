// The bounce simulator put together: startSink() wires the ledger (src/sink/ledger.ts), the SMTP
// server (src/sink/smtp.ts), the late reports' mailer (src/sink/reporter.ts, when reportTo is
// given) and, when asked for, the HTTP control port (src/sink/control.ts), and logs every
// transaction and every report's try with the project's logger (src/log.ts). The scenarios themselves are a
// table in src/sink/scenarios.ts. README section "The bounce simulator".
//
// Log lines: one pino JSON object per line, `msg: "sink transaction"` and the SinkTransactionLog
// fields at the top level; the fault suite reads them from the sink's stdout (test/faults/peer.ts).

import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { synchronousLogger } from '../log';
import { closeControl, startControl } from './control';
import { SinkLedger, type LateReport, type ReceivedMessage, type SinkTransactionLog } from './ledger';
import type { RateLimit } from './rate-window';
import type { ReportRetryPolicy } from './report-retry';
import { parseReportTo } from './report-to';
import { LateReporter } from './reporter';
import { closeSmtp, createSmtpServer, listenSmtp } from './smtp';

export { extractMessageId, type LateReport, type LateReportState, type LateReportTry, type ReceivedMessage, type SinkTransactionLog } from './ledger';
export type { ReportRetryPolicy } from './report-retry';
export type { RateLimit } from './rate-window';
export { MAX_MESSAGE_BYTES } from './smtp';
export { DEFAULT_GREYLIST_HINT_SECONDS, scenarioFor, type Scenario, type ScenarioKind } from './scenarios';

export interface SinkOptions {
  /** Interface to bind, default 127.0.0.1. */
  host?: string;
  /** SMTP port, default 2525; 0 = random. */
  port?: number;
  /** HTTP control port; default null = off; 0 = random. */
  controlPort?: number | null;
  /**
   * Structured log sink, called with `{ msg: 'sink transaction', ...SinkTransactionLog }` per
   * transaction and `{ msg: 'sink smtp error', error, code }`; default: the project's logger.
   */
  log?: (entry: object) => void;
  /** Greylisting hint when the local part gives none (`greylist` vs `greylist-30`): default 60. */
  greylistHintSeconds?: number;
  /**
   * host:port the late reports (bouncelater, delaylater, complain) are mailed to: Rebound's
   * inbound listener (REBOUND_INBOUND_LISTEN). Absent or null: those scenarios only accept, and
   * each report is recorded as `no_destination`.
   */
  reportTo?: string | null;
  /** The sink's host name in its reports (Reporting-MTA, MAILER-DAEMON@...); default: this machine's. */
  reportingHost?: string;
  /** How a deferred report is tried again; default 1 s doubling to 15 s, for 2 minutes. */
  reportRetry?: ReportRetryPolicy;
  /**
   * Answer like a provider's MX that limits the sending IP: past `after` recipients in a window
   * of `windowMs`, every RCPT gets `421 4.7.28` until the window ends (src/sink/rate-window.ts;
   * the direct demo's Google-named MX). Absent or null: none.
   */
  rateLimit?: RateLimit | null;
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
  /** Every late report owed, with its state and each try's reply (`sent` once the receiver took it). */
  reports(): LateReport[];
  /**
   * Forget received messages, transactions, attempt counters (greylist/soft-K state) and late
   * reports (those still waiting are not sent). A transaction
   * still open on a live connection is logged when it ends, so it can appear after a reset.
   */
  reset(): void;
  close(): Promise<void>;
}

/**
 * The default log: one pino line per entry, its fields at the top level, `msg` as the message;
 * written synchronously, so a transaction's line is out before its 250 (see synchronousLogger).
 */
function defaultLog(): (entry: object) => void {
  const logger = synchronousLogger();
  return (entry) => {
    const { msg, ...fields } = entry as { msg?: string };
    if (msg === 'sink smtp error') logger.error(fields, msg);
    else if (msg === 'sink report' && (fields as { state?: string }).state !== 'sent') logger.warn(fields, msg);
    else logger.info(fields, msg);
  };
}

export async function startSink(opts: SinkOptions = {}): Promise<BounceSink> {
  const host = opts.host ?? '127.0.0.1';
  const log = opts.log ?? defaultLog();
  const destination = opts.reportTo === undefined || opts.reportTo === null ? null : parseReportTo(opts.reportTo);
  let reporter: LateReporter | null = null;
  const ledger = new SinkLedger({
    greylistHintSeconds: opts.greylistHintSeconds,
    rateLimit: opts.rateLimit ?? null,
    onTransaction: (entry) => log({ msg: 'sink transaction', ...entry }),
    reportTo: destination && `${destination.host.includes(':') ? `[${destination.host}]` : destination.host}:${destination.port}`,
    onReport: (report, headers) => reporter?.schedule(report, headers),
  });
  if (destination) {
    reporter = new LateReporter({ destination, reportingHost: opts.reportingHost ?? os.hostname(), ledger, retry: opts.reportRetry, log });
  }

  const server = createSmtpServer(ledger);
  server.on('error', (err: Error) => {
    try {
      log({ msg: 'sink smtp error', error: err.message, code: (err as NodeJS.ErrnoException).code ?? null });
    } catch {
      // ignore
    }
  });
  await listenSmtp(server, opts.port ?? 2525, host);
  const port = (server.server.address() as AddressInfo).port;

  let control: http.Server | null = null;
  const sink: BounceSink = {
    host,
    port,
    controlPort: null,
    url: `smtp://${host.includes(':') ? `[${host}]` : host}:${port}`,
    received: () => ledger.received(),
    transactions: () => ledger.transactions(),
    deliveries: (messageId, recipient) => ledger.deliveries(messageId, recipient),
    duplicates: () => ledger.duplicates(),
    reports: () => ledger.reports(),
    reset: () => {
      reporter?.cancelAll();
      ledger.reset();
    },
    close: async () => {
      reporter?.cancelAll();
      await Promise.all([closeSmtp(server), control ? closeControl(control) : Promise.resolve()]);
    },
  };

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
