// DKIM signing (README "DKIM"): a message whose From domain has a key in the configuration file
// is signed once, right after it is composed, and the signed bytes are what is stored, so every
// attempt sends the same signature. The signer is nodemailer's own (`nodemailer/lib/dkim`): the
// project already composes and sends with nodemailer, its signer is maintained with it and
// canonicalises the way its composer writes headers, and a hand-written signer would be one
// more place for a canonicalisation bug that only receivers would notice.
import type { KeyObject } from 'node:crypto';
import DKIM from 'nodemailer/lib/dkim';
import { normaliseDomainKey } from '../domains/policy';

/** One sending domain's key, as the configuration file gives it (README "DKIM"). */
export interface DkimKey {
  /** The From domain signed for, the d= tag; trimmed and lower-case. */
  domain: string;
  /** The s= tag: the key's TXT record is `<selector>._domainkey.<domain>`. */
  selector: string;
  /**
   * A KeyObject, never the PEM text: printing one (in a log line, an error, a dumped config)
   * shows only its type, so the private key cannot leak through a stray `console.log(config)`.
   */
  privateKey: KeyObject;
  /** Header fields signed when present, in this order. */
  headers: readonly string[];
}

/**
 * What is signed when the key names no headers: the fields a receiver shows or threads on.
 * X-Rebound-Ref is not among them on purpose: the send activity puts it in front of the signed
 * bytes (README "Late outcomes"), and a field DKIM does not list may be added without breaking
 * the signature.
 */
export const DEFAULT_SIGNED_HEADERS: readonly string[] = [
  'From',
  'Sender',
  'Reply-To',
  'To',
  'Cc',
  'Subject',
  'Date',
  'Message-ID',
  'In-Reply-To',
  'References',
  'MIME-Version',
  'Content-Type',
  'Content-Transfer-Encoding',
  'List-Id',
  'List-Unsubscribe',
  'List-Unsubscribe-Post',
];

/**
 * The key for a From address: the one whose domain is exactly the address's domain. A
 * subdomain is not signed with its parent's key: d= would still align under relaxed DMARC, but
 * which domains sign should be what the file lists, nothing inferred.
 */
export function dkimKeyFor(fromAddress: string, keys: readonly DkimKey[]): DkimKey | null {
  const at = fromAddress.lastIndexOf('@');
  if (at < 0) return null;
  const domain = normaliseDomainKey(fromAddress.slice(at + 1));
  return keys.find((key) => key.domain === domain) ?? null;
}

/** A message could not be signed; names the domain and selector, never the key. */
export class DkimSignError extends Error {
  override readonly name = 'DkimSignError';
  constructor(key: DkimKey, reason: string) {
    super(`DKIM signing for ${key.domain} (selector ${key.selector}) failed: ${reason}; check dkim["${key.domain}"] in the configuration file`);
  }
}

/**
 * The message with a `DKIM-Signature` field put first (rsa-sha256, relaxed/relaxed). Throws
 * {@link DkimSignError} rather than return the message unsigned: nodemailer's signer leaves the
 * signature out silently when the key cannot sign.
 */
export async function signMessage(raw: Buffer, key: DkimKey): Promise<Buffer> {
  const signer = new DKIM({
    domainName: key.domain,
    keySelector: key.selector,
    privateKey: key.privateKey,
    headerFieldNames: key.headers.join(':'),
  });
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of signer.sign(raw)) chunks.push(Buffer.from(chunk as Buffer));
  } catch (err) {
    throw new DkimSignError(key, err instanceof Error ? err.message : String(err));
  }
  const signed = Buffer.concat(chunks);
  if (!/^DKIM-Signature:/i.test(signed.subarray(0, 16).toString('latin1'))) {
    throw new DkimSignError(key, 'the signer made no signature (the key cannot sign rsa-sha256)');
  }
  return signed;
}
