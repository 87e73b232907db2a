// The whole local stack on embedded defaults: Temporal dev server (started or reused), the
// database (migrated), the bounce simulator (unless REBOUND_SMTP_URL points elsewhere) and a
// worker in this process. `rebound dev` and `rebound demo` are thin layers over it.
import path from 'node:path';
import { loadConfig, type ReboundConfig } from '../config';
import { prepareDatabase } from '../db/setup';
import { logger } from '../log';
import { startSink, type BounceSink } from '../sink';
import { createReboundWorker, installJsonRuntimeLogger, type ReboundWorker } from '../worker/worker';
import { startDevServer, type DevServer } from './temporal-server';
import { PROJECT_ROOT } from './tools';

export interface Stack {
  config: ReboundConfig;
  server: DevServer;
  sink: BounceSink | null;
  worker: ReboundWorker;
  /** Stops the worker, then what this stack started (a reused server is left running). */
  stop(): Promise<void>;
}

export interface StackOptions {
  env?: NodeJS.ProcessEnv;
  /** SQLite file of the dev server; null keeps it in memory. Default .data/temporal.db. */
  dbFile?: string | null;
  uiPort?: number | null;
}

const SINK_URL = 'smtp://127.0.0.1:2525';

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const env = opts.env ?? process.env;
  const config = loadConfig(env);
  installJsonRuntimeLogger();
  const [host, port] = config.temporalAddress.split(':');
  const server = await startDevServer({
    host,
    port: Number(port),
    uiPort: opts.uiPort === undefined ? 8233 : opts.uiPort,
    dbFile: opts.dbFile === undefined ? path.join(PROJECT_ROOT, '.data/temporal.db') : opts.dbFile,
    namespace: config.temporalNamespace,
    log: (msg, fields) => logger.info(fields ?? {}, msg),
  });
  const started: { sink: BounceSink | null; worker?: ReboundWorker } = { sink: null };
  try {
    await prepareDatabase(config.databaseUrl, (msg) => logger.info({}, msg));
    // The simulator runs only when the stack sends to it: a real relay in REBOUND_SMTP_URL wins.
    if (!env.REBOUND_SMTP_URL || env.REBOUND_SMTP_URL === SINK_URL) {
      started.sink = await startSink({ port: 2525, controlPort: 2526, log: (entry) => logger.info(entry, 'sink transaction') });
      config.smtpUrl = started.sink.url;
    }
    started.worker = await createReboundWorker({ config });
  } catch (err) {
    await started.sink?.close();
    await server.stop();
    throw err;
  }
  const worker = started.worker;
  const running = worker.run();
  return {
    config,
    server,
    sink: started.sink,
    worker,
    async stop() {
      worker.worker.shutdown();
      await running.catch((err) => logger.error({ err }, 'worker stopped with an error'));
      await started.sink?.close();
      await server.stop();
    },
  };
}

/** Resolves on the first SIGINT or SIGTERM. */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (signal: NodeJS.Signals) => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(signal);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}
