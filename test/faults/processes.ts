// Child processes of the fault suite, each the leader of its own process group.
//
// Why groups: a fault is "kill -9 this service", and a service may be more than one process
// (a shell wrapper, a CLI that forks). Signalling -pid reaches all of them at once, and a child
// in its own group does not get the terminal's Ctrl-C, so only this file decides when it dies.
// The price is that nothing else will stop them either: every group is registered here and
// SIGKILLed synchronously when this process exits, however it exits.
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const live = new Set<ProcessGroup>();

/** Sends `signal` to the whole group; false when the group no longer exists. */
export function signalGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
}

export class ProcessGroup {
  readonly pid: number;
  readonly exited: Promise<Exit>;
  private exit: Exit | null = null;

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    if (child.pid === undefined) throw new Error(`${name} did not start`);
    this.pid = child.pid;
    live.add(this);
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exit = { code, signal };
        // The leader is gone; anything it left in its group goes with it.
        signalGroup(this.pid, 'SIGKILL');
        live.delete(this);
        resolve(this.exit);
      });
    });
  }

  get running(): boolean {
    return this.exit === null;
  }

  signal(signal: NodeJS.Signals): boolean {
    return this.running && signalGroup(this.pid, signal);
  }

  /** kill -9 of the whole group; resolves once the leader has been reaped. */
  async kill9(): Promise<Exit> {
    this.signal('SIGKILL');
    return this.exited;
  }

  /** SIGTERM, then SIGKILL after `graceMs`. A stopped (SIGSTOPped) group is continued first. */
  async stop(graceMs = 5000): Promise<Exit> {
    if (!this.running) return this.exited;
    this.signal('SIGCONT');
    this.signal('SIGTERM');
    const timer = setTimeout(() => this.signal('SIGKILL'), graceMs);
    const exit = await this.exited;
    clearTimeout(timer);
    return exit;
  }
}

export function spawnGroup(
  name: string,
  command: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; stdio?: StdioOptions } = {},
): ProcessGroup {
  const child = spawn(command, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: opts.stdio ?? 'ignore', detached: true });
  // A spawn error (ENOENT) arrives as an event; without a listener it would crash the suite.
  child.once('error', () => undefined);
  return new ProcessGroup(name, child);
}

/** Every group still registered: what a leak check or the exit hook must kill. */
export function liveGroups(): ProcessGroup[] {
  return [...live];
}

/** Last resort on exit: nothing this suite started may outlive it. */
export function killAllGroupsSync(): void {
  for (const g of live) {
    signalGroup(g.pid, 'SIGCONT');
    signalGroup(g.pid, 'SIGKILL');
  }
}

process.on('exit', killAllGroupsSync);
