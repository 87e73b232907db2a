// The surfaces beside the workers that the newer faults reach, started only when the plan has
// a fault for them, so the quick run (and a run of the older kinds) is the stack it always was:
// - `rebound api` with a key of scope send, for kill-api (its traffic posts part of the messages);
// - the suite's webhook receiver, registered as an endpoint for every event type, for webhook-down;
// - `rebound inbound` on its own port, the sink mailing its late reports there and the workers
//   sending with a VERP return path (README "Late outcomes"), for inbound-db-down;
// - the relay's site (README "Traffic shaping": REBOUND_SMTP_URL's host), for pause-worker-suspended.
import path from 'node:path';
import type { Pool } from 'pg';
import { createApiKey } from '../../src/api/keys';
import type { Say } from '../../src/dev/cleanup';
import { freePort } from '../../src/dev/temporal-server';
import { relaySite } from '../../src/smtp/sender';
import { WEBHOOK_EVENT_TYPES } from '../../src/webhooks/contract';
import { createEndpoint } from '../../src/webhooks/store';
import type { FaultKind } from './inject';
import { Service } from './service';
import { WebhookReceiver } from './webhook-receiver';

export const BOUNCE_DOMAIN = 'bounces.faults.test';

export interface Surfaces {
  api: Service | null;
  apiUrl: string | null;
  apiKey: string | null;
  webhooks: WebhookReceiver | null;
  endpointId: string | null;
  inbound: Service | null;
  /** host:port of `rebound inbound`, the sink's --report-to. */
  inboundAddress: string | null;
  relaySite: string;
  /** What the workers (and the API) need in their environment for these surfaces. */
  workerEnv: Record<string, string>;
}

/**
 * Everything but the API (it needs the Temporal server and the task queue, see startApi):
 * decided before the workers and the sink start, since their environment depends on it.
 */
export async function prepareSurfaces(kinds: readonly FaultKind[], opts: { dir: string; databaseUrl: string; pool: Pool; smtpUrl: string; runTag: string; say: Say }): Promise<Surfaces> {
  const s: Surfaces = { api: null, apiUrl: null, apiKey: null, webhooks: null, endpointId: null, inbound: null, inboundAddress: null, relaySite: relaySite(opts.smtpUrl), workerEnv: {} };
  if (kinds.includes('webhook-down')) {
    const receiver = new WebhookReceiver();
    await receiver.up();
    const endpoint = await createEndpoint(opts.pool, receiver.url, [...WEBHOOK_EVENT_TYPES]);
    receiver.useSecret(endpoint.secret);
    s.webhooks = receiver;
    s.endpointId = endpoint.id;
    // The receiver is on loopback (README "Webhooks", URLs).
    s.workerEnv.REBOUND_WEBHOOKS_ALLOW_PRIVATE = '1';
    opts.say(`webhook receiver on ${receiver.url} (endpoint ${endpoint.id}, every event type)`);
  }
  if (kinds.includes('inbound-db-down')) {
    const port = await freePort();
    s.inboundAddress = `127.0.0.1:${port}`;
    // A secret of the run, never logged: the return path's tokens are HMACs under it.
    const secret = `faults-${opts.runTag}-${Math.random().toString(36).slice(2)}-bounce-secret-0123456789`;
    s.workerEnv.REBOUND_BOUNCE_DOMAIN = BOUNCE_DOMAIN;
    s.workerEnv.REBOUND_BOUNCE_SECRET = secret;
    s.inbound = new Service('inbound', opts.dir, 'inbound', { DATABASE_URL: opts.databaseUrl, REBOUND_INBOUND_LISTEN: s.inboundAddress, REBOUND_BOUNCE_DOMAIN: BOUNCE_DOMAIN, REBOUND_BOUNCE_SECRET: secret }, 'rebound inbound is listening');
    await s.inbound.start();
    opts.say(`rebound inbound on ${s.inboundAddress} for ${BOUNCE_DOMAIN}`);
  }
  return s;
}

/** `rebound api` with a key of scope send, when kill-api is planned. */
export async function startApi(s: Surfaces, kinds: readonly FaultKind[], opts: { dir: string; databaseUrl: string; pool: Pool; temporalAddress: string; taskQueue: string; smtpUrl: string; say: Say }): Promise<void> {
  if (!kinds.includes('kill-api')) return;
  const port = await freePort();
  s.apiUrl = `http://127.0.0.1:${port}`;
  s.apiKey = (await createApiKey(opts.pool, { name: 'fault suite', scope: 'send' })).key;
  s.api = new Service('api', path.join(opts.dir), 'api', {
    ...s.workerEnv,
    DATABASE_URL: opts.databaseUrl,
    TEMPORAL_ADDRESS: opts.temporalAddress,
    REBOUND_TASK_QUEUE: opts.taskQueue,
    REBOUND_SMTP_URL: opts.smtpUrl,
    REBOUND_API_LISTEN: `127.0.0.1:${port}`,
  }, 'api ready');
  await s.api.start();
  opts.say(`rebound api on ${s.apiUrl}`);
}

export async function stopSurfaces(s: Surfaces): Promise<void> {
  await Promise.all([s.api?.stop(), s.inbound?.stop(), s.webhooks?.down()]);
}
