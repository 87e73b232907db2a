// DKIM for the tests (README "DKIM"): a key made per run, the TXT record it would publish, and
// verification by an independent verifier (mailauth) whose DNS look-ups are answered from that
// record, so no test needs the network.
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { dkimVerify } from 'mailauth/lib/dkim/verify';
import type { DKIMResult } from 'mailauth';
import { DEFAULT_SIGNED_HEADERS, type DkimKey } from '../../src/message/dkim';

export interface TestDkimKey {
  key: DkimKey;
  /** The private key as an operator would store it in keyFile. */
  privatePem: string;
  /** `v=DKIM1; k=rsa; p=<base64 SPKI>`, published at `<selector>._domainkey.<domain>`. */
  txtRecord: string;
}

export function makeDkimKey(domain: string, selector: string, opts: { bits?: number; headers?: readonly string[] } = {}): TestDkimKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: opts.bits ?? 2048 });
  return {
    key: { domain, selector, privateKey, headers: opts.headers ?? DEFAULT_SIGNED_HEADERS },
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    txtRecord: txtRecordOf(publicKey),
  };
}

export function txtRecordOf(publicKey: KeyObject): string {
  return `v=DKIM1; k=rsa; p=${publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}`;
}

/** A resolver for mailauth answering the keys' TXT records, and NXDOMAIN for any other name. */
export function dkimResolver(keys: readonly TestDkimKey[]) {
  return async (name: string, type: string): Promise<string[][]> => {
    const found = keys.find((k) => name.toLowerCase() === `${k.key.selector}._domainkey.${k.key.domain}` && type === 'TXT');
    if (found) return [[found.txtRecord]];
    throw Object.assign(new Error(`queryTxt ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
  };
}

/** mailauth's result for each signature of the message. */
export async function verifyDkim(raw: Buffer, keys: readonly TestDkimKey[]): Promise<DKIMResult[]> {
  const result = await dkimVerify(raw, { resolver: dkimResolver(keys) });
  return result.results;
}
