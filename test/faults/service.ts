// A Rebound service the suite runs besides the workers — `rebound api`, `rebound inbound` — as a
// child process in its own group (processes.ts), with a log file kept across restarts, started
// as the workers are (node bin/rebound.js COMMAND) and ready once it logs its ready line.
// A fault kills it with -9 and starts it again on the same port.
import { closeSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../src/dev/tools';
import { spawnGroup, type ProcessGroup } from './processes';

const BIN = path.join(PROJECT_ROOT, 'bin/rebound.js');

export class Service {
  readonly logFile: string;
  private group: ProcessGroup | null = null;
  private closed = false;
  starts = 0;

  constructor(
    readonly name: string,
    private readonly dir: string,
    private readonly command: string,
    private readonly env: Record<string, string>,
    /** The pino `msg` that says it serves. */
    private readonly readyMsg: string,
  ) {
    this.logFile = path.join(dir, `${name}.log`);
  }

  get pid(): number | null {
    return this.group?.running ? this.group.pid : null;
  }

  async start(timeoutMs = 60_000): Promise<void> {
    if (this.closed) throw new Error(`${this.name} has been stopped for good`);
    if (this.group?.running) return;
    const fd = openSync(this.logFile, 'a');
    writeSync(fd, `--- start ${++this.starts} at ${new Date().toISOString()}\n`);
    const offset = statSync(this.logFile).size;
    const group = spawnGroup(this.name, process.execPath, [BIN, this.command], {
      // Not the project root: a rebound.config.json there must not change what the suite runs.
      cwd: this.dir,
      stdio: ['ignore', fd, fd],
      env: { ...process.env, REBOUND_CONFIG: '', REBOUND_LOG_LEVEL: 'info', ...this.env },
    });
    closeSync(fd);
    this.group = group;
    const until = Date.now() + timeoutMs;
    for (;;) {
      const log = readFileSync(this.logFile).subarray(offset).toString('utf8');
      if (log.includes(`"msg":"${this.readyMsg}`)) return;
      if (!group.running) throw new Error(`${this.name} exited while starting; see ${this.logFile}:\n${log.slice(-2000)}`);
      if (Date.now() > until) throw new Error(`${this.name} was not ready within ${timeoutMs / 1000} s; see ${this.logFile}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** The fault: kill -9 of its group. Returns the pid killed, or null when none ran. */
  async kill9(): Promise<number | null> {
    const g = this.group;
    if (!g?.running) return null;
    await g.kill9();
    return g.pid;
  }

  async stop(): Promise<void> {
    this.closed = true;
    await this.group?.stop(10_000);
  }
}
