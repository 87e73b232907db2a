// The connections of direct delivery: one SmtpPool per MX address and port, reused by every
// message to that host, and a cap on how many such pools exist: past it, the least recently
// used idle one is closed (README "Direct delivery", Connections). Each pool closes its own
// idle connections. A pool takes its site's limits when it is made (messages per connection,
// connections) and its site's shared connection leases (README "Traffic shaping", Limits).
import type { ConnectionAdmission } from '../../sites/connections';
import type { Site, SiteLimits } from '../../sites/contract';
import { SmtpPool, type SmtpPoolOptions } from '../pool';
import type { TlsDemand } from './tls-policy';

/** What a pool needs of its site (the SiteGate gives it). */
export interface SiteShaping {
  limits(site: Site): SiteLimits;
  connections(site: Site): ConnectionAdmission | undefined;
}

export interface MxPoolsOptions {
  /** REBOUND_MX_PORT: MX records carry no port. */
  port: number;
  /** REBOUND_HELO_NAME, sent with EHLO. */
  heloName: string;
  /** Pools (MX addresses) kept at once; the least recently used idle one goes first. */
  maxHosts: number;
  /** Connections open at once to one MX address from this process; by default the site's connection limit. */
  connectionsPerHost?: number;
  idleTimeoutMs: number;
  /** CA certificates (PEM) a verified connection trusts (tls-trust.ts). */
  ca?: string[];
}

interface Entry {
  pool: SmtpPool;
  /** Transactions running on it: a busy pool is never evicted. */
  inFlight: number;
}

/** How the connection does STARTTLS for a demand (README "Direct delivery", TLS). */
function tlsOptions(host: string, address: string, demand: TlsDemand, ca: string[] | undefined): SmtpPoolOptions['connection'] {
  const servername = host !== address ? { servername: host } : {};
  switch (demand.kind) {
    case 'opportunistic':
      // STARTTLS when the MX offers it, plaintext when it does not or refuses the command.
      // The certificate is not checked: MX certificates are often self-signed or name another
      // host, and refusing them would only push the message to plaintext (RFC 7435,
      // opportunistic security). A domain that wants verified TLS says so with MTA-STS.
      return { opportunisticTLS: true, tls: { rejectUnauthorized: false, ...servername } };
    case 'encrypted':
      // `tls: required`: encrypted or not at all, the certificate unchecked (Postfix `encrypt`).
      return { requireTLS: true, tls: { rejectUnauthorized: false, ...servername } };
    case 'verified':
      // MTA-STS enforce: a trusted chain valid for the MX host's name (node:tls checks the
      // name given as servername, not the address connected to).
      return { requireTLS: true, tls: { rejectUnauthorized: true, servername: host, ...(ca ? { ca } : {}) } };
  }
}

/** A pool per address and TLS demand: a verified connection is never shared with a weaker one. */
function poolKey(host: string, address: string, port: number, demand: TlsDemand): string {
  const base = `${address}:${port}`;
  if (demand.kind === 'opportunistic') return base;
  return demand.kind === 'encrypted' ? `${base} tls` : `${base} tls-verified ${host}`;
}

/** The options of the pool to one MX of `site`, whose limits are `limits`. */
export function mxPoolOptions(
  host: string,
  address: string,
  demand: TlsDemand,
  opts: Pick<MxPoolsOptions, 'port' | 'heloName' | 'connectionsPerHost' | 'idleTimeoutMs' | 'ca'>,
  site: { name: Site; limits: SiteLimits; admission?: ConnectionAdmission } = { name: host, limits: { connections: 5, initialConnections: 5, messagesPerConnection: 100, messagesPerMinute: null } },
): SmtpPoolOptions {
  return {
    connection: {
      host: address,
      port: opts.port,
      name: opts.heloName,
      secure: false,
      ...tlsOptions(host, address, demand, opts.ca),
      // Short enough that a dead primary leaves time for the other MXes within one attempt.
      connectionTimeout: 10_000,
      greetingTimeout: 30_000,
      socketTimeout: 60_000,
    },
    maxConnections: opts.connectionsPerHost ?? site.limits.connections,
    maxMessages: site.limits.messagesPerConnection,
    idleTimeoutMs: opts.idleTimeoutMs,
    site: site.name,
    ...(site.admission ? { admission: site.admission } : {}),
  };
}

export class MxPools {
  /** In order of use, least recent first (a Map keeps insertion order). */
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly options: MxPoolsOptions,
    private readonly sites?: SiteShaping,
  ) {}

  /** Runs one transaction on the pool to `address` (the MX `host`'s, of `site`) for `demand`, creating it if needed. */
  async use<T>(host: string, address: string, demand: TlsDemand, run: (pool: SmtpPool) => Promise<T>, site: Site = host): Promise<T> {
    const key = poolKey(host, address, this.options.port, demand);
    let entry = this.entries.get(key);
    if (entry) this.entries.delete(key);
    else {
      this.evictIdle(this.options.maxHosts - 1);
      const shaping = this.sites ? { name: site, limits: this.sites.limits(site), admission: this.sites.connections(site) } : undefined;
      entry = { pool: new SmtpPool(mxPoolOptions(host, address, demand, this.options, shaping)), inFlight: 0 };
    }
    this.entries.set(key, entry);
    entry.inFlight += 1;
    try {
      return await run(entry.pool);
    } finally {
      entry.inFlight -= 1;
    }
  }

  /** Pools now (address:port, with the TLS demand unless opportunistic), least recently used first. */
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
