// The bounce simulator as a child process of the bench, so its CPU is its own and the bench
// process (client SDK, nodemailer for the raw path) does not share a thread with it. Logs
// nothing per transaction; prints one JSON line with its ports, then serves until SIGTERM.
// Its first argument is host:port of the bench's inbound listener, where the late reports of
// bouncelater and the like go (scenario 8), or "" for none; its second, the SMTP port (scenario
// 9's MX host).
import { startSink } from '../src/sink/server';

async function main(): Promise<void> {
  const reportTo = process.argv[2] || null;
  // A second argument: the port to listen on (scenario 9's MX, on REBOUND_MX_PORT); else any free one.
  const port = Number(process.argv[3] ?? 0);
  const sink = await startSink({ host: '127.0.0.1', port, controlPort: 0, reportTo, reportingHost: 'sink.rebound.test', log: () => undefined });
  process.stdout.write(JSON.stringify({ ready: true, smtp: sink.url, controlPort: sink.controlPort }) + '\n');
  const stop = (): void => {
    sink.close().finally(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // The bench going away without a signal (crash, SIGKILL) closes this pipe: stop with it.
  process.stdin.on('end', stop);
  process.stdin.on('error', stop);
  process.stdin.resume();
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
