// The bounce simulator's HTTP control port: what the sink received, asked over HTTP by whoever
// cannot call the sink object (another process, curl, the dev stack's user). JSON only:
// GET /received, GET /duplicates, GET /transactions, GET /deliveries?messageId=&recipient=,
// GET /reports (the late reports and how each try went), POST /reset, GET / and GET /health. README section "The bounce simulator".

import http from 'node:http';
import type { BounceSink } from './server';

export type ControlledSink = Pick<BounceSink, 'url' | 'received' | 'duplicates' | 'transactions' | 'deliveries' | 'reports' | 'reset'>;

/** Answers one request from the sink's ledger. */
function handle(sink: ControlledSink, req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://sink.invalid');
  const json = (status: number, body: unknown): void => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };
  req.resume();
  const route = `${req.method} ${url.pathname.replace(/\/+$/, '') || '/'}`;
  switch (route) {
    case 'GET /received':
      return json(200, sink.received());
    case 'GET /duplicates':
      return json(200, sink.duplicates());
    case 'GET /transactions':
      return json(200, sink.transactions());
    case 'GET /reports':
      return json(200, sink.reports());
    case 'GET /deliveries': {
      const messageId = url.searchParams.get('messageId');
      if (!messageId) return json(400, { error: 'messageId query parameter is required' });
      const recipient = url.searchParams.get('recipient') ?? undefined;
      return json(200, { messageId, recipient: recipient ?? null, count: sink.deliveries(messageId, recipient) });
    }
    case 'POST /reset':
      sink.reset();
      return json(200, { ok: true });
    case 'GET /':
    case 'GET /health':
      return json(200, { ok: true, smtp: sink.url });
    default:
      return json(404, { error: `no route ${route}` });
  }
}

/** Listens on host:port (0 = random); rejects when the port cannot be bound. */
export function startControl(sink: ControlledSink, host: string, port: number): Promise<http.Server> {
  const server = http.createServer((req, res) => handle(sink, req, res));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

export function closeControl(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
