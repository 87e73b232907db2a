// Direct delivery (README "Direct delivery"): each recipient domain's mail goes to its own MX
// hosts. One transaction per domain (recipients of one domain together, each with its own
// reply), the domains one after another. Within one attempt a domain's MX hosts are tried in
// preference order until one takes part in a transaction; its replies are final for the attempt.
// TLS: opportunistic unless the configuration file says `tls: required` for the domain or the
// domain's MTA-STS policy is `enforce` (tls-policy.ts); a demand no MX met defers the domain's
// recipients with the reason (soft, destination scope).
import { logger } from '../../log';
import type { RawReply } from '../../delivery/contract';
import type { Sender } from '../sender';
import { sendRaw, type RawSend, type RecipientRawReply, type SmtpTransaction } from '../send-raw';
import { TransactionAbandoned } from '../pool';
import { createMxResolver, type MxResolver } from './mx';
import { MxPools, type MxPoolsOptions } from './pools';
import { routeOf, type Random } from './route';
import { matchDomainRule, type DomainRule } from '../../domains/policy';
import { createMtaSts, type MtaStsSource } from './mta-sts';
import { isTlsFailure, planTls, tlsFailureText, tlsRequiredReply, type TlsDemand, type TlsLevel } from './tls-policy';
import { trustedCas } from './tls-trust';
import { OPEN_SITES, type SiteGate } from '../../sites/gate';
import { siteOfHosts } from '../../sites/policy';
import { SITE_BUSY } from '../../sites/deferral';

export interface DirectSenderOptions extends Partial<Omit<MxPoolsOptions, 'port' | 'heloName'>> {
  port: number;
  heloName: string;
  /** REBOUND_DNS_SERVERS, or null for the system's resolvers. */
  dnsServers: string[] | null;
  /** Orders equal MX preferences; Math.random unless a test fixes it. */
  random?: Random;
  /** A resolver of the tests' own instead of one made from dnsServers. */
  resolver?: MxResolver;
  /** The configuration file's domain rules: their `tls:` (README "Direct delivery", TLS). */
  domains?: DomainRule[];
  /** REBOUND_TLS_CA_FILE: a PEM file of CAs trusted besides the bundled ones, or null. */
  tlsCaFile?: string | null;
  /** MTA-STS policies; by default fetched over HTTPS on port 443. Tests pass their own port's. */
  mtaSts?: MtaStsSource;
  /** Sites: suspensions, limits, rules (README "Traffic shaping"); none unless given. */
  sites?: SiteGate;
}

interface SmtpFailure extends Error {
  code?: string;
  originalCode?: string;
  response?: string;
  command?: string;
  responseCode?: number;
  rejectedErrors?: unknown[];
}

/** Commands answered before any recipient: a failure there says nothing about the recipients. */
const SESSION_COMMANDS = new Set(['CONN', 'EHLO', 'HELO', 'LHLO', 'STARTTLS', 'API']);

/**
 * Whether the next MX should have the transaction: the host failed before it answered for any
 * recipient (refused, timed out, 421/4xx greeting or EHLO, a 4xx to MAIL FROM, a dropped
 * connection), and before the body started, so nothing can have been delivered twice.
 */
function isHostFailure(err: SmtpFailure, bodyStarted: boolean): boolean {
  // The site's connections are all taken (all workers together): its other MX hosts are the same site.
  if (err.code === SITE_BUSY) return false;
  if (bodyStarted || err instanceof TransactionAbandoned || (err.rejectedErrors?.length ?? 0) > 0) return false;
  if (!err.responseCode) return true;
  if (err.command && SESSION_COMMANDS.has(err.command)) return true;
  return err.command === 'MAIL FROM' && err.responseCode >= 400 && err.responseCode < 500;
}

/** The recipients of each domain, in the order they came (domains compared in lower case). */
export function recipientsByDomain(recipients: string[]): Map<string, string[]> {
  const byDomain = new Map<string, string[]>();
  for (const address of recipients) {
    const domain = address.slice(address.lastIndexOf('@') + 1).toLowerCase();
    byDomain.set(domain, [...(byDomain.get(domain) ?? []), address]);
  }
  return byDomain;
}

/** The errorCode of recipients a send left for the next attempt because earlier replies could not be recorded. */
export const NOT_ATTEMPTED = 'ENOTATTEMPTED';

function notAttempted(err: Error): RawReply {
  return { code: null, enhanced: null, text: `not attempted: the replies of this message's earlier domains could not be recorded (${err.message}); tried at the next attempt`, errorCode: NOT_ATTEMPTED };
}

const everyone = (recipients: string[], reply: RawReply): RecipientRawReply[] => recipients.map((address) => ({ address, reply }));

