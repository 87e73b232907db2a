// The suite's own Temporal dev server: a SQLite file in the temp dir, a free loopback port, no
// UI. The CLI is spawned here rather than through startDevServer (src/dev/temporal-server.ts)
// because a fault is `kill -9` of the server and a restart on the same file and port, and that
// needs the server in a process group of its own.
import { closeSync, openSync, writeSync } from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { temporalCliPath } from '../../src/dev/tools';
import { SEARCH_ATTRIBUTES } from '../../src/delivery/contract';
import { spawnGroup, type ProcessGroup } from './processes';

export class TemporalServer {
  readonly address: string;
  readonly dbFile: string;
  readonly logFile: string;
  private group: ProcessGroup | null = null;
  private starts = 0;
  private stopped = false;

  constructor(
    readonly dir: string,
    readonly port: number,
  ) {
    this.address = `127.0.0.1:${port}`;
    this.dbFile = path.join(dir, 'temporal.sqlite');
    this.logFile = path.join(dir, 'temporal.log');
  }

  get pid(): number | null {
    return this.group?.running ? this.group.pid : null;
  }

  private args(): string[] {
    const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(this.port), '--headless', '--log-level', 'warn'];
    // WAL as startDevServer does; synchronous=OFF loses nothing on a process kill (the OS still
    // holds the writes), only on a machine crash, which this suite does not simulate.
    args.push('--db-filename', this.dbFile, '--sqlite-pragma', 'journal_mode=WAL', '--sqlite-pragma', 'synchronous=OFF');
    // Registered on every start: the CLI keeps those already in the file.
    for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES)) args.push('--search-attribute', `${name}=${type}`);
    return args;
  }

  /** Starts the server (first start or restart on the same file and port) and waits until it serves. */
  async start(timeoutMs = 60_000): Promise<void> {
    if (this.stopped) throw new Error('the Temporal server has been stopped for good');
    if (this.group?.running) throw new Error('the Temporal server is already running');
    const fd = openSync(this.logFile, 'a');
    writeSync(fd, `--- start ${++this.starts} at ${new Date().toISOString()}\n`);
    const group = spawnGroup('temporal', temporalCliPath(), this.args(), { stdio: ['ignore', fd, fd] });
    closeSync(fd);
    this.group = group;
    const until = Date.now() + timeoutMs;
    let last: unknown;
    while (Date.now() < until) {
      if (!group.running) throw new Error(`the Temporal server exited while starting; see ${this.logFile}`);
      try {
        const connection = await Connection.connect({ address: this.address, connectTimeout: 1000 });
        try {
          await connection.workflowService.getSystemInfo({});
          // The frontend answers before the namespace is loaded after a restart.
          await connection.workflowService.describeNamespace({ namespace: 'default' });
          return;
        } finally {
          await connection.close();
        }
      } catch (err) {
        last = err;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    throw new Error(`the Temporal server did not serve on ${this.address} within ${timeoutMs / 1000} s: ${String(last)}`);
  }

  /** The fault: kill -9, no shutdown of any kind. */
  async kill9(): Promise<void> {
    await this.group?.kill9();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.group?.stop(10_000);
  }
}
