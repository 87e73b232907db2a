// The suite's webhook receiver: what a service that takes Rebound's events does, and the two
// states a fault moves it between. It verifies each request's Standard Webhooks signature with
// the `standardwebhooks` package (the library Rebound signs with, src/webhooks/sign.ts),
// processes each `webhook-id` once (a Map: the first verified request processes it, a later one
// is a redelivery, answered 204 and counted), and answers only after processing, so a request
// cut off by the fault is tried again by Rebound and arrives as a redelivery.
//
// Down (the `webhook-down` fault): the listener is closed and every open connection destroyed,
// so a try meets a refused connection, or a reset when it was under way; up again: the same
// port, so the registered URL stays right.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface Processed {
  id: string;
  type: string;
  /** For message events: `type messageId recipient`, the fact it tells (one event per fact); else null. */
  fact: string | null;
  /** When it was processed (the first verified request). */
  at: number;
  /** Requests for it after the first: redeliveries (not errors). */
  redelivered: number;
  /** Times it was processed: must be 1. */
  processed: number;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export class WebhookReceiver {
  readonly processed = new Map<string, Processed>();
  /** Requests whose signature did not verify (a defect if any). */
  rejected = 0;
  requests = 0;
  /** Connections destroyed by a take-down while open. */
  cut = 0;
  private verifier: Webhook | null = null;
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(private readonly host = '127.0.0.1') {}

  get url(): string {
    return `http://${this.host}:${this.port}/rebound-events`;
  }

  useSecret(secret: string): void {
    this.verifier = new Webhook(secret);
  }

  async up(): Promise<void> {
    if (this.server) return;
    const server = createServer((req, res) => void this.handle(req, res.writeHead.bind(res), () => res.end()));
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, this.host, () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  /** Closes the listener (connections refused) and destroys every open connection (tries under way fail). */
  async down(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    this.cut += this.sockets.size;
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  private async handle(req: IncomingMessage, writeHead: (code: number) => unknown, end: () => void): Promise<void> {
    this.requests += 1;
    let body: string;
    try {
      body = await readBody(req);
    } catch {
      return; // cut off by a take-down
    }
    let event: { type: string; data?: { messageId?: string; recipient?: string } };
    try {
      if (!this.verifier) throw new Error('no secret yet');
      event = this.verifier.verify(body, req.headers as Record<string, string>) as typeof event;
    } catch {
      this.rejected += 1;
      writeHead(401);
      end();
      return;
    }
    const id = String(req.headers['webhook-id']);
    const seen = this.processed.get(id);
    if (seen) seen.redelivered += 1;
    else {
      const fact = event.type.startsWith('message.') ? `${event.type} ${event.data?.messageId ?? ''} ${(event.data?.recipient ?? '').toLowerCase()}` : null;
      this.processed.set(id, { id, type: event.type, fact, at: Date.now(), redelivered: 0, processed: 1 });
    }
    writeHead(204);
    end();
  }
}