export function createDirectSender(options: DirectSenderOptions): Sender & { pools: MxPools; sites: SiteGate } {
  const resolver = options.resolver ?? createMxResolver({ servers: options.dnsServers });
  const random = options.random ?? Math.random;
  const ca = trustedCas(options.tlsCaFile ?? null);
  const mtaSts = options.mtaSts ?? createMtaSts({ dnsServers: options.dnsServers, ca });
  const domains = options.domains ?? [];
  const tlsLevelOf = (domain: string): TlsLevel => matchDomainRule(domain, domains)?.tls ?? 'opportunistic';
  const sites = options.sites ?? OPEN_SITES;
  const pools = new MxPools(
    {
      ca,
      port: options.port,
      heloName: options.heloName,
      maxHosts: options.maxHosts ?? 200,
      ...(options.connectionsPerHost !== undefined ? { connectionsPerHost: options.connectionsPerHost } : {}),
      // Short, like Postfix's connection cache (smtp_connection_cache_time_limit, 2 s): an idle
      // connection holds one of its site's connections shared by every worker (README "Traffic
      // shaping", Limits), so it should not sit on it for long when mail stops flowing.
      idleTimeoutMs: options.idleTimeoutMs ?? 5_000,
    },
    sites,
  );

  /** One transaction at one MX address: its replies, and whether they are final. */
  async function tryHost(site: string, host: string, address: string, demand: TlsDemand, message: RawSend): Promise<{ final: boolean; replies: RecipientRawReply[] }> {
    let bodyStarted = false;
    let hostFailed = false;
    let tlsFailed: string | null = null;
    const beforeData = async () => {
      bodyStarted = true;
      await message.beforeData?.();
    };
    const replies = await pools.use(host, address, demand, (pool) => {
      const watched: SmtpTransaction = {
        async send(envelope, body, gate) {
          try {
            return await pool.send(envelope, body, gate);
          } catch (err) {
            const failure = err as SmtpFailure;
            hostFailed = isHostFailure(failure, bodyStarted);
            if (demand.kind !== 'opportunistic' && isTlsFailure(failure)) tlsFailed = tlsFailureText(demand, host, failure);
            throw err;
          }
        },
      };
      return sendRaw(watched, { ...message, beforeData });
    }, site);
    if (tlsFailed !== null) return { final: false, replies: everyone(message.recipients, tlsRequiredReply(tlsFailed)) };
    return { final: !hostFailed, replies };
  }

  async function toDomain(domain: string, message: RawSend): Promise<RecipientRawReply[]> {
    const route = routeOf(domain, await resolver.mx(domain), random);
    if (route.kind === 'settled') return everyone(message.recipients, route.reply);
    const site = siteOfHosts(route.hosts)!;
    const bySite = (replies: RecipientRawReply[]) => replies.map((r) => ({ ...r, site }));
    // A suspended or throttled site (or domain) gets no connection at all; otherwise this waits
    // for the site's pace slot (README "Traffic shaping").
    const held = (await sites.admit(site, [domain])).get(domain);
    if (held) return bySite(everyone(message.recipients, held));
    return bySite(await toSite(site, domain, route.hosts, message));
  }

  async function toSite(site: string, domain: string, hosts: string[], message: RawSend): Promise<RecipientRawReply[]> {
    const plan = planTls(domain, hosts, tlsLevelOf(domain), await mtaSts.policyOf(domain));
    if (plan.kind === 'settled') return everyone(message.recipients, plan.reply);
    for (const note of plan.notes) logger.warn({ domain }, note);
    let last: RecipientRawReply[] = [];
    for (const host of plan.hosts) {
      const found = await resolver.addresses(host);
      if (found.kind === 'none') {
        last = everyone(message.recipients, { code: null, enhanced: null, text: `MX host ${host} of ${domain} has no address (${found.errorCode})`, errorCode: found.errorCode });
        continue;
      }
      for (const address of found.addresses) {
        const tried = await tryHost(site, host, address, plan.demand, message);
        await sites.heard(site, domain, tried.replies.map((r) => r.reply));
        if (tried.final) return tried.replies;
        last = tried.replies;
        logger.warn({ domain, host, address, reply: tried.replies[0]?.reply.text }, 'MX host failed before any recipient was answered: trying the next MX of the domain');
      }
    }
    // Every MX failed before answering: the last failure stands for the domain (soft when it
    // was a connection failure or a 4xx, retried at the next attempt).
    return last;
  }

  return {
    pools,
    sites,
    async send(message) {
      const replies = new Map<string, RecipientRawReply>();
      const domains = [...recipientsByDomain(message.recipients)];
      for (const [i, [domain, recipients]] of domains.entries()) {
        const got = await toDomain(domain, { ...message, recipients });
        for (const r of got) replies.set(r.address, r);
        // The next domain's transaction may be abandoned (its send lease lost): what this one
        // delivered must be on record first, or a retry of the attempt would send it again.
        if (i === domains.length - 1 || !message.afterTransaction) continue;
        try {
          await message.afterTransaction(got);
        } catch (err) {
          // Not on record: going on could deliver the rest twice as well. The remaining domains
          // wait for the next attempt; the replies so far stay facts the activity hands on.
          const reply = notAttempted(err as Error);
          for (const [, rest] of domains.slice(i + 1)) for (const address of rest) replies.set(address, { address, reply });
          break;
        }
      }
      return message.recipients.map((address) => {
        const r = replies.get(address)!;
        return { address, reply: r.reply, ...(r.site !== undefined ? { site: r.site } : {}) };
      });
    },
    close: () => {
      pools.close();
      sites.close();
    },
  };
}
