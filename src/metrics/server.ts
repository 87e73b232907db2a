// A worker's /metrics (README "Metrics"): plain node:http on REBOUND_METRICS_LISTEN, nothing but
// GET /metrics. No key: bind it to an interface only the scraper reaches (the labels hold no
// address, message id or content).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { renderMetrics } from './registry';

export interface MetricsServer {
  /** `http://host:port/metrics`, with the port chosen when 0 was asked for. */
  url: string;
  close(): Promise<void>;
}

export async function startMetricsServer(listen: { host: string; port: number }): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('only GET /metrics is served here\n');
      return;
    }
    renderMetrics().then(
      ({ contentType, body }) => {
        res.writeHead(200, { 'content-type': contentType });
        res.end(req.method === 'HEAD' ? undefined : body);
      },
      (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics could not be collected: ${err.message}\n`),
    );
  });
  // Scrapers keep connections alive; closing must not wait for them.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new Error(`cannot serve /metrics on ${listen.host}:${listen.port} (REBOUND_METRICS_LISTEN): ${err.message}`)));
    server.listen(listen.port, listen.host, () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  return {
    url: `http://${host}:${port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
