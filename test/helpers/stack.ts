// A real stack for integration tests: the time-skipping Temporal test server, PostgreSQL (a
// database of the tests' own), the bounce simulator and a Rebound worker.
import { randomBytes } from 'node:crypto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { Pool } from 'pg';
import { ReboundClient } from '../../src/client/rebound-client';
import { loadConfig, type ReboundConfig } from '../../src/config';
import { createPool } from '../../src/db/pool';
import { prepareDatabase } from '../../src/db/setup';
import { registerSearchAttributes } from '../../src/dev/temporal-server';
import { temporalTestServerPath } from '../../src/dev/tools';
import { startSink, type BounceSink } from '../../src/sink';
import { createReboundWorker, WORKFLOW_PRELOAD_MODULES, WORKFLOWS_PATH, type ReboundWorker } from '../../src/worker/worker';
import { dataConverterOption } from '../../src/codec/data-converter';

export const TEST_DATABASE_URL = process.env.REBOUND_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/rebound_test';

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;
/** The workflow bundle, built once per test process. */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, preloadModules: [...WORKFLOW_PRELOAD_MODULES], logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} } as never });
  return bundle;
}

/** A fresh tag so that addresses, ids and simulator state never collide between tests. */
export function uid(): string {
  return randomBytes(4).toString('hex');
}

/** A simulator address: the local part picks the scenario, the tag keeps its state fresh. */
export const testAddress = (local: string, tag: string): string => `${local}+${tag}@example.test`;

/** A valid send request to `to`, with overrides. */
export const testMessage = (to: string[], extra: Record<string, unknown> = {}) => ({
  from: 'sender@rebound.test',
  to,
  subject: 'Your receipt',
  text: 'Thank you for your order.',
  ...extra,
});

export interface TimeSkippingStack {
  env: TestWorkflowEnvironment;
  sink: BounceSink;
  pool: Pool;
  /** A client on the worker's task queue. */
  rebound: ReboundClient;
  config: ReboundConfig;
  /**
   * The file's worker, running from the start to the teardown. One worker serves the whole file
   * on one task queue: a reputation workflow outlives the test that started it, and a workflow
   * task left on a queue nobody polls would stop the test server from skipping time.
   */
  worker: ReboundWorker;
  teardown(): Promise<void>;
}

export interface StackOptions {
  /** The pool the worker's activities use, made from the stack's own (to inject database faults). */
  workerPool?: (pool: Pool) => Pool;
}

export async function startTimeSkippingStack(overrides: Partial<ReboundConfig> = {}, opts: StackOptions = {}): Promise<TimeSkippingStack> {
  await prepareDatabase(TEST_DATABASE_URL);
  // The environment's client gets the codec of the configuration's keys (overrides.payloadKeys), as the worker does.
  const payloadKeys = overrides.payloadKeys ?? loadConfig({}).payloadKeys;
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: temporalTestServerPath() } },
    client: dataConverterOption(payloadKeys),
  });
  await registerSearchAttributes(env.connection, env.namespace ?? 'default');
  const sink = await startSink({ port: 0, log: () => undefined });
  const pool = createPool(TEST_DATABASE_URL);
  const config: ReboundConfig = {
    ...loadConfig({}),
    temporalAddress: 'time-skipping',
    temporalNamespace: env.namespace ?? 'default',
    taskQueue: `test-${uid()}`,
    databaseUrl: TEST_DATABASE_URL,
    smtpUrl: sink.url,
    ...overrides,
    payloadKeys,
  };
  const worker = await createReboundWorker({
    config,
    workflowBundle: await workflowBundle(),
    nativeConnection: env.nativeConnection,
    client: env.client,
    ...(opts.workerPool ? { pool: opts.workerPool(pool) } : {}),
  });
  const running = worker.run();
  const rebound = new ReboundClient({ client: env.client, pool, taskQueue: config.taskQueue, domains: config.domains, dkim: config.dkim, addressIdKey: config.addressIdKey });
  return {
    env,
    sink,
    pool,
    rebound,
    config,
    worker,
    async teardown() {
      worker.worker.shutdown();
      await running;
      await sink.close();
      await pool.end();
      await env.teardown();
    },
  };
}
