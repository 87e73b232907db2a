// Runs the bounce simulator as a process: `node dist/src/sink/main.js [--host H] [--port P]
// [--control-port C]` (the rebound CLI may wrap runSink too).

import { startSink, type BounceSink } from './server';

/** Which recipient local part produces which reply; '+tag' may follow any of them. */
export const SCENARIO_HELP: { localPart: string; reply: string }[] = [
  { localPart: 'anything else, accept*, ok*', reply: '250 2.1.5 Recipient OK; after DATA 250 2.0.0 Ok: queued as <id>' },
  { localPart: 'greylist, greylist-N', reply: '450 4.2.0 ... Greylisted, try again in N seconds (first attempt), then 250' },
  { localPart: 'full, mailbox-full', reply: '452 4.2.2 <addr>: mailbox full, over quota (always)' },
  { localPart: 'full-K', reply: '452 4.2.2 <addr>: mailbox full, over quota (first K RCPTs of the address), then 250' },
  { localPart: 'soft-K, softK', reply: '451 4.3.0 Temporary local problem, please try again later (first K attempts), then 250' },
  { localPart: 'ratelimit, rate-limit', reply: '421 4.7.0 Too many messages, slow down (always; the server closes the connection)' },
  { localPart: 'ratelimit-ip', reply: "421 4.7.28 ... mail sent from your IP address has been temporarily rate limited (Gmail's sender rate limit; closes the connection)" },
  { localPart: 'slow-MS', reply: '250 2.1.5 Recipient OK, held back MS milliseconds (faults land inside the transaction)' },
  { localPart: 'unknown, nouser', reply: '550 5.1.1 <addr>: Recipient address rejected: User unknown' },
  { localPart: 'toolarge, too-large', reply: 'RCPT 250, then 552 5.3.4 Message size exceeds fixed limit after DATA (whole transaction)' },
  { localPart: 'blocked, policy', reply: '554 5.7.1 <addr>: Relay access denied: message rejected due to policy' },
  { localPart: 'drop', reply: 'connection destroyed at RCPT (no reply)' },
];

export function scenarioTable(): string {
  const width = Math.max(...SCENARIO_HELP.map((s) => s.localPart.length));
  return SCENARIO_HELP.map((s) => `  ${s.localPart.padEnd(width)}  ${s.reply}`).join('\n');
}

export async function runSink(opts: { host?: string; port?: number; controlPort?: number | null } = {}): Promise<BounceSink> {
  const sink = await startSink({ host: opts.host, port: opts.port, controlPort: opts.controlPort ?? null });
  const control = sink.controlPort === null ? null : `http://${sink.host}:${sink.controlPort}`;
  process.stdout.write(JSON.stringify({ msg: 'sink listening', smtp: sink.url, control }) + '\n');
  process.stdout.write(
    `Recipient local part -> reply (state per whole address; "+tag" is ignored for the scenario):\n${scenarioTable()}\n`,
  );
  let closing = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (closing) return;
    closing = true;
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    sink.close().then(
      () => process.stdout.write(JSON.stringify({ msg: 'sink closed', signal }) + '\n'),
      (err: unknown) => {
        process.stderr.write(JSON.stringify({ msg: 'sink close failed', error: String(err) }) + '\n');
        process.exitCode = 1;
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  return sink;
}

function parseArgs(argv: string[]): { host?: string; port?: number; controlPort?: number | null } {
  const out: { host?: string; port?: number; controlPort?: number | null } = {};
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.split('=', 2) as [string, string | undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    const port = (v: string): number => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`${flag}: not a port: ${v}`);
      return n;
    };
    if (flag === '--host') out.host = value();
    else if (flag === '--port') out.port = port(value());
    else if (flag === '--control-port') out.controlPort = port(value());
    else throw new Error(`unknown option ${flag} (use --host, --port, --control-port)`);
  }
  return out;
}

if (require.main === module) {
  try {
    runSink(parseArgs(process.argv.slice(2))).catch((err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    });
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 2;
  }
}
