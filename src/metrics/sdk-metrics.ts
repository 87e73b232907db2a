// The Temporal SDK's own metrics (README "Metrics", SDK metrics): its Rust core exports them in
// Prometheus text on an HTTP port of its own. A worker with REBOUND_METRICS_LISTEN set has the
// core bind a free loopback port (the runtime is installed once, in src/worker/worker.ts), and
// each scrape of the worker's /metrics appends the core's text to ours: one scrape target.
import net from 'node:net';
import { logger } from '../log';

const FETCH_TIMEOUT_MS = 2_000;

let sdkAddress: string | null = null;
let failing = false;

/** `127.0.0.1:<port>` with a port free now, for the core's exporter (it cannot say which port 0 chose). */
export async function freeLoopbackAddress(): Promise<string> {
  const port = await new Promise<number>((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port: chosen } = server.address() as net.AddressInfo;
      server.close(() => resolve(chosen));
    });
  });
  return `127.0.0.1:${port}`;
}

/** Where the core of this process exports its metrics (set when the runtime is installed with them). */
export function setSdkMetricsAddress(address: string | null): void {
  sdkAddress = address;
}

export function sdkMetricsAddress(): string | null {
  return sdkAddress;
}

/**
 * The core's Prometheus text, or '' when this process does not export it. A core that does not
 * answer costs the scrape a comment, not a failure: our own metrics still matter then.
 */
export async function fetchSdkMetrics(): Promise<string> {
  if (!sdkAddress) return '';
  try {
    const res = await fetch(`http://${sdkAddress}/metrics`, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const text = await res.text();
    failing = false;
    return text;
  } catch (err) {
    const reason = (err as Error).message;
    if (!failing) logger.warn({ sdkMetrics: sdkAddress, error: reason }, 'the Temporal SDK metrics did not answer; /metrics serves Rebound\'s own until they do');
    failing = true;
    return `# Temporal SDK metrics from ${sdkAddress} unavailable: ${reason.replace(/\s+/g, ' ')}\n`;
  }
}
