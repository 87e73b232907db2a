// The suite's own PostgreSQL cluster, so that stopping it (`pg_ctl stop -m immediate`, what a
// crash looks like to clients) never touches the shared server on 5432 that other tests use.
//
// initdb refuses to run as root, so as root the cluster belongs to the `postgres` user: its
// directory is chowned to it and initdb/pg_ctl run through `runuser -u postgres --`. Without
// that user (or when initdb fails) there is no private cluster: the caller falls back to a
// database of its own on the shared server and skips the PostgreSQL faults.
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { freePort } from '../../src/dev/temporal-server';
import { signalGroup } from './processes';

const run = promisify(execFile);

function binDir(): string | null {
  const explicit = process.env.REBOUND_PG_BIN;
  if (explicit) return explicit;
  const debian = '/usr/lib/postgresql/15/bin';
  return existsSync(path.join(debian, 'pg_ctl')) ? debian : null;
}

const tool = (name: string): string => {
  const dir = binDir();
  return dir ? path.join(dir, name) : name;
};

function postgresUser(): { uid: number; gid: number } | null {
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    return Number.isInteger(uid) && Number.isInteger(gid) ? { uid, gid } : null;
  } catch {
    return null;
  }
}

export class PrivateCluster {
  readonly url: string;
  readonly dataDir: string;
  readonly logFile: string;
  private up = false;
  private closed = false;
  /** The postmaster of the last start, for the leak check after cleanup. */
  postmasterPid: number | null = null;

  private constructor(
    readonly dir: string,
    readonly port: number,
    private readonly asPostgres: boolean,
  ) {
    this.dataDir = path.join(dir, 'data');
    this.logFile = path.join(dir, 'postgres.log');
    this.url = `postgres://postgres@127.0.0.1:${port}/rebound`;
  }

  private command(name: string, args: string[]): [string, string[]] {
    return this.asPostgres ? ['runuser', ['-u', 'postgres', '--', tool(name), ...args]] : [tool(name), args];
  }

  /**
   * initdb into `dir` (created here). Returns null, with the reason, when no cluster can be
   * made on this machine.
   */
  static async create(dir: string): Promise<{ cluster: PrivateCluster } | { cluster: null; reason: string }> {
    const root = process.getuid?.() === 0;
    const owner = root ? postgresUser() : null;
    if (root && !owner) return { cluster: null, reason: 'running as root and there is no `postgres` user to own a cluster' };
    mkdirSync(dir, { recursive: true });
    if (owner) {
      // The temp dir above is root's and 0700: the postgres user must be able to pass through it.
      chmodSync(path.dirname(dir), 0o711);
      chownSync(dir, owner.uid, owner.gid);
    }
    const cluster = new PrivateCluster(dir, await freePort(), owner !== null);
    try {
      const [cmd, args] = cluster.command('initdb', ['-D', cluster.dataDir, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--no-sync']);
      await run(cmd, args);
    } catch (err) {
      return { cluster: null, reason: `initdb failed: ${(err as Error).message.split('\n')[0]}` };
    }
    return { cluster };
  }

  /** pg_ctl start, waiting until it accepts connections (after an immediate stop: crash recovery first). */
  async start(): Promise<void> {
    if (this.closed) throw new Error('the cluster has been stopped for good');
    const options = [
      `-p ${this.port}`,
      // Its own socket directory: the shared server's /var/run/postgresql is none of our business.
      `-k ${this.dir}`,
      '-c listen_addresses=127.0.0.1',
      // fsync off loses nothing when only the server processes die (the kernel keeps the
      // writes); synchronous_commit stays on, so a commit that returned is in the WAL when the
      // server is stopped with -m immediate, exactly as it would be in production.
      '-c fsync=off',
      '-c max_connections=200',
    ].join(' ');
    const [cmd, args] = this.command('pg_ctl', ['-D', this.dataDir, '-l', this.logFile, '-w', '-t', '60', '-o', options, 'start']);
    await run(cmd, args);
    this.up = true;
    this.postmasterPid = Number(readFileSync(path.join(this.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]) || null;
    await this.waitAccepting(30_000);
  }

  private async waitAccepting(timeoutMs: number): Promise<void> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const client = new Client({ connectionString: this.url.replace(/\/rebound$/, '/postgres'), connectionTimeoutMillis: 2000 });
      try {
        await client.connect();
        return;
      } catch (err) {
        if (Date.now() > until) throw err;
        await new Promise((r) => setTimeout(r, 200));
      } finally {
        await client.end().catch(() => undefined);
      }
    }
  }

  /** The fault: every backend dies at once, no checkpoint, clients see their connections drop. */
  async stopImmediate(): Promise<void> {
    const [cmd, args] = this.command('pg_ctl', ['-D', this.dataDir, '-m', 'immediate', '-w', '-t', '60', 'stop']);
    await run(cmd, args);
    this.up = false;
  }

  async stop(): Promise<void> {
    this.closed = true;
    if (!this.up && !existsSync(path.join(this.dataDir, 'postmaster.pid'))) return;
    try {
      await this.stopImmediate();
    } catch {
      this.stopSync();
    }
  }

  /**
   * For the exit hook: pg_ctl synchronously, then the postmaster's group by its pid file (pg_ctl
   * starts the postmaster with setsid, so its pid is its group).
   */
  stopSync(): void {
    this.closed = true;
    const pidFile = path.join(this.dataDir, 'postmaster.pid');
    if (!existsSync(pidFile)) return;
    try {
      const [cmd, args] = this.command('pg_ctl', ['-D', this.dataDir, '-m', 'immediate', '-w', '-t', '20', 'stop']);
      execFileSync(cmd, args, { stdio: 'ignore' });
    } catch {
      const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
      if (Number.isInteger(pid) && pid > 1) signalGroup(pid, 'SIGKILL');
    }
    this.up = false;
  }
}
