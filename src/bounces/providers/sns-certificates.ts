// Where the SNS signing certificate comes from (README "Late outcomes", SES): a PEM file when
// REBOUND_SNS_CERT_FILE is set (the tests, or a deployment that pins AWS's certificate), else
// SigningCertURL, fetched only from an SNS host (sns-signature.ts checkSigningCertUrl), with a
// bounded wait and size, and kept by URL: SNS signs with the same certificate for months.
import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { ServiceUnavailableError } from '../../errors';

export interface SnsCertificates {
  /** True when the certificate is a configured file: SigningCertURL is not used, nor checked. */
  readonly pinned: boolean;
  /** The certificate to verify a message signed per `signingCertUrl`; throws ServiceUnavailableError when it cannot be had now. */
  certificateFor(signingCertUrl: string | null): Promise<X509Certificate>;
}

const FETCH_TIMEOUT_MS = 5000;
/** An SNS certificate is about 2 KB; anything much larger is not one. */
const MAX_CERT_BYTES = 16 * 1024;
/** SNS uses one certificate per region at a time: a few entries cover every region's rotation. */
const MAX_CACHED = 32;

/** The certificate in a PEM file; throws at start when the file is missing or not a certificate. */
export function certificateFromFile(path: string): SnsCertificates {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(readFileSync(path));
  } catch (err) {
    throw new Error(`REBOUND_SNS_CERT_FILE ${path} is not a readable PEM certificate: ${(err as Error).message}`);
  }
  return { pinned: true, certificateFor: async () => cert };
}

/** Certificates fetched from SigningCertURL (already checked to be on an SNS host), cached by URL. */
export function fetchedCertificates(): SnsCertificates {
  const cache = new Map<string, Promise<X509Certificate>>();
  return {
    pinned: false,
    certificateFor(url: string | null): Promise<X509Certificate> {
      if (url === null) return Promise.reject(new Error('no SigningCertURL'));
      const cached = cache.get(url);
      if (cached) return cached;
      const pending = fetchCertificate(url);
      if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value as string);
      cache.set(url, pending);
      // A failed fetch is not kept: the next message tries again.
      pending.catch(() => cache.delete(url));
      return pending;
    },
  };
}

async function fetchCertificate(url: string): Promise<X509Certificate> {
  let pem: Buffer;
  try {
    const res = await fetch(url, { redirect: 'error', signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    pem = Buffer.from(await res.arrayBuffer());
  } catch (err) {
    throw new ServiceUnavailableError(`the SNS signing certificate ${url} could not be fetched (${(err as Error).message}); SNS retries the message`, err);
  }
  if (pem.length > MAX_CERT_BYTES) throw new ServiceUnavailableError(`the SNS signing certificate ${url} is larger than ${MAX_CERT_BYTES} bytes`);
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pem);
  } catch (err) {
    throw new ServiceUnavailableError(`the SNS signing certificate ${url} is not a PEM certificate (${(err as Error).message})`, err);
  }
  const now = Date.now();
  if (Date.parse(cert.validTo) < now || Date.parse(cert.validFrom) > now) throw new ServiceUnavailableError(`the SNS signing certificate ${url} is not valid now (${cert.validFrom} to ${cert.validTo})`);
  return cert;
}
