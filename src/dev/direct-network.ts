// The direct demo's little internet (README "Direct demo"): a DNS server (src/dev/zone-server.ts)
// and two MX hosts, each a bounce simulator (src/sink) on its own 127.0.0.x address and the one
// port direct delivery uses (REBOUND_MX_PORT). One MX has a Google name
// (gmail-smtp-in.l.google.com, in this DNS only), so its replies belong to site `google` (README
// "Traffic shaping", Sites), and it limits the sending IP as Gmail does: a few recipients per
// window, then `421 4.7.28` until the window ends. The other is an ordinary MX, a site of its
// own, answering by the simulator's scenarios. The integration test builds the same network on
// its own addresses.
import type { ReboundConfig } from '../config';
import { startSink, type BounceSink, type RateLimit } from '../sink';
import { freePort } from './temporal-server';
import { startZoneServer, type ZoneServer } from './zone-server';

/** The demo's recipient domains and the MX host names their records give. */
export const DIRECT_DOMAINS = {
  /** Hosted at "Google": MX gmail-smtp-in.l.google.com. */
  gmail: 'gmail.demo.rebound.test',
  /** Another domain hosted at "Google" (MX alt1.gmail-smtp-in.l.google.com): the same site. */
  workspace: 'workspace.demo.rebound.test',
  /** An ordinary domain with its own MX: a site of its own. */
  other: 'other.demo.rebound.test',
} as const;

export const DIRECT_MX_HOSTS = {
  google: 'gmail-smtp-in.l.google.com',
  googleAlt: 'alt1.gmail-smtp-in.l.google.com',
  other: 'mx.other.demo.rebound.test',
} as const;

/** The configuration direct delivery needs to reach this network. */
export type DirectSettings = Pick<ReboundConfig, 'delivery' | 'dnsServers' | 'mxPort' | 'heloName'>;

export interface DirectNetworkOptions {
  /** Where the Google-named MX listens. */
  googleAddress: string;
  /** Where the other MX listens. */
  otherAddress: string;
  /** Where the DNS server listens (a free UDP port on it). */
  dnsHost: string;
  /** The MX port (REBOUND_MX_PORT); 0 or absent: a free one. */
  port?: number;
  /** The Google-named MX's limit. */
  rateLimit: RateLimit;
  log?: (entry: object) => void;
}

export interface DirectNetwork {
  dns: ZoneServer;
  /** The Google-named MX (site google). */
  google: BounceSink;
  /** The ordinary MX (site mx.other.demo.rebound.test). */
  other: BounceSink;
  /** The port both MXes listen on. */
  port: number;
  /** What direct delivery is given (REBOUND_DELIVERY, REBOUND_DNS_SERVERS, REBOUND_MX_PORT, REBOUND_HELO_NAME). */
  settings: DirectSettings;
  close(): Promise<void>;
}

export async function startDirectNetwork(opts: DirectNetworkOptions): Promise<DirectNetwork> {
  const port = opts.port || (await freePort());
  const log = opts.log ?? (() => undefined);
  const started: { google?: BounceSink; other?: BounceSink; dns?: ZoneServer } = {};
  const close = async () => {
    await Promise.all([started.google?.close(), started.other?.close(), started.dns?.close()]);
  };
  try {
    started.google = await startSink({ host: opts.googleAddress, port, rateLimit: opts.rateLimit, reportingHost: DIRECT_MX_HOSTS.google, log });
    started.other = await startSink({ host: opts.otherAddress, port, reportingHost: DIRECT_MX_HOSTS.other, log });
    started.dns = await startZoneServer(
      {
        [DIRECT_DOMAINS.gmail]: { mx: [[5, DIRECT_MX_HOSTS.google]] },
        [DIRECT_DOMAINS.workspace]: { mx: [[10, DIRECT_MX_HOSTS.googleAlt]] },
        [DIRECT_DOMAINS.other]: { mx: [[10, DIRECT_MX_HOSTS.other]] },
        [DIRECT_MX_HOSTS.google]: { a: [opts.googleAddress] },
        [DIRECT_MX_HOSTS.googleAlt]: { a: [opts.googleAddress] },
        [DIRECT_MX_HOSTS.other]: { a: [opts.otherAddress] },
      },
      opts.dnsHost,
    );
  } catch (err) {
    await close();
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EADDRINUSE' || e.code === 'EADDRNOTAVAIL') {
      throw new Error(`the direct demo's MX hosts cannot listen on ${opts.googleAddress} and ${opts.otherAddress}, port ${port} (${e.code}): set REBOUND_MX_PORT to a free port`);
    }
    throw err;
  }
  return {
    dns: started.dns,
    google: started.google,
    other: started.other,
    port,
    settings: { delivery: 'direct', dnsServers: [started.dns.server], mxPort: port, heloName: 'demo.rebound.test' },
    close,
  };
}
