// The per-client message rate of `rebound inbound` (README "Late outcomes"): at most `limit`
// messages a minute from one client address, counted in fixed one-minute windows. Memory is
// bounded: at most `maxClients` addresses are tracked, and when a new one comes while the table
// is full, the windows that are over go first, then the oldest tracked address. No I/O here.

export const RATE_WINDOW_MS = 60_000;

export interface RateLimiterOptions {
  limit: number;
  maxClients?: number;
  windowMs?: number;
}

interface Window {
  start: number;
  count: number;
}

export class ClientRateLimiter {
  private readonly windows = new Map<string, Window>();
  private readonly limit: number;
  private readonly maxClients: number;
  private readonly windowMs: number;

  constructor(opts: RateLimiterOptions) {
    if (!Number.isInteger(opts.limit) || opts.limit < 1) throw new Error(`rate limit must be a positive whole number of messages, got ${opts.limit}`);
    this.limit = opts.limit;
    this.maxClients = opts.maxClients ?? 10_000;
    this.windowMs = opts.windowMs ?? RATE_WINDOW_MS;
  }

  /** Counts one message from `client` at `now`; false when the client is over its limit (the message is not counted). */
  take(client: string, now: number): boolean {
    let w = this.windows.get(client);
    if (w && now - w.start >= this.windowMs) {
      this.windows.delete(client);
      w = undefined;
    }
    if (!w) {
      this.makeRoom(now);
      w = { start: now, count: 0 };
      this.windows.set(client, w);
    }
    if (w.count >= this.limit) return false;
    w.count += 1;
    return true;
  }

  /** How many client addresses are tracked. */
  get size(): number {
    return this.windows.size;
  }

  private makeRoom(now: number): void {
    if (this.windows.size < this.maxClients) return;
    for (const [client, w] of this.windows) if (now - w.start >= this.windowMs) this.windows.delete(client);
    // A Map iterates in insertion order: the first key is the oldest window.
    while (this.windows.size >= this.maxClients) this.windows.delete(this.windows.keys().next().value as string);
  }
}

/**
 * The key a client address is limited by: an IPv4 address as it is, an IPv6 address by its
 * /64 (one site gets a /64 and picks any address in it), an IPv4-mapped IPv6 address as IPv4.
 */
export function clientKey(address: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (mapped) return mapped[1];
  if (!address.includes(':')) return address;
  const [head, tail = ''] = address.toLowerCase().split('%')[0].split('::');
  const left = head ? head.split(':') : [];
  const right = address.includes('::') && tail ? tail.split(':') : [];
  const groups = address.includes('::') ? [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right] : left;
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}
