// DNS for direct delivery: a recipient domain's MX records and an MX host's addresses, through
// node:dns's resolver (c-ares), pointed at REBOUND_DNS_SERVERS when set. Bounded: each query
// gives up after `timeoutMs` x `tries`, so an unanswering resolver becomes a soft reply well
// within the send activity's timeout (README "Direct delivery").
import { isIP } from 'node:net';
import { Resolver } from 'node:dns/promises';
import type { MxLookup } from './route';

export interface DnsOptions {
  /** host[:port] entries (IP addresses); null: the system's resolvers. */
  servers: string[] | null;
  timeoutMs?: number;
  tries?: number;
}

/** An MX host's addresses, or why there are none. */
export type AddressLookup = { kind: 'addresses'; addresses: string[] } | { kind: 'none'; errorCode: string };

export interface MxResolver {
  mx(domain: string): Promise<MxLookup>;
  addresses(host: string): Promise<AddressLookup>;
}

const errorCodeOf = (err: unknown): string => (err as { code?: string }).code ?? 'EDNS';

/** Names that exist but have no records of the asked type (NOERROR, empty answer). */
const NO_DATA = new Set(['ENODATA']);
/** NXDOMAIN: the name does not exist. */
const NOT_FOUND = new Set(['ENOTFOUND']);

export function createMxResolver({ servers, timeoutMs = 2_000, tries = 2 }: DnsOptions): MxResolver {
  const resolver = new Resolver({ timeout: timeoutMs, tries });
  if (servers) resolver.setServers(servers);

  async function addressesOf(host: string, family: 4 | 6): Promise<string[] | string> {
    try {
      return family === 4 ? await resolver.resolve4(host) : await resolver.resolve6(host);
    } catch (err) {
      return errorCodeOf(err);
    }
  }

  return {
    async mx(domain) {
      try {
        return { kind: 'records', records: await resolver.resolveMx(domain) };
      } catch (err) {
        const code = errorCodeOf(err);
        if (NO_DATA.has(code)) return { kind: 'no_records' };
        if (NOT_FOUND.has(code)) return { kind: 'no_such_domain' };
        return { kind: 'unanswered', errorCode: code };
      }
    },

    async addresses(host) {
      // MX records should name hosts, but some name an address: it is used as it is.
      if (isIP(host)) return { kind: 'addresses', addresses: [host] };
      const v4 = await addressesOf(host, 4);
      const v6 = await addressesOf(host, 6);
      const addresses = [...(Array.isArray(v4) ? v4 : []), ...(Array.isArray(v6) ? v6 : [])];
      if (addresses.length > 0) return { kind: 'addresses', addresses };
      // The IPv4 answer says more than the IPv6 one (mostly ENODATA) when both failed.
      return { kind: 'none', errorCode: typeof v4 === 'string' ? v4 : 'ENODATA' };
    },
  };
}
