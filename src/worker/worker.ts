// Builds a Rebound worker: the workflow bundle plus the activities around one pg pool, one
// sender (the relay's pooled SMTP connections, or direct delivery's per-MX pools) and one
// Temporal client per process.
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker, type LogEntry, type WorkerOptions, type WorkflowBundleOption } from '@temporalio/worker';
import type { Pool } from 'pg';
import { createActivities } from '../../activities';
import { redactUrl, type ReboundConfig } from '../config';
import { createPool } from '../db/pool';
import { logger } from '../log';
import { metricsInterceptor } from '../metrics/interceptor';
import { setSdkMetricsAddress } from '../metrics/sdk-metrics';
import { startMetricsServer, type MetricsServer } from '../metrics/server';
import { createSmtpTransport } from '../smtp/transport';
import { relaySender, relaySite, type Sender } from '../smtp/sender';
import { createDirectSender } from '../smtp/direct/sender';
import { createWebhookDispatcher } from '../webhooks/dispatch';
import { startReportSweeper } from '../bounces/dispatch';
import { startSiteExpirySweeper } from '../sites/expiry-sweeper';
import { createSiteGate } from '../sites/gate';
import { WEBHOOK_MAX_TRIES } from '../webhooks/schedule';
import { countWebhookDelivery, webhookTryOutcome } from '../metrics/registry';
import { dataConverterOption } from '../codec/data-converter';

export const WORKFLOWS_PATH = require.resolve('../../workflows');

/**
 * Modules of the workflow bundle evaluated once per workflow thread instead of once per workflow
 * run. The SDK's reusable sandbox gives each run a fresh module cache, so without this every
 * message rebuilt the ~300 regexes of the reply wordings (and V8 compiled them again when a
 * reply was classified): about 0.1 ms of the workflow thread per message in the profile (README
 * "Performance"). Only modules that hold no state and import nothing qualify: the SDK freezes
 * what it shares, and a shared regex with the g or y flag would carry its lastIndex from one
 * run to the next (reply-texts.ts has none; test/unit/workflow-preload.test.ts checks).
 */
export const WORKFLOW_PRELOAD_MODULES: readonly string[] = [require.resolve('../delivery/reply-texts')];

export interface ReboundWorkerOptions {
  config: ReboundConfig;
  /** A pre-built bundle (tests build it once); otherwise the worker bundles WORKFLOWS_PATH. */
  workflowBundle?: WorkflowBundleOption;
  /**
   * Runs workflows without the SDK's 5 s limit on one workflow task (the SDK's debug mode). For
   * tests that replay very large histories on a shared, busy machine, where the limit aborts
   * the process instead of testing what they test; never for production workers.
   */
  unlimitedWorkflowTasks?: boolean;
  /** Reuse an existing connection (the time-skipping test environment provides one). */
  nativeConnection?: NativeConnection;
  client?: Client;
  /** The pool the activities use; by default one is made from the configuration (tests inject faults through their own). */
  pool?: Pool;
}

export interface ReboundWorker {
  worker: Worker;
  pool: Pool;
  /** Where messages go: the relay, or each domain's MX hosts (REBOUND_DELIVERY). */
  sender: Sender;
  /** The worker's /metrics (README "Metrics"), when `config.metricsListen` is set. */
  metrics: MetricsServer | null;
  /** Runs until shutdown, then releases the pool, the transport and the connections it opened. */
  run(): Promise<void>;
}

/**
 * Concurrency settings measured with `npm run bench` (the bench's Temporal-ceiling worker uses
 * them too, so the two are compared like for like).
 */
export const WORKER_TUNING = {
  maxConcurrentActivityTaskExecutions: 100,
  maxConcurrentLocalActivityExecutions: 100,
  // A fixed number of pollers left workflow tasks queued on the server for seconds under a burst
  // of starts while the worker had CPU to spare; autoscaling pollers follow the backlog the
  // server reports (scenario 2 went from about 50 to about 60 messages/s).
  workflowTaskPollerBehavior: { type: 'autoscaling' },
  activityTaskPollerBehavior: { type: 'autoscaling' },
} as const satisfies Partial<WorkerOptions>;

