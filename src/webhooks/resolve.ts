// The DNS half of the URL rule (README "Webhooks", URLs): a host name is allowed only when
// every address it resolves to is public. Checked when an endpoint is registered and, through
// the lookup the request itself connects with, at every try: the address checked is the
// address connected to, so a name cannot be re-pointed inside between the check and the call.
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { promises as dns } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { privateAddressRange } from './url-policy';

/** The first address of `addresses` that is refused, with why. */
function refused(addresses: LookupAddress[]): { address: string; range: string } | null {
  for (const a of addresses) {
    const range = privateAddressRange(a.address);
    if (range) return { address: a.address, range };
  }
  return null;
}

const refusal = (host: string, r: { address: string; range: string }) =>
  `${host} resolves to ${r.address}, which is ${r.range}; set REBOUND_WEBHOOKS_ALLOW_PRIVATE=1 to allow private addresses`;

/** Resolves a host name for registration; throws an Error saying why it is refused. */
export async function checkResolvedHost(host: string, allowPrivate: boolean): Promise<void> {
  let addresses: LookupAddress[];
  try {
    addresses = await dns.lookup(host, { all: true, verbatim: true });
  } catch (err) {
    throw new Error(`host ${host} does not resolve (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); register a URL whose host has an address`);
  }
  if (addresses.length === 0) throw new Error(`host ${host} has no address`);
  if (allowPrivate) return;
  const bad = refused(addresses);
  if (bad) throw new Error(refusal(host, bad));
}

/** An error from the lookup of a request: the host resolved inside the network. */
export class RefusedAddressError extends Error {
  override readonly name = 'RefusedAddressError';
  readonly code = 'EREFUSEDADDRESS';
}

/** A `lookup` for http.request that refuses private addresses (unless allowed) for the connection it makes. */
export function guardedLookup(allowPrivate: boolean): LookupFunction {
  return ((hostname: string, options: { all?: boolean; family?: number }, callback: (...args: unknown[]) => void) => {
    dnsLookup(hostname, { ...options, all: true, verbatim: true }, (err, addresses) => {
      if (err) return callback(err);
      const bad = allowPrivate ? null : refused(addresses);
      if (bad) return callback(new RefusedAddressError(refusal(hostname, bad)));
      if (addresses.length === 0) return callback(new Error(`host ${hostname} has no address`));
      if (options.all) return callback(null, addresses);
      callback(null, addresses[0].address, addresses[0].family);
    });
  }) as unknown as LookupFunction;
}
