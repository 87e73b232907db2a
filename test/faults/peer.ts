// The receiving SMTP server: `rebound sink` as a child process on a fixed loopback port, and the
// two ways the suite takes it away: stopped (connection refused) and replaced by a black hole
// (a listener that accepts and never says a word).
//
// The sink's own counters live in its memory and restart with it, so the suite counts from its
// transaction log instead: one JSON line per SMTP transaction on stdout (a pino line with
// `msg: "sink transaction"` and the SinkTransactionLog fields at the top level), collected here
// across every run of the sink, each stamped with the time it arrived (within a millisecond or so
// of the sink's final 250: it hands the line to its logger just before sending the reply).
import { closeSync, openSync, writeSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { PROJECT_ROOT } from '../../src/dev/tools';
import type { SinkTransactionLog } from '../../src/sink/server';
import { spawnGroup, type ProcessGroup } from './processes';

const BIN = path.join(PROJECT_ROOT, 'bin/rebound.js');

export interface PeerTransaction extends SinkTransactionLog {
  /** When the suite read the line (ms since epoch, this process's clock). */
  seenAt: number;
  /** Which run of the sink logged it (1-based); transaction numbers restart with each run. */
  sinkRun: number;
}

/** One try of a late report the sink mailed to the inbound listener (its `sink report` log line). */
export interface PeerReport {
  report: number;
  kind: string;
  /** The Message-ID of the message reported on. */
  messageId: string | null;
  reportMessageId: string;
  try: number;
  reply: string | null;
  error?: string;
  /** waiting (tried again later), sent, refused, gave_up. */
  state: string;
  seenAt: number;
  sinkRun: number;
}

export class Peer {
  readonly url: string;
  readonly logFile: string;
  readonly transactions: PeerTransaction[] = [];
  readonly reports: PeerReport[] = [];
  private group: ProcessGroup | null = null;
  private runs = 0;
  private hole: net.Server | null = null;
  private disposed = false;
  /** Connections the black hole accepted; they stay silent until the client gives up. */
  private readonly swallowed = new Set<net.Socket>();

  constructor(
    readonly dir: string,
    readonly port: number,
    readonly controlPort: number,
    /** host:port of the inbound listener the late reports go to (the sink's --report-to), or null. */
    readonly reportTo: string | null = null,
  ) {
    this.url = `smtp://127.0.0.1:${port}`;
    this.logFile = path.join(dir, 'sink.log');
  }

  get pid(): number | null {
    return this.group?.running ? this.group.pid : null;
  }

  /** Starts the sink on the peer's port and waits for its "sink listening" line. */
  async start(): Promise<void> {
    if (this.disposed) throw new Error('the peer has been stopped for good');
    if (this.group?.running) throw new Error('the sink is already running');
    const run = ++this.runs;
    const log = openSync(this.logFile, 'a');
    writeSync(log, `--- sink run ${run} at ${new Date().toISOString()}\n`);
    const group = spawnGroup('sink', process.execPath, [BIN, 'sink', '--port', String(this.port), '--control-port', String(this.controlPort), ...(this.reportTo ? ['--report-to', this.reportTo] : [])], {
      cwd: this.dir,
      // the lines read below are the sink's info-level log lines: a quieter REBOUND_LOG_LEVEL in
      // the suite's environment must not hide them
      env: { ...process.env, REBOUND_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.group = group;
    let pending = '';
    let ready!: () => void;
    const listening = new Promise<void>((resolve) => (ready = resolve));
    group.child.stdout!.on('data', (chunk: Buffer) => {
      const seenAt = Date.now();
      writeSync(log, chunk);
      pending += chunk.toString('utf8');
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        if (!line.startsWith('{')) continue;
        let entry: { msg?: string } & Partial<SinkTransactionLog>;
        try {
          entry = JSON.parse(line);
        } catch {
          continue;
        }
        if (entry.msg === 'sink listening') ready();
        else if (entry.msg === 'sink transaction') this.transactions.push({ ...(entry as SinkTransactionLog), seenAt, sinkRun: run });
        else if (entry.msg === 'sink report') this.reports.push({ ...(entry as unknown as PeerReport), seenAt, sinkRun: run });
      }
    });
    group.child.stderr!.on('data', (chunk: Buffer) => writeSync(log, chunk));
    // 'close', not 'exit': the last lines of a sink that is stopping may still be in the pipe.
    group.child.once('close', () => closeSync(log));
    const exited = group.exited.then((e) => {
      throw new Error(`the sink exited while starting (code ${e.code}, signal ${e.signal}); see ${this.logFile}`);
    });
    const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the sink did not start within 30 s')), 30_000).unref());
    await Promise.race([listening, exited, timeout]);
  }

  /** Relay down: the sink stops (SIGTERM: it closes its connections) and the port refuses. */
  async stop(): Promise<void> {
    await this.group?.stop(5000);
  }

  /** The black hole on the peer's port; the sink must be stopped first. */
  async blackHoleOn(): Promise<void> {
    const hole = net.createServer((socket) => {
      this.swallowed.add(socket);
      socket.on('error', () => undefined);
      socket.once('close', () => this.swallowed.delete(socket));
      // Read and drop whatever the client says; never write a byte.
      socket.resume();
    });
    await new Promise<void>((resolve, reject) => {
      hole.once('error', reject);
      hole.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.hole = hole;
  }

  /**
   * Stops listening. The connections already swallowed stay open and silent, as they would
   * behind a router dropping packets: the client's own timeout ends them.
   */
  async blackHoleOff(): Promise<void> {
    // close() frees the port at once; its callback would wait for the swallowed connections.
    this.hole?.close();
    this.hole = null;
  }

  get swallowedConnections(): number {
    return this.swallowed.size;
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    await this.blackHoleOff();
    for (const s of this.swallowed) s.destroy();
    await this.stop();
  }
}
