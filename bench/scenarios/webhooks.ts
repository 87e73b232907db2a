// Scenario 7: what outcome webhooks cost (README "Webhooks", "Performance"). Two batches of
// messages delivered at once, the same shape as scenario 2: the first with no endpoint
// registered (off), the second with one endpoint subscribed to every event type (on), POSTed to
// a real HTTP receiver in this process that answers 204. Per message: CPU of the server, the
// worker and PostgreSQL, first submit until idle again, off against on; the webhook events and
// the history events and workflow tasks of their delivery workflows; the time from the outcome
// to the receiver. Every event must arrive once per webhook-id, each message's exactly once.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import type { SendRequest } from '../../src/message/validate';
import { deliveryWorkflowId } from '../../src/delivery/contract';
import { WEBHOOK_EVENT_TYPES, WEBHOOK_HEADERS, webhookWorkflowId, type WebhookEvent } from '../../src/webhooks/contract';
import { SUBSCRIPTIONS_CACHE_MS } from '../../src/webhooks/dispatch';
import { createEndpoint, deleteEndpoint } from '../../src/webhooks/store';
import { validateWebhookRegistration } from '../../src/webhooks/validate';
import { finalStates, request, untilFinished, type ModeContext } from '../context';
import { runBatch } from '../batch';
import { countEvents, fetchEvents } from '../history';
import { round, runBounded, summarize, waitFor } from '../measure';

export interface WebhookCpuMs {
  server: number;
  worker: number;
  postgres: number;
  /** The bench process: the client SDK, and with webhooks on also the receiver. */
  client: number;
}

export interface WebhooksResult {
  mode: string;
  /** Messages in each batch (off and on). */
  messages: number;
  /** Webhook events received per message of the "on" batch (one message.delivered each). */
  eventsPerMessage: number | null;
  /** History events and workflow tasks of the webhook delivery workflows, per message. */
  historyEventsPerMessage: number | null;
  workflowTasksPerMessage: number | null;
  activitiesPerMessage: number | null;
  /** One message's delivery workflow, off / on: webhooks add nothing to it. */
  deliveryHistoryEvents: { off: number; on: number };
  /** Statements the worker sent to PostgreSQL per message, off / on. */
  statementsPerMessage: { off: number | null; on: number | null };
  cpuMsPerMessage: { off: WebhookCpuMs; on: WebhookCpuMs; added: WebhookCpuMs };
  /** First submit until idle again, s. */
  drainedSeconds: { off: number | null; on: number | null };
  /** Requests the receiver answered, and how many were tries after the first (webhook-attempt > 1). */
  requests: number;
  retries: number;
  /** Messages of the "on" batch without their message.delivered event. */
  lost: number;
  /** Requests beyond the first per webhook-id, plus events beyond the first per message. */
  duplicated: number;
  badSignatures: number;
  /** The event's `timestamp` (the outcome) until the receiver had it, ms. */
  deliveryLatencyMs: { p50: number | null; p95: number | null; max: number | null };
  /** Messages of either batch not delivered (counted with the mode's lost messages). */
  messagesLost: number;
}

