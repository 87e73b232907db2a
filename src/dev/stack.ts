// The whole local stack from the parsed configuration (README "Configuration"): Temporal dev
// server (started or reused), the database (migrated), the bounce simulator (unless
// REBOUND_SMTP_URL points elsewhere or delivery is direct), a worker in this process and the HTTP API with a
// development key. `rebound dev` and `rebound demo` are thin layers over it.
import path from 'node:path';
import { configDefault, type ReboundConfig } from '../config';
import { prepareDatabase } from '../db/setup';
import { logger } from '../log';
import { startSink, type BounceSink } from '../sink';
import { createReboundWorker, installJsonRuntimeLogger, type ReboundWorker } from '../worker/worker';
import { startDevApi, type DevApi } from './api';
import { startDevServer, type DevServer } from './temporal-server';
import { PROJECT_ROOT } from './tools';
import { devInbound } from './return-path';
import { devPayloadKeys } from './payload-keys';
import { startInboundListener, type InboundListener } from '../bounces/listener';
import { startImapPoller, type ImapPoller } from '../bounces/imap';
import { createPool } from '../db/pool';
import type { Pool } from 'pg';

export interface Stack {
  config: ReboundConfig;
  server: DevServer;
  sink: BounceSink | null;
  /** `rebound inbound`'s listener, in this process: the sink mails its late reports to it. */
  inbound: InboundListener;
  worker: ReboundWorker;
  api: DevApi;
  /** Stops the API and the worker, then what this stack started (a reused server is left running). */
  stop(): Promise<void>;
}

export interface StackOptions {
  /** SQLite file of the dev server; null keeps it in memory. Default .data/temporal.db. */
  dbFile?: string | null;
  uiPort?: number | null;
}

/**
 * The simulator runs only when the stack sends to it: a real relay in REBOUND_SMTP_URL wins, and
 * direct delivery (README "Direct delivery") sends to each domain's MX hosts, not to a relay.
 */
function sendsToSink(config: ReboundConfig): boolean {
  return config.delivery === 'relay' && config.smtpUrl === configDefault('REBOUND_SMTP_URL');
}

/**
 * The API's codec route as the browser reaches it. On this machine, `localhost` as in the UI's
 * own URL: the session cookie is SameSite=Strict, so the UI and the API must be the same site.
 */
export function codecEndpointOf(listen: { host: string; port: number }): string {
  const local = ['127.0.0.1', 'localhost', '::1', '0.0.0.0', '::'].includes(listen.host);
  const host = local ? 'localhost' : listen.host.includes(':') ? `[${listen.host}]` : listen.host;
  return `http://${host}:${listen.port}/codec`;
}

export async function startStack(loaded: ReboundConfig, opts: StackOptions = {}): Promise<Stack> {
  // A copy: the sink's own URL replaces smtpUrl below, and the caller's object stays as parsed.
  // Webhook receivers on this machine are allowed: the local stack is for trying things (README "Webhooks").
  // The return path is on, on a local domain, so late bounces and complaints can be tried (README "Late outcomes").
  // Payloads are encrypted (README "Payload encryption"): with REBOUND_PAYLOAD_KEYS, or the checkout's development key.
  const payload = devPayloadKeys(loaded.payloadKeys);
  const config = { ...loaded, webhooksAllowPrivate: true, inbound: devInbound(loaded.inbound), payloadKeys: payload.keys };
  installJsonRuntimeLogger();
  const [host, port] = config.temporalAddress.split(':');
  const server = await startDevServer({
    host,
    port: Number(port),
    uiPort: opts.uiPort === undefined ? 8233 : opts.uiPort,
    dbFile: opts.dbFile === undefined ? path.join(PROJECT_ROOT, '.data/temporal.db') : opts.dbFile,
    namespace: config.temporalNamespace,
    // The UI decodes through the API's codec server, with the operator's key (README "Payload encryption").
    codecEndpoint: codecEndpointOf(config.apiListen),
    log: (msg, fields) => logger.info(fields ?? {}, msg),
  });
  logger.info({ keyIds: config.payloadKeys.ids, source: payload.source }, 'payload codec on for the local stack');
  const started: { sink: BounceSink | null; inbound?: InboundListener; imap?: ImapPoller | null; inboundPool?: Pool; worker?: ReboundWorker; api?: DevApi } = { sink: null };
  const stopInbound = async () => {
    await started.inbound?.close();
    await started.imap?.stop();
    await started.inboundPool?.end();
  };
  try {
    await prepareDatabase(config.databaseUrl, (msg) => logger.info({}, msg));
    started.inboundPool = createPool(config.databaseUrl);
    started.inbound = await startInboundListener({ pool: started.inboundPool, config: config.inbound });
    const mailbox = config.inbound.imap;
    started.imap = mailbox ? startImapPoller({ pool: started.inboundPool, imap: mailbox, logger, maxBytes: config.inbound.maxBytes, bounceDomain: config.inbound.bounceDomain }) : null;
    if (sendsToSink(config)) {
      // Where the default URL points, with the control port next to it as `rebound sink` has it.
      const smtpPort = Number(new URL(config.smtpUrl).port);
      // Its late reports (bouncelater, delaylater, complain) go to the listener started above.
      const { host, port } = { host: started.inbound.host, port: started.inbound.port };
      started.sink = await startSink({
        port: smtpPort,
        controlPort: smtpPort + 1,
        reportTo: `${host.includes(':') ? `[${host}]` : host}:${port}`,
        reportingHost: 'sink.rebound.test',
        log: ({ msg, ...fields }: { msg?: string }) => logger.info(fields, msg ?? 'sink'),
      });
      config.smtpUrl = started.sink.url;
    }
    started.worker = await createReboundWorker({ config });
    started.api = await startDevApi(config);
  } catch (err) {
    await stopInbound();
    await started.sink?.close();
    await server.stop();
    throw err;
  }
  const worker = started.worker;
  const inbound = started.inbound;
  const api = started.api;
  const running = worker.run();
  return {
    config,
    server,
    sink: started.sink,
    inbound,
    worker,
    api,
    async stop() {
      await api.stop();
      await stopInbound();
      worker.worker.shutdown();
      await running.catch((err) => logger.error({ err }, 'worker stopped with an error'));
      await started.sink?.close();
      await server.stop();
    },
  };
}

export { untilSignal } from '../signals';
