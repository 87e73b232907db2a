// MTA-STS (RFC 8461) for direct delivery: the `_mta-sts.<domain>` TXT record through the same
// DNS servers as the MX lookups (REBOUND_DNS_SERVERS), and the policy from
// https://mta-sts.<domain>/.well-known/mta-sts.txt, cached per worker in memory by id and
// max_age (mta-sts-cache.ts). mailauth parses the TXT record and the policy file; the fetch is
// our own because mailauth's fetchPolicy fixes port 443 and the system CAs, and a fetch must
// be bounded (time, size, no redirects, RFC 8461 section 3.3) and able to trust
// REBOUND_TLS_CA_FILE (README "Direct delivery", MTA-STS).
import { Resolver } from 'node:dns/promises';
import { request } from 'node:https';
import { parsePolicy, resolvePolicy } from 'mailauth/lib/mta-sts';
import { logger } from '../../log';
import { afterFetch, policyAfter, policyStep, type CacheEntry, type StsRecord } from './mta-sts-cache';
import type { MtaStsMode, MtaStsPolicy } from './tls-policy';

export interface MtaStsOptions {
  /** REBOUND_DNS_SERVERS, or null for the system's resolvers. */
  dnsServers: string[] | null;
  /** CA certificates (PEM) the policy host's certificate must chain to. */
  ca: string[];
  /** 443; tests pass their HTTPS server's port (not a public setting). */
  port?: number;
  timeoutMs?: number;
  now?: () => number;
}

export interface MtaStsSource {
  /** The domain's policy now, or null (none, or it could not be had and nothing is cached). */
  policyOf(domain: string): Promise<MtaStsPolicy | null>;
}

/** Domains whose policy is kept; past it the oldest entry goes (memory is bounded per worker). */
const MAX_CACHED_DOMAINS = 10_000;

/** RFC 8461 section 3.3 suggests senders refuse policies over 64 KiB. */
const MAX_POLICY_BYTES = 64 * 1024;

const errorCodeOf = (err: unknown): string => (err as { code?: string }).code ?? 'EMTASTS';

export function createMtaSts({ dnsServers, ca, port = 443, timeoutMs = 10_000, now = Date.now }: MtaStsOptions): MtaStsSource {
  const resolver = new Resolver({ timeout: 2_000, tries: 2 });
  if (dnsServers) resolver.setServers(dnsServers);
  const cache = new Map<string, CacheEntry>();

  /** What mailauth's resolvePolicy asks: `resolve(name, type)` as node:dns gives it. */
  const resolve = (name: string, type: string) => resolver.resolve(name, type as 'TXT') as Promise<unknown>;

  async function record(domain: string): Promise<StsRecord> {
    try {
      const id = await resolvePolicy(domain, { resolver: resolve as never });
      return id ? { kind: 'id', id } : { kind: 'none' };
    } catch (err) {
      return { kind: 'failed', errorCode: errorCodeOf(err) };
    }
  }

  async function policyHostAddress(host: string): Promise<string> {
    try {
      return (await resolver.resolve4(host))[0];
    } catch {
      return (await resolver.resolve6(host))[0];
    }
  }

  function download(host: string, address: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const req = request(
        { host: address, servername: host, port, path: '/.well-known/mta-sts.txt', method: 'GET', headers: { host }, ca, rejectUnauthorized: true, timeout: timeoutMs },
        (res) => {
          // No redirects (RFC 8461 section 3.3): anything but 200 is no policy.
          if (res.statusCode !== 200) {
            res.resume();
            return reject(Object.assign(new Error(`HTTP ${res.statusCode} from https://${host}/.well-known/mta-sts.txt`), { code: 'EMTASTSHTTP' }));
          }
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_POLICY_BYTES) return req.destroy(Object.assign(new Error(`policy larger than ${MAX_POLICY_BYTES} bytes`), { code: 'EMTASTSSIZE' }));
            chunks.push(chunk);
          });
          res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })));
      req.on('error', reject);
      req.end();
    });
  }

  async function fetchPolicy(domain: string, id: string): Promise<MtaStsPolicy | null> {
    const host = `mta-sts.${domain}`;
    try {
      const parsed = parsePolicy(await download(host, await policyHostAddress(host)));
      return { id, mode: parsed.mode as MtaStsMode, mx: parsed.mx ?? [], maxAgeSeconds: parsed.maxAge ?? 0 };
    } catch (err) {
      // RFC 8461 section 5.1: without a usable policy (and none cached) mail goes as if the
      // domain had none, so this is a warning, not a failure of the message.
      logger.warn({ domain, policyId: id, err: (err as Error).message, errorCode: errorCodeOf(err) }, 'MTA-STS policy fetch failed: delivering as the cached policy says, or as without a policy; check https://mta-sts.<domain>/.well-known/mta-sts.txt');
      return null;
    }
  }

  return {
    async policyOf(rawDomain) {
      const domain = rawDomain.toLowerCase();
      const entry = cache.get(domain) ?? { cached: null, failed: null };
      const step = policyStep(await record(domain), entry, now());
      if (step.kind === 'use') return step.policy;
      const next = afterFetch(entry, step.id, await fetchPolicy(domain, step.id), now());
      cache.delete(domain);
      cache.set(domain, next);
      if (cache.size > MAX_CACHED_DOMAINS) cache.delete(cache.keys().next().value!);
      return policyAfter(next, now());
    },
  };
}
