// The connections of direct delivery: one SmtpPool per MX address and port, reused by every
// message to that host, and a cap on how many such pools exist: past it, the least recently
// used idle one is closed (README "Direct delivery", Connections). Each pool closes its own
// idle connections.
import { SmtpPool, type SmtpPoolOptions } from '../pool';

export interface MxPoolsOptions {
  /** REBOUND_MX_PORT: MX records carry no port. */
  port: number;
  /** REBOUND_HELO_NAME, sent with EHLO. */
  heloName: string;
  /** Pools (MX addresses) kept at once; the least recently used idle one goes first. */
  maxHosts: number;
  /** Connections open at once to one MX address. */
  connectionsPerHost: number;
  idleTimeoutMs: number;
}

interface Entry {
  pool: SmtpPool;
  /** Transactions running on it: a busy pool is never evicted. */
  inFlight: number;
}

/** The options of the pool to one MX: opportunistic STARTTLS, as MTAs use it. */
export function mxPoolOptions(host: string, address: string, opts: Pick<MxPoolsOptions, 'port' | 'heloName' | 'connectionsPerHost' | 'idleTimeoutMs'>): SmtpPoolOptions {
  return {
    connection: {
      host: address,
      port: opts.port,
      name: opts.heloName,
      secure: false,
      // STARTTLS when the MX offers it, plaintext when it does not or refuses the command.
      // The certificate is not checked: MX certificates are often self-signed or name another
      // host, and refusing them would only push the message to plaintext (RFC 7435,
      // opportunistic security). A domain that wants verified TLS says so with MTA-STS.
      opportunisticTLS: true,
      tls: { rejectUnauthorized: false, ...(host !== address ? { servername: host } : {}) },
      // Short enough that a dead primary leaves time for the other MXes within one attempt.
      connectionTimeout: 10_000,
      greetingTimeout: 30_000,
      socketTimeout: 60_000,
    },
    maxConnections: opts.connectionsPerHost,
    maxMessages: 100,
    idleTimeoutMs: opts.idleTimeoutMs,
  };
}

export class MxPools {
  /** In order of use, least recent first (a Map keeps insertion order). */
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly options: MxPoolsOptions) {}

  /** Runs one transaction on the pool to `address` (the MX `host`'s), creating it if needed. */
  async use<T>(host: string, address: string, run: (pool: SmtpPool) => Promise<T>): Promise<T> {
    const key = `${address}:${this.options.port}`;
    let entry = this.entries.get(key);
    if (entry) this.entries.delete(key);
    else {
      this.evictIdle(this.options.maxHosts - 1);
      entry = { pool: new SmtpPool(mxPoolOptions(host, address, this.options)), inFlight: 0 };
    }
    this.entries.set(key, entry);
    entry.inFlight += 1;
    try {
      return await run(entry.pool);
    } finally {
      entry.inFlight -= 1;
    }
  }

  /** MX addresses with a pool now, least recently used first. */
  hosts(): string[] {
    return [...this.entries.keys()];
  }

  close(): void {
    for (const entry of this.entries.values()) entry.pool.close();
    this.entries.clear();
  }

  /** Closes least recently used idle pools until at most `keep` remain (busy ones stay). */
  private evictIdle(keep: number): void {
    for (const [key, entry] of this.entries) {
      if (this.entries.size <= keep) return;
      if (entry.inFlight > 0) continue;
      entry.pool.close();
      this.entries.delete(key);
    }
  }
}