/**
 * Node flags to run a worker process with (the Docker image, docker-compose.yml and the bench
 * do). Without a bound V8 collects lazily on a large machine: with 20,000 messages asleep the
 * worker's RSS rose to about 640 MB of which about 190 MB was garbage; bounded, it stayed near
 * 410 MB at the same speed. The cache of 300 workflows needs far less than this.
 */
export const WORKER_NODE_FLAGS = ['--max-old-space-size=256'] as const;

let runtimeInstalled = false;

/**
 * Routes the SDK's own logs (worker and workflow loggers) into our structured JSON logger and,
 * given `sdkMetricsAddress` (a loopback host:port), has the SDK's core export its Prometheus
 * metrics there for the worker's /metrics to append (README "Metrics"). Once per process: the
 * runtime cannot be installed twice.
 */
export function installJsonRuntimeLogger(opts: { sdkMetricsAddress?: string } = {}): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({
    logger: new DefaultLogger('INFO', (entry: LogEntry) => {
      const level = entry.level === 'TRACE' ? 'trace' : (entry.level.toLowerCase() as 'debug' | 'info' | 'warn' | 'error');
      logger[level]({ ...entry.meta, sdk: true }, entry.message);
    }),
    ...(opts.sdkMetricsAddress ? { telemetryOptions: { metrics: { prometheus: { bindAddress: opts.sdkMetricsAddress } } } } : {}),
  });
  setSdkMetricsAddress(opts.sdkMetricsAddress ?? null);
}

