// The `rebound sink` command: its options, the scenario list its --help shows (from the table in
// src/sink/scenarios.ts) and runSink(), which starts the bounce simulator as a long-running
// process until SIGINT/SIGTERM. src/cli/main.ts mounts the command; `node dist/src/sink/main.js`
// runs the same command on its own. Loads the SMTP server only when the command runs.
// README section "The bounce simulator".

import { Command, InvalidArgumentError } from 'commander';
import { logger } from '../log';
import { parseReportTo } from './report-to';
import { parseRateLimit, type RateLimit } from './rate-window';
import { SCENARIO_HELP_HEADING, scenarioTable } from './scenarios';
import type { BounceSink } from './server';

export interface RunSinkOptions {
  host?: string;
  port?: number;
  /** HTTP control port; null or absent = off. */
  controlPort?: number | null;
  /** host:port the late reports are mailed to (Rebound's inbound listener); null or absent = none. */
  reportTo?: string | null;
  /** Answer like a rate-limiting MX: past `after` recipients in a window, 421 4.7.28 (src/sink/rate-window.ts). */
  rateLimit?: RateLimit | null;
}

/** Starts the sink, logs where it listens, prints the scenario list, and stops it on a signal. */
export async function runSink(opts: RunSinkOptions = {}): Promise<BounceSink> {
  const { startSink } = await import('./server.js');
  const sink = await startSink({ host: opts.host, port: opts.port, controlPort: opts.controlPort ?? null, reportTo: opts.reportTo ?? null, rateLimit: opts.rateLimit ?? null });
  const control = sink.controlPort === null ? null : `http://${sink.host}:${sink.controlPort}`;
  // the table first: the logger writes asynchronously, so "sink listening" comes out after it
  process.stdout.write(`${SCENARIO_HELP_HEADING}\n${scenarioTable()}\n`);
  logger.info({ smtp: sink.url, control, reportTo: opts.reportTo ?? null, rateLimit: opts.rateLimit ?? null }, 'sink listening');
  let closing = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (closing) return;
    closing = true;
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    sink.close().then(
      () => logger.info({ signal }, 'sink closed'),
      (err: unknown) => {
        logger.error({ error: String(err) }, 'sink close failed');
        process.exitCode = 1;
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  return sink;
}

/** `--report-to host:port`, checked when the command line is read. */
function reportTo(value: string): string {
  try {
    parseReportTo(value);
  } catch {
    throw new InvalidArgumentError('not host:port (e.g. 127.0.0.1:2527, the inbound listener).');
  }
  return value.trim();
}

/** `--rate-limit N/DURATION`, checked when the command line is read. */
function rateLimit(value: string): RateLimit {
  try {
    return parseRateLimit(value);
  } catch (err) {
    throw new InvalidArgumentError(`${(err as Error).message}.`);
  }
}

function port(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('not a port (0-65535).');
  return n;
}

/** Gives `cmd` the sink's description, options, scenario help and action. */
export function defineSinkCommand(cmd: Command): Command {
  return cmd
    .description('run the bounce simulator: a real SMTP server answering by recipient local part')
    .option('--host <host>', 'interface', '127.0.0.1')
    .option('--port <port>', 'SMTP port', port, 2525)
    .option('--control-port <port>', 'HTTP port for GET /received, GET /duplicates, GET /reports, POST /reset', port, 2526)
    .option('--report-to <host:port>', "where bouncelater, delaylater and complain mail their reports (Rebound's inbound listener, REBOUND_INBOUND_LISTEN)", reportTo)
    .option('--rate-limit <n/duration>', 'answer like an MX that limits the sending IP: past N recipients within the window (e.g. 20/60s), every RCPT gets 421 4.7.28 until it ends', rateLimit)
    .addHelpText('after', `\n${SCENARIO_HELP_HEADING}\n${scenarioTable()}`)
    .action(async (o: { host: string; port: number; controlPort: number; reportTo?: string; rateLimit?: RateLimit }) => {
      await runSink({ host: o.host, port: o.port, controlPort: o.controlPort, reportTo: o.reportTo ?? null, rateLimit: o.rateLimit ?? null });
    });
}

if (require.main === module) {
  defineSinkCommand(new Command('rebound-sink'))
    .parseAsync(process.argv)
    .catch((err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    });
}
