// Where a recipient domain's mail goes (RFC 5321 section 5.1), from what DNS said about its MX
// records: the hosts to try in order, or a reply that settles the domain's recipients without
// any connection (README "Direct delivery", Routing). Pure: the lookup is done in mx.ts.
import type { RawReply } from '../../delivery/contract';

export interface MxRecord {
  exchange: string;
  priority: number;
}

/** What an MX lookup found: records, none (the name exists), no such domain, or no answer. */
export type MxLookup =
  | { kind: 'records'; records: MxRecord[] }
  | { kind: 'no_records' }
  | { kind: 'no_such_domain' }
  | { kind: 'unanswered'; errorCode: string };

/** The hosts to try, in order, or the reply every recipient of the domain gets. */
export type Route = { kind: 'hosts'; hosts: string[] } | { kind: 'settled'; reply: RawReply };

/** A number in [0, 1), as Math.random gives: injected so the shuffle can be tested. */
export type Random = () => number;

/** The RFC 7505 null MX: one record whose exchange is the root, "." (node:dns gives ""). */
function isNullMx(record: MxRecord): boolean {
  return record.exchange === '' || record.exchange === '.';
}

/**
 * A domain that takes no mail is a fact about the recipient's address, so the reply is made
 * hard with X.1.2 (bad destination system address, RFC 3463), which the classifier files as
 * unknown_domain; not RFC 7505's own 5.1.10, which classifies as unknown_user.
 */
function noMailReply(text: string): RawReply {
  return { code: 550, enhanced: '5.1.2', text, errorCode: null };
}

/** Equal preferences in a random order (RFC 5321 5.1: spreads the load over equal MXes). */
function shuffled<T>(items: T[], random: Random): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** MX hosts by preference, lowest first; each host once (the first time it appears). */
export function hostsByPreference(records: MxRecord[], random: Random): string[] {
  const byPriority = new Map<number, string[]>();
  for (const r of records) byPriority.set(r.priority, [...(byPriority.get(r.priority) ?? []), r.exchange.toLowerCase().replace(/\.$/, '')]);
  const ordered = [...byPriority.keys()].sort((a, b) => a - b).flatMap((p) => shuffled(byPriority.get(p)!, random));
  return [...new Set(ordered)];
}

export function routeOf(domain: string, lookup: MxLookup, random: Random): Route {
  switch (lookup.kind) {
    case 'no_such_domain':
      return { kind: 'settled', reply: noMailReply(`domain ${domain} does not exist (DNS: no such domain)`) };
    case 'unanswered':
      // SERVFAIL, a timeout, a refused query: DNS said nothing about the domain, so this is the
      // destination's (or our resolver's) trouble, retried like a connection failure.
      return { kind: 'settled', reply: { code: null, enhanced: null, text: `MX lookup for ${domain} failed (${lookup.errorCode}); retried later`, errorCode: lookup.errorCode } };
    case 'no_records':
      // The implicit MX (RFC 5321 5.1): the domain's own A/AAAA records.
      return { kind: 'hosts', hosts: [domain] };
    case 'records': {
      if (lookup.records.some(isNullMx)) return { kind: 'settled', reply: noMailReply(`domain ${domain} accepts no mail (null MX, RFC 7505)`) };
      if (lookup.records.length === 0) return { kind: 'hosts', hosts: [domain] };
      return { kind: 'hosts', hosts: hostsByPreference(lookup.records, random) };
    }
  }
}
