// The demo's webhook receiver (README "Webhooks"): what a service that listens for Rebound's
// outcome events does. It verifies each request's Standard Webhooks signature with the
// `standardwebhooks` package (the receiver's side of the same library Rebound signs with),
// answers 204, and keeps one event per `webhook-id`, as a receiver that deduplicates must.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

/** A receiver accepts bodies up to this: an event is a few hundred bytes. */
const MAX_BODY_BYTES = 256 * 1024;

export interface ReceivedEvent {
  id: string;
  type: string;
  timestamp: string;
  data: Record<string, unknown>;
}

export interface WebhookReceiver {
  url: string;
  /** Events whose signature verified, one per webhook-id, in arrival order. */
  events(): ReceivedEvent[];
  /** Requests refused: a bad or missing signature, or a body that is not an event. */
  rejected(): number;
  /** Requests for an event already received (a retry whose first answer was lost). */
  repeats(): number;
  /** Set once the endpoint is registered and its secret known; until then every request is refused. */
  useSecret(secret: string): void;
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        resolve(null);
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export async function startWebhookReceiver(host = '127.0.0.1'): Promise<WebhookReceiver> {
  let verifier: Webhook | null = null;
  const byId = new Map<string, ReceivedEvent>();
  let rejected = 0;
  let repeats = 0;
  const server: Server = createServer(async (req, res) => {
    const body = req.method === 'POST' ? await readBody(req).catch(() => null) : null;
    if (body === null || !verifier) {
      rejected += 1;
      res.writeHead(body === null ? 413 : 401).end();
      return;
    }
    let event: ReceivedEvent;
    try {
      const verified = verifier.verify(body, req.headers as Record<string, string>) as Omit<ReceivedEvent, 'id'>;
      event = { id: String(req.headers['webhook-id']), type: verified.type, timestamp: verified.timestamp, data: verified.data };
    } catch {
      rejected += 1;
      res.writeHead(401).end();
      return;
    }
    if (byId.has(event.id)) repeats += 1;
    else byId.set(event.id, event);
    res.writeHead(204).end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}/rebound-events`,
    events: () => [...byId.values()],
    rejected: () => rejected,
    repeats: () => repeats,
    useSecret(secret: string) {
      verifier = new Webhook(secret);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