interface Received {
  webhookId: string;
  attempt: number;
  at: number;
  event: WebhookEvent | null;
  signed: boolean;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** The receiver: 127.0.0.1, a free port, 204 to every POST; keeps each request's headers and event. */
async function startReceiver(secret: () => string | null): Promise<{ server: Server; url: string; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    readBody(req).then(
      (body) => {
        const h = (name: string): string => String(req.headers[name] ?? '');
        let event: WebhookEvent | null = null;
        try {
          event = JSON.parse(body) as WebhookEvent;
        } catch {
          event = null;
        }
        let signed = false;
        const key = secret();
        if (key) {
          try {
            new Webhook(key).verify(body, { [WEBHOOK_HEADERS.id]: h(WEBHOOK_HEADERS.id), [WEBHOOK_HEADERS.timestamp]: h(WEBHOOK_HEADERS.timestamp), [WEBHOOK_HEADERS.signature]: h(WEBHOOK_HEADERS.signature) });
            signed = true;
          } catch {
            signed = false;
          }
        }
        received.push({ webhookId: h(WEBHOOK_HEADERS.id), attempt: Number(h(WEBHOOK_HEADERS.attempt)) || 0, at: Date.now(), event, signed });
        res.writeHead(204).end();
      },
      () => res.writeHead(400).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return { server, url: `http://127.0.0.1:${port}/rebound-bench`, received };
}

function requests(ctx: ModeContext, kind: string, n: number): SendRequest[] {
  return Array.from({ length: n }, (_, i) => request(`${ctx.tag}-${kind}-${i}`, `rcpt+${ctx.tag}${kind}${i}@example.test`));
}



/**
 * A batch delivered at once (runBatch), waited for until every message is final before
 * `settled`; a message not delivered counts as lost. CPU of the bench process is the client's
 * and the receiver's.
 */
async function deliveredBatch(ctx: ModeContext, reqs: SendRequest[], concurrency: number, settled: () => Promise<void>): Promise<{ ids: string[]; cpu: WebhookCpuMs; drainedSeconds: number | null; lost: number; statementsPerMessage: number | null }> {
  const ids = reqs.map((r) => r.id!);
  const batch = await runBatch(ctx, reqs, {
    concurrency,
    settled: async () => {
      await untilFinished(ctx, ids, 30_000);
      await settled();
    },
    lost: async (batchIds) => {
      const states = await finalStates(ctx.pool, batchIds);
      return new Set(batchIds.filter((id) => states.get(id)?.state !== 'delivered'));
    },
  });
  const { bench, ...rest } = batch.cpu;
  return { ...batch, cpu: { ...rest, client: bench } };
}

export async function runWebhooks(ctx: ModeContext, opts: { messages: number; concurrency: number }): Promise<WebhooksResult> {
  const n = opts.messages;
  ctx.log(`[${ctx.mode}] scenario 7: webhooks off / on, ${n} messages each`);
  let secret: string | null = null;
  const receiver = await startReceiver(() => secret);
  let endpointId: string | null = null;
  try {
    // Off: no endpoint registered (the bench database starts without any).
    const off = await deliveredBatch(ctx, requests(ctx, 'hoff', n), opts.concurrency, async () => {});

    // On: one endpoint for every event type, registered as POST /v1/webhooks does (the URL rule
    // with private addresses allowed, as the worker child is started), then past the workers'
    // cache of the subscribed types.
    const registration = validateWebhookRegistration({ url: receiver.url, events: [...WEBHOOK_EVENT_TYPES] }, true);
    const endpoint = await createEndpoint(ctx.pool, registration.url, registration.events);
    endpointId = endpoint.id;
    secret = endpoint.secret;
    await new Promise((r) => setTimeout(r, SUBSCRIPTIONS_CACHE_MS + 1_000));
    const onReqs = requests(ctx, 'hon', n);
    const onIds = new Set(onReqs.map((r) => r.id!));
    const ofBatch = (): Received[] => receiver.received.filter((r) => r.event && onIds.has(String((r.event.data as { messageId?: string }).messageId)));
    const on = await deliveredBatch(ctx, onReqs, opts.concurrency, async () => {
      const all = await waitFor(async () => new Set(ofBatch().map((r) => r.webhookId)).size >= n, 60_000 + n * 50, 100);
      if (!all) ctx.log(`[${ctx.mode}]   only ${new Set(ofBatch().map((r) => r.webhookId)).size} of ${n} webhook events arrived`);
    });

    // Once per webhook-id, and one event per message (the batch's messages produce nothing else).
    const got = ofBatch();
    const byId = new Map<string, Received[]>();
    for (const r of got) byId.set(r.webhookId, [...(byId.get(r.webhookId) ?? []), r]);
    const idsByMessage = new Map<string, Set<string>>();
    for (const r of got) {
      const m = String((r.event!.data as { messageId?: string }).messageId);
      idsByMessage.set(m, (idsByMessage.get(m) ?? new Set()).add(r.webhookId));
    }
    const lost = [...onIds].filter((id) => !idsByMessage.has(id)).length;
    const duplicated =
      [...byId.values()].reduce((a, rs) => a + rs.length - 1, 0) + [...idsByMessage.values()].reduce((a, s) => a + s.size - 1, 0);
    const latencies = [...byId.values()].map((rs) => rs[0]!.at - Date.parse(rs[0]!.event!.timestamp));
    const latency = summarize(latencies);

    // The delivery workflows of the events (one per event and endpoint), from their histories.
    let events = 0;
    let tasks = 0;
    let activities = 0;
    await runBounded([...byId.keys()], 8, async (eventId) => {
      const c = countEvents(await fetchEvents(ctx.temporal, webhookWorkflowId(eventId, endpoint.id)));
      events += c.events;
      tasks += c.workflowTasks;
      activities += c.activities;
    });
    const deliveryOff = (await fetchEvents(ctx.temporal, deliveryWorkflowId(off.ids[0]!))).length;
    const deliveryOn = (await fetchEvents(ctx.temporal, deliveryWorkflowId(on.ids[0]!))).length;
    const perMessage = (x: number): number | null => (n > 0 ? round(x / n, 2) : null);
    const added = (k: keyof WebhookCpuMs): number => round(on.cpu[k] - off.cpu[k]) ?? 0;
    const result: WebhooksResult = {
      mode: ctx.mode,
      messages: n,
      eventsPerMessage: perMessage(byId.size),
      historyEventsPerMessage: perMessage(events),
      workflowTasksPerMessage: perMessage(tasks),
      activitiesPerMessage: perMessage(activities),
      deliveryHistoryEvents: { off: deliveryOff, on: deliveryOn },
      statementsPerMessage: { off: off.statementsPerMessage, on: on.statementsPerMessage },
      cpuMsPerMessage: { off: off.cpu, on: on.cpu, added: { server: added('server'), worker: added('worker'), postgres: added('postgres'), client: added('client') } },
      drainedSeconds: { off: off.drainedSeconds, on: on.drainedSeconds },
      requests: got.length,
      retries: got.filter((r) => r.attempt > 1).length,
      lost,
      duplicated,
      badSignatures: got.filter((r) => !r.signed).length,
      deliveryLatencyMs: { p50: round(latency.p50, 0), p95: round(latency.p95, 0), max: round(latency.max, 0) },
      messagesLost: off.lost + on.lost,
    };
    const c = result.cpuMsPerMessage;
    ctx.log(
      `[${ctx.mode}]   CPU ms per message off -> on: server ${c.off.server} -> ${c.on.server}, worker ${c.off.worker} -> ${c.on.worker}, postgres ${c.off.postgres} -> ${c.on.postgres}; ` +
        `${result.eventsPerMessage} events, ${result.historyEventsPerMessage} history events, ${result.workflowTasksPerMessage} workflow tasks per message; ` +
        `latency p50 ${result.deliveryLatencyMs.p50} ms; lost ${lost}, duplicated ${duplicated}, bad signatures ${result.badSignatures}`,
    );
    return result;
  } finally {
    // Later scenarios (the sleepers) run without webhooks: the statements that write events see no endpoint.
    if (endpointId) await deleteEndpoint(ctx.pool, endpointId);
    receiver.server.closeAllConnections();
    await new Promise<void>((resolve) => receiver.server.close(() => resolve()));
  }
}
