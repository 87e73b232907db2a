// What TLS a recipient domain's MX connections must have (README "Direct delivery", TLS), from
// the configuration file's `tls:` for the domain and the domain's MTA-STS policy (RFC 8461).
// Pure: the policy is fetched in mta-sts.ts, the connections are made in pools.ts.
import type { RawReply } from '../../delivery/contract';
import type { TlsLevel } from '../../domains/policy';

export type { TlsLevel };

/** An MTA-STS policy's mode (RFC 8461 section 3.2). */
export type MtaStsMode = 'enforce' | 'testing' | 'none';

/** A fetched, parsed MTA-STS policy. */
export interface MtaStsPolicy {
  /** The `id=` of the `_mta-sts` TXT record it was fetched for. */
  id: string;
  mode: MtaStsMode;
  /** `mx:` patterns, lower case: `mx1.example.org` or `*.example.org`. */
  mx: string[];
  maxAgeSeconds: number;
}

/**
 * What one connection to an MX demands.
 * - opportunistic: STARTTLS when offered, the certificate not checked (RFC 7435);
 * - encrypted (`tls: required`): STARTTLS must succeed, the certificate is not checked, like
 *   Postfix's `encrypt` level: most MX certificates name another host or are self-signed, and
 *   what the operator asks for is that the message never crosses the network in plaintext;
 * - verified (MTA-STS enforce): STARTTLS with a certificate from a trusted CA, valid for the
 *   MX host's name (RFC 8461 section 4.2).
 */
export type TlsDemand = { kind: 'opportunistic' } | { kind: 'encrypted'; because: string } | { kind: 'verified'; because: string };

/** The MX hosts a domain's mail may go to and what each connection demands, or a reply that settles it. */
export type TlsPlan =
  | { kind: 'hosts'; hosts: string[]; demand: TlsDemand; notes: string[] }
  | { kind: 'settled'; reply: RawReply };

/** The errorCode of every reply a TLS demand makes: classified soft, destination scope. */
export const TLS_REQUIRED_ERROR = 'ETLSREQUIRED';

/**
 * Whether an MX host matches a policy `mx:` pattern (RFC 8461 section 4.1): exactly, or a
 * `*.` pattern whose wildcard stands for exactly one leftmost label (`*.example.org` matches
 * `mx1.example.org`, not `a.mx1.example.org` nor `example.org`). mailauth's validateMx lets a
 * wildcard span several labels, hence this matcher.
 */
export function mxMatches(host: string, pattern: string): boolean {
  const name = host.toLowerCase().replace(/\.$/, '');
  const p = pattern.toLowerCase().replace(/\.$/, '');
  if (!p.startsWith('*.')) return name === p;
  const suffix = p.slice(1);
  if (!name.endsWith(suffix)) return false;
  const label = name.slice(0, name.length - suffix.length);
  return label !== '' && !label.includes('.');
}

export const matchesPolicy = (host: string, policy: MtaStsPolicy): boolean => policy.mx.some((p) => mxMatches(host, p));

/** The reply every recipient of the domain gets when its TLS demand could not be met. */
export function tlsRequiredReply(text: string): RawReply {
  return { code: null, enhanced: null, text, errorCode: TLS_REQUIRED_ERROR };
}

/** "MTA-STS policy of example.org (enforce)" or "the configuration of example.org (tls: required)". */
const policyWords = (domain: string) => `MTA-STS policy of ${domain} (enforce)`;
const configWords = (domain: string) => `configuration file's rule for ${domain} (tls: required)`;

/**
 * The plan for one domain. MTA-STS enforce is the stronger demand and wins over `tls: required`;
 * under enforce only MX hosts matching the policy are used, and when none does the domain's
 * recipients are deferred (soft) without any connection. `testing` changes nothing but is noted
 * (logged by the caller) for the hosts that enforce would have refused.
 */
export function planTls(domain: string, hosts: string[], level: TlsLevel, policy: MtaStsPolicy | null): TlsPlan {
  if (policy?.mode === 'enforce') {
    const allowed = hosts.filter((h) => matchesPolicy(h, policy));
    const skipped = hosts.filter((h) => !allowed.includes(h));
    const notes = skipped.map((h) => `MX ${h} of ${domain} is not in its MTA-STS policy (mx: ${policy.mx.join(', ')}): not used`);
    if (allowed.length === 0) {
      return { kind: 'settled', reply: tlsRequiredReply(`${policyWords(domain)} requires TLS to ${policy.mx.join(', ')}, and none of its MX hosts (${hosts.join(', ')}) matches; retried later`) };
    }
    return { kind: 'hosts', hosts: allowed, demand: { kind: 'verified', because: policyWords(domain) }, notes };
  }
  const notes =
    policy?.mode === 'testing'
      ? hosts.filter((h) => !matchesPolicy(h, policy)).map((h) => `MTA-STS policy of ${domain} (testing) does not list MX ${h}: delivered as without a policy`)
      : [];
  if (level === 'required') return { kind: 'hosts', hosts, demand: { kind: 'encrypted', because: configWords(domain) }, notes };
  return { kind: 'hosts', hosts, demand: { kind: 'opportunistic' }, notes };
}

/** What a failed STARTTLS or handshake looked like, from nodemailer's error. */
export interface TlsFailure {
  /** The server's reply to STARTTLS when it refused it (or did not offer it). */
  response?: string;
  message: string;
}

/** The clear reason of a demand that failed at one MX: "MTA-STS policy of x (enforce) requires TLS: mx1.x offered no STARTTLS (502 ...)". */
export function tlsFailureText(demand: Exclude<TlsDemand, { kind: 'opportunistic' }>, host: string, failure: TlsFailure): string {
  const what = failure.response
    ? `${host} offered no STARTTLS (it answered "${failure.response.trim()}")`
    : `the TLS handshake with ${host} failed (${failure.message.replace(/^Error initiating TLS - /, '')})`;
  return `${demand.because} requires TLS: ${what}; retried later`;
}

/**
 * OpenSSL's certificate verification codes as node:tls names them (DEPTH_ZERO_SELF_SIGNED_CERT,
 * UNABLE_TO_VERIFY_LEAF_SIGNATURE, CERT_HAS_EXPIRED, ...) and node's own TLS errors
 * (ERR_TLS_CERT_ALTNAME_INVALID, ERR_SSL_*); nodemailer passes them on as the socket error's code.
 */
const TLS_ERROR_CODE = /CERT|SELF_SIGNED|^UNABLE_TO_|^ERR_TLS_|^ERR_SSL_|^EPROTO$/;

/** Whether a nodemailer error is STARTTLS or its handshake failing (not a later SMTP reply). */
export function isTlsFailure(err: { code?: string; originalCode?: string; command?: string }): boolean {
  if (err.code === 'ETLS' || err.command === 'STARTTLS') return true;
  return [err.code, err.originalCode].some((code) => code !== undefined && TLS_ERROR_CODE.test(code));
}
