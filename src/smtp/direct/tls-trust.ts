// The certificate authorities verified TLS trusts (MTA-STS policy fetches and MX hosts under an
// enforce policy): Node's bundled roots, plus the PEM file REBOUND_TLS_CA_FILE names, e.g. a
// company's own CA, or the tests' CA. Passing `ca` to node:tls replaces the bundled roots, so
// both are given together.
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';

export function trustedCas(caFile: string | null): string[] {
  if (caFile === null) return [...rootCertificates];
  let extra: string;
  try {
    extra = readFileSync(caFile, 'utf8');
  } catch (err) {
    throw new Error(`REBOUND_TLS_CA_FILE: cannot read ${caFile} (${(err as Error).message}); give the path of a PEM file of CA certificates, or off`);
  }
  if (!extra.includes('-----BEGIN CERTIFICATE-----')) throw new Error(`REBOUND_TLS_CA_FILE: ${caFile} holds no PEM certificate ("-----BEGIN CERTIFICATE-----")`);
  return [...rootCertificates, extra];
}
