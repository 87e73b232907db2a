// A real stack on the Temporal dev server (in memory, on a free port) with an in-process
// worker: for tests that need the real server's concurrency rather than skipped time.
import { Client, Connection } from '@temporalio/client';
import type { Pool } from 'pg';
import { ReboundClient } from '../../src/client/rebound-client';
import { loadConfig, type ReboundConfig } from '../../src/config';
import { createPool } from '../../src/db/pool';
import { prepareDatabase } from '../../src/db/setup';
import { freePort, startDevServer, type DevServer } from '../../src/dev/temporal-server';
import { startSink, type BounceSink } from '../../src/sink';
import { createReboundWorker, type ReboundWorker } from '../../src/worker/worker';
import { TEST_DATABASE_URL, uid, workflowBundle } from './stack';
import { dataConverterOption } from '../../src/codec/data-converter';

export interface DevStack {
  server: DevServer;
  client: Client;
  sink: BounceSink;
  pool: Pool;
  rebound: ReboundClient;
  config: ReboundConfig;
  worker: ReboundWorker;
  teardown(): Promise<void>;
}

export interface DevStackOptions {
  unlimitedWorkflowTasks?: boolean;
  /** The server's SQLite file (to read what it stores); in memory by default. */
  dbFile?: string;
  /** The Temporal UI's port, and the codec server it decodes with; headless by default. */
  uiPort?: number;
  codecEndpoint?: string;
}

export async function startDevStack(overrides: Partial<ReboundConfig> = {}, options: DevStackOptions = {}): Promise<DevStack> {
  await prepareDatabase(TEST_DATABASE_URL);
  const server = await startDevServer({ port: await freePort(), uiPort: options.uiPort ?? null, dbFile: options.dbFile ?? null, ...(options.codecEndpoint ? { codecEndpoint: options.codecEndpoint } : {}) });
  const sink = await startSink({ port: 0, log: () => undefined });
  const pool = createPool(TEST_DATABASE_URL);
  const config: ReboundConfig = {
    ...loadConfig({}),
    temporalAddress: server.address,
    taskQueue: `dev-${uid()}`,
    databaseUrl: TEST_DATABASE_URL,
    smtpUrl: sink.url,
    ...overrides,
  };
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection, namespace: config.temporalNamespace, ...dataConverterOption(config.payloadKeys) });
  const worker = await createReboundWorker({ config, workflowBundle: await workflowBundle(), client, unlimitedWorkflowTasks: options.unlimitedWorkflowTasks });
  const running = worker.run();
  const rebound = new ReboundClient({ client, pool, taskQueue: config.taskQueue, domains: config.domains, dkim: config.dkim });
  return {
    server,
    client,
    sink,
    pool,
    rebound,
    config,
    worker,
    async teardown() {
      worker.worker.shutdown();
      await running;
      await connection.close();
      await sink.close();
      await pool.end();
      await server.stop();
    },
  };
}
