// Makes sure the database at a URL exists and is migrated: starts the local PostgreSQL cluster
// when it is installed but down, creates the database, applies the migrations in migrations/.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { redactUrl } from '../config';

const MIGRATIONS_DIR = path.resolve(__dirname, '../../../migrations');
const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '']);

function maintenanceUrl(databaseUrl: string): { url: string; database: string; host: string } {
  const u = new URL(databaseUrl);
  const database = decodeURIComponent(u.pathname.replace(/^\//, ''));
  if (!database) throw new Error(`DATABASE_URL "${u.host}" names no database; add one, e.g. /rebound`);
  if (!/^[A-Za-z0-9_]+$/.test(database)) throw new Error(`database name "${database}" must be letters, digits and _`);
  u.pathname = '/postgres';
  return { url: u.toString(), database, host: u.hostname };
}

async function canConnect(url: string): Promise<Error | null> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    return null;
  } catch (err) {
    return err as Error;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Starts the Debian-style local cluster (`pg_ctlcluster VERSION main start`) if one is installed. */
function startLocalCluster(): boolean {
  const confDir = '/etc/postgresql';
  if (!existsSync(confDir)) return false;
  const versions = readdirSync(confDir).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
  for (const version of versions) {
    try {
      execFileSync('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'start'], { stdio: 'ignore' });
      return true;
    } catch {
      // already running, or not startable by this user: the connection check below decides
    }
  }
  return false;
}

async function waitForServer(url: string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  let lastError: Error | null = await canConnect(url);
  while (lastError && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 500));
    lastError = await canConnect(url);
  }
  if (lastError) throw lastError;
}

export async function ensureServer(databaseUrl: string): Promise<void> {
  const { url, host } = maintenanceUrl(databaseUrl);
  const firstError = await canConnect(url);
  if (!firstError) return;
  const code = (firstError as NodeJS.ErrnoException).code;
  if (!LOCAL_HOSTS.has(host) || (code !== 'ECONNREFUSED' && code !== 'ENOENT')) {
    throw new Error(`cannot reach PostgreSQL for ${redactUrl(databaseUrl)}: ${firstError.message}. Start it, or set DATABASE_URL.`);
  }
  if (!startLocalCluster()) {
    throw new Error(`PostgreSQL is not running on ${host} and no local cluster could be started; install PostgreSQL or set DATABASE_URL`);
  }
  await waitForServer(url, 30_000);
}

export async function ensureDatabase(databaseUrl: string): Promise<void> {
  const { url, database } = maintenanceUrl(databaseUrl);
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (exists.rowCount === 0) {
      try {
        await client.query(`CREATE DATABASE "${database}"`);
      } catch (err) {
        // Another process created it between our check and our create.
        if ((err as { code?: string }).code !== '42P04') throw err;
      }
    }
  } finally {
    await client.end();
  }
}

export async function migrate(databaseUrl: string, log: (msg: string) => void = () => undefined): Promise<string[]> {
  // node-pg-migrate is an ES module; a dynamic import keeps this file CommonJS.
  const { runner } = await import('node-pg-migrate');
  const applied = await runner({
    databaseUrl,
    dir: MIGRATIONS_DIR,
    direction: 'up',
    migrationsTable: 'pgmigrations',
    count: Infinity,
    advisoryLockMode: 'wait',
    log,
    logger: { debug: () => undefined, info: log, warn: log, error: log },
  });
  return applied.map((m) => m.name);
}

/** Everything a fresh machine needs before Rebound can use the database. */
export async function prepareDatabase(databaseUrl: string, log: (msg: string) => void = () => undefined): Promise<string[]> {
  await ensureServer(databaseUrl);
  await ensureDatabase(databaseUrl);
  return migrate(databaseUrl, log);
}
