// The Rebound worker processes (`node bin/rebound.js worker`), by slot: a slot keeps its log
// file across restarts, and a fault replaces the process in a slot. A worker that exits without
// the suite killing it is noted and restarted, so one crash does not quietly leave the run
// with fewer workers than it says.
import { closeSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../src/dev/tools';
import { WORKER_NODE_FLAGS } from '../../src/worker/worker';
import type { Say } from '../../src/dev/cleanup';
import { spawnGroup, type ProcessGroup } from './processes';

const BIN = path.join(PROJECT_ROOT, 'bin/rebound.js');

export interface WorkerEnv {
  temporalAddress: string;
  databaseUrl: string;
  smtpUrl: string;
  taskQueue: string;
  logLevel: string;
  /** More variables for the surfaces the plan reaches (surfaces.ts): the return path, private webhook URLs. */
  extra?: Record<string, string>;
}

export interface UnexpectedExit {
  slot: number;
  pid: number;
  at: number;
  code: number | null;
  signal: string | null;
}

interface Slot {
  index: number;
  logFile: string;
  group: ProcessGroup | null;
  /** Set while the suite itself kills or stops the slot's process. */
  expectingExit: boolean;
  starting: Promise<void> | null;
}

export class Workers {
  private readonly slots: Slot[];
  readonly unexpectedExits: UnexpectedExit[] = [];
  private closing = false;

  constructor(
    private readonly dir: string,
    count: number,
    private readonly env: WorkerEnv,
    private readonly say: Say,
  ) {
    this.slots = Array.from({ length: count }, (_, index) => ({
      index,
      logFile: path.join(dir, `worker-${index + 1}.log`),
      group: null,
      expectingExit: false,
      starting: null,
    }));
  }

  get count(): number {
    return this.slots.length;
  }

  pids(): number[] {
    return this.slots.flatMap((s) => (s.group?.running ? [s.group.pid] : []));
  }

  slotOfPid(pid: number): number | null {
    return this.slots.find((s) => s.group?.running && s.group.pid === pid)?.index ?? null;
  }

  pidOf(slot: number): number | null {
    const g = this.slots[slot]!.group;
    return g?.running ? g.pid : null;
  }

  startAll(): Promise<void> {
    return Promise.all(this.slots.map((s) => this.start(s.index))).then(() => undefined);
  }

  /** Starts the slot's worker and waits for its "worker ready" line (the bundle is built first). */
  start(slot: number): Promise<void> {
    const s = this.slots[slot]!;
    s.starting ??= this.spawn(s).finally(() => (s.starting = null));
    return s.starting;
  }

  private async spawn(s: Slot): Promise<void> {
    // A fault still restarting a worker while Ctrl-C stops the stack must not leave one behind.
    if (this.closing) throw new Error('the workers are being stopped');
    if (s.group?.running) return;
    const fd = openSync(s.logFile, 'a');
    writeSync(fd, `--- start at ${new Date().toISOString()}\n`);
    const offset = statSync(s.logFile).size;
    const group = spawnGroup(`worker-${s.index + 1}`, process.execPath, [...WORKER_NODE_FLAGS, BIN, 'worker'], {
      // Not the project root: a rebound.config.json there must not change the suite's schedules.
      cwd: this.dir,
      stdio: ['ignore', fd, fd],
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: this.env.temporalAddress,
        DATABASE_URL: this.env.databaseUrl,
        REBOUND_SMTP_URL: this.env.smtpUrl,
        REBOUND_TASK_QUEUE: this.env.taskQueue,
        REBOUND_LOG_LEVEL: this.env.logLevel,
        REBOUND_CONFIG: '',
        ...this.env.extra,
      },
    });
    closeSync(fd);
    s.group = group;
    s.expectingExit = false;
    void group.exited.then((exit) => {
      if (s.expectingExit || this.closing || s.group !== group) return;
      this.unexpectedExits.push({ slot: s.index, pid: group.pid, at: Date.now(), code: exit.code, signal: exit.signal });
      this.say(`worker ${s.index + 1} (pid ${group.pid}) exited by itself (code ${exit.code}, signal ${exit.signal}); restarting it`);
      setTimeout(() => void this.start(s.index).catch((err) => this.say(`worker ${s.index + 1} restart failed: ${(err as Error).message}`)), 1000);
    });
    const until = Date.now() + 120_000;
    for (;;) {
      const log = readFileSync(s.logFile).subarray(offset).toString('utf8');
      if (log.includes('"worker ready"')) return;
      if (!group.running) throw new Error(`worker ${s.index + 1} exited while starting; see ${s.logFile}:\n${log.slice(-2000)}`);
      if (Date.now() > until) throw new Error(`worker ${s.index + 1} was not ready within 120 s; see ${s.logFile}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** The fault: kill -9 of the slot's process group. Returns the pid killed, or null if none ran. */
  async kill9(slot: number): Promise<number | null> {
    const s = this.slots[slot]!;
    const g = s.group;
    if (!g?.running) return null;
    s.expectingExit = true;
    await g.kill9();
    return g.pid;
  }

  pause(slot: number): number | null {
    const g = this.slots[slot]!.group;
    return g?.signal('SIGSTOP') ? g.pid : null;
  }

  resume(slot: number): void {
    this.slots[slot]!.group?.signal('SIGCONT');
  }

  async stopAll(): Promise<void> {
    this.closing = true;
    await Promise.all(
      this.slots.map(async (s) => {
        s.expectingExit = true;
        await s.group?.stop(10_000);
      }),
    );
  }
}
