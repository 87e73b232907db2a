// Starts the Temporal dev server for `rebound dev`, `rebound demo` and the end-to-end tests,
// or reuses one already listening, and registers Rebound's search attributes.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { SEARCH_ATTRIBUTES } from '../delivery/contract';
import { temporalCliPath } from './tools';

export interface DevServerOptions {
  host?: string;
  port?: number;
  uiPort?: number | null;
  /** SQLite file for persistence; null keeps everything in memory. */
  dbFile?: string | null;
  namespace?: string;
  /** The codec server the UI decodes payloads with (README "Payload encryption"), e.g. http://localhost:3025/codec. */
  codecEndpoint?: string;
  log?: (msg: string, fields?: object) => void;
  /**
   * Called when a server this call started exits, whether stopped or not, with the end of its
   * stderr (the only trace of a crash: the server runs with --log-level warn and no log file).
   */
  onExit?: (exit: DevServerExit) => void;
}

export interface DevServerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The last 4,000 characters the server wrote to stderr. */
  stderr: string;
}

export interface DevServer {
  address: string;
  uiUrl: string | null;
  /** False when a server was already listening and was reused. */
  started: boolean;
  /** The server process this call started; null when an already-running server was reused. */
  pid: number | null;
  stop(): Promise<void>;
}

export function isListening(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

const SA_TYPES: Record<string, temporal.api.enums.v1.IndexedValueType> = {
  Keyword: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  KeywordList: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
  Int: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_INT,
};

/**
 * Registers the search attributes (README "Inspecting and steering runs in the Temporal UI") where they are missing. Takes a connection so the
 * tests can use it on the time-skipping server too (which cannot list them: it gets them all).
 */
export async function registerSearchAttributes(connection: Connection, namespace: string): Promise<void> {
  const existing = await connection.operatorService
    .listSearchAttributes({ namespace })
    .then((r) => r.customAttributes ?? {})
    .catch(() => ({}));
  const missing = Object.entries(SEARCH_ATTRIBUTES).filter(([name]) => !(name in existing));
  if (missing.length === 0) return;
  await connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(missing.map(([name, type]) => [name, SA_TYPES[type]])),
  });
}

async function registerAt(address: string, namespace: string): Promise<void> {
  const connection = await Connection.connect({ address });
  try {
    await registerSearchAttributes(connection, namespace);
  } finally {
    await connection.close();
  }
}

async function waitUntilServing(address: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`the Temporal dev server exited with code ${child.exitCode} while starting`);
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      try {
        await connection.workflowService.getSystemInfo({});
        return;
      } finally {
        await connection.close();
      }
    } catch (err) {
      lastError = err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  throw new Error(`the Temporal dev server did not answer on ${address} within ${timeoutMs / 1000}s: ${String(lastError)}`);
}

export async function startDevServer(opts: DevServerOptions = {}): Promise<DevServer> {
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? 7233;
  const namespace = opts.namespace ?? 'default';
  const address = `${host}:${port}`;
  const log = opts.log ?? (() => undefined);
  if (await isListening(host, port)) {
    // Its UI keeps the codec endpoint it was started with (if any).
    log('reusing the Temporal server already listening', { address, ...(opts.codecEndpoint ? { codecEndpoint: 'as that server was started; restart it for the UI to use ' + opts.codecEndpoint } : {}) });
    await registerAt(address, namespace);
    return { address, uiUrl: opts.uiPort === null ? null : `http://localhost:${opts.uiPort ?? 8233}`, started: false, pid: null, stop: async () => undefined };
  }
  const args = ['server', 'start-dev', '--ip', host, '--port', String(port), '--namespace', namespace, '--log-level', 'warn'];
  if (opts.uiPort === null) args.push('--headless');
  else args.push('--ui-port', String(opts.uiPort ?? 8233));
  if (opts.uiPort !== null && opts.codecEndpoint) args.push('--ui-codec-endpoint', opts.codecEndpoint);
  if (opts.dbFile) {
    mkdirSync(path.dirname(opts.dbFile), { recursive: true });
    // Without WAL the file store is very slow; the dev store is disposable, so skip fsync too.
    args.push('--db-filename', opts.dbFile, '--sqlite-pragma', 'journal_mode=WAL', '--sqlite-pragma', 'synchronous=OFF');
  }
  for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES)) args.push('--search-attribute', `${name}=${type}`);
  const child = spawn(temporalCliPath(), args, { stdio: ['ignore', 'ignore', 'pipe'] });
  // A server this process started must not outlive it, even when it exits without stop().
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  child.once('exit', () => process.off('exit', killOnExit));
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  if (opts.onExit) {
    const onExit = opts.onExit;
    // 'close', not 'exit': stderr has been read to its end by then.
    child.once('close', (code, signal) => onExit({ code, signal, stderr }));
  }
  try {
    await waitUntilServing(address, child, 60_000);
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`${(err as Error).message}\n${stderr}`);
  }
  // A persisted database from an earlier run may predate an attribute.
  await registerAt(address, namespace);
  log('Temporal dev server started', { address, ui: opts.uiPort === null ? null : `http://localhost:${opts.uiPort ?? 8233}`, persistence: opts.dbFile ?? 'memory' });
  return {
    address,
    uiUrl: opts.uiPort === null ? null : `http://localhost:${opts.uiPort ?? 8233}`,
    started: true,
    pid: child.pid ?? null,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