export async function createReboundWorker(opts: ReboundWorkerOptions): Promise<ReboundWorker> {
  const { config } = opts;
  if (config.inbound.bounceDomain && !config.inbound.bounceSecret) {
    throw new Error('REBOUND_BOUNCE_DOMAIN is set but REBOUND_BOUNCE_SECRET is not: the return path needs a key to sign its tokens (make one with `openssl rand -base64 32`), or set REBOUND_BOUNCE_DOMAIN=off');
  }
  const ownsNative = !opts.nativeConnection;
  const nativeConnection = opts.nativeConnection ?? (await NativeConnection.connect({ address: config.temporalAddress }));
  let ownedClientConnection: Connection | undefined;
  let client = opts.client;
  if (!client) {
    ownedClientConnection = await Connection.connect({ address: config.temporalAddress });
    client = new Client({ connection: ownedClientConnection, namespace: config.temporalNamespace, ...dataConverterOption(config.payloadKeys) });
  }
  const ownsPool = !opts.pool;
  const pool = opts.pool ?? createPool(config.databaseUrl);
  const sender = createSender(config, pool);
  // Before the worker: a port that is taken fails the start here, with nothing to undo but the server.
  const metrics = config.metricsListen ? await startMetricsServer(config.metricsListen) : null;
  // Starts the webhook deliveries of the events this worker's activities write; its sweeper
  // starts those left undispatched by a crash or written by the CLI and the API (README "Webhooks").
  const webhooks = createWebhookDispatcher({ pool, client, taskQueue: config.taskQueue, logger });
  const worker = await Worker.create({
    connection: nativeConnection,
    namespace: config.temporalNamespace,
    taskQueue: config.taskQueue,
    ...(opts.workflowBundle ? { workflowBundle: opts.workflowBundle } : { workflowsPath: WORKFLOWS_PATH, bundlerOptions: { preloadModules: [...WORKFLOW_PRELOAD_MODULES] } }),
    // With REBOUND_PAYLOAD_KEYS the server keeps only ciphertext of inputs, results, signals,
    // queries and failure messages (README "Payload encryption"); without, plain JSON.
    ...dataConverterOption(config.payloadKeys),
    activities: createActivities({ pool, sender, client, taskQueue: config.taskQueue, reputation: config.reputation, addressIdKey: config.addressIdKey, webhooks, webhooksAllowPrivate: config.webhooksAllowPrivate, inbound: config.inbound, onWebhookTry: (t) => countWebhookDelivery(webhookTryOutcome(t.outcome, t.attempt, WEBHOOK_MAX_TRIES)) }),
    // Sleeping deliveries need not stay cached: a bounded cache keeps memory flat with many of
    // them (each cached run holds its sandbox state; an evicted one is replayed when it wakes).
    maxCachedWorkflows: config.maxCachedWorkflows,
    ...WORKER_TUNING,
    ...(opts.unlimitedWorkflowTasks ? { debugMode: true } : {}),
    // Counts attempts, final states and suppressions from the activities' results (README "Metrics").
    interceptors: { activity: [metricsInterceptor()] },
  }).catch(async (err: unknown) => {
    await metrics?.close();
    throw err;
  });
  logger.info({ taskQueue: config.taskQueue, temporal: config.temporalAddress, delivery: config.delivery, smtp: config.delivery === 'relay' ? redactUrl(config.smtpUrl) : null, metrics: metrics?.url ?? null }, 'worker ready');
  // Key ids only, never keys (README "Payload encryption").
  if (config.payloadKeys) logger.info({ payloadEncryption: 'aes-256-gcm', encryptsWith: config.payloadKeys.primary.id, decrypts: config.payloadKeys.ids }, 'payload codec on: Temporal sees only ciphertext of payloads');
  else logger.info({ payloadEncryption: 'off' }, 'payload codec off (REBOUND_PAYLOAD_KEYS unset): Temporal stores inputs, results and signals as plain JSON, recipient addresses included');
  return {
    worker,
    pool,
    sender,
    metrics,
    async run() {
      const stopSweeper = webhooks.startSweeper();
      // Starts the workflows of reports the intake paths stored (README "Late outcomes").
      const stopReportSweeper = startReportSweeper({ pool, client, taskQueue: config.taskQueue, logger });
      // Tells expired site suspensions (site.resumed) and keeps the site gauges (README "Traffic shaping").
      const stopSiteExpirySweeper = startSiteExpirySweeper({ pool, logger, webhooks });
      try {
        await worker.run();
      } finally {
        await metrics?.close();
        await stopSweeper();
        await stopReportSweeper();
        await stopSiteExpirySweeper();
        sender.close();
        if (ownsPool) await pool.end();
        await ownedClientConnection?.close();
        if (ownsNative) await nativeConnection.close();
      }
    },
  };
}

/**
 * The relay (the default) or direct delivery to each domain's MX hosts (README "Direct
 * delivery"). Both through the sites' gate: suspensions, limits and rules live in PostgreSQL,
 * so every worker holds a site alike (README "Traffic shaping").
 */
export function createSender(config: Pick<ReboundConfig, 'delivery' | 'smtpUrl' | 'dnsServers' | 'mxPort' | 'heloName' | 'domains' | 'tlsCaFile' | 'shaping'>, pool: Pool): Sender {
  if (config.delivery === 'direct') {
    return createDirectSender({ dnsServers: config.dnsServers, port: config.mxPort, heloName: config.heloName, domains: config.domains, tlsCaFile: config.tlsCaFile, sites: createSiteGate(pool, { shaping: config.shaping }) });
  }
  // The relay is one site. Its connections are shared across workers only when the file sets
  // them for it (or for "*"); otherwise REBOUND_SMTP_URL's pool= per process, as always.
  const site = relaySite(config.smtpUrl);
  const configured = { ...config.shaping.limits['*'], ...config.shaping.limits[site] };
  const gate = createSiteGate(pool, { shaping: config.shaping, sharedConnections: (s) => s === site && configured.connections !== undefined });
  const admission = gate.connections(site);
  const transport = createSmtpTransport(config.smtpUrl, {
    site,
    ...(admission ? { admission } : {}),
    ...(configured.messagesPerConnection !== undefined ? { maxMessages: configured.messagesPerConnection } : {}),
  });
  return relaySender(transport, { gate, site });
}
