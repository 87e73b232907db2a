// A certificate authority of the tests' own, made with openssl: certificates it signs for a
// host name (subjectAltName DNS) are trusted by whoever is given its certificate (the tests pass
// it as REBOUND_TLS_CA_FILE would), and by nobody else.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface TestCa {
  /** The CA certificate, PEM. */
  cert: string;
  /** Where that certificate is, for REBOUND_TLS_CA_FILE. */
  certFile: string;
  /** A key and a certificate for `host`, signed by this CA. */
  issue(host: string): { key: Buffer; cert: Buffer };
}

const openssl = (args: string[], cwd: string) => execFileSync('openssl', args, { cwd, stdio: 'ignore' });

export function createTestCa(): TestCa {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rebound-test-ca-'));
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=Rebound test CA'], dir);
  let serial = 0;
  return {
    cert: readFileSync(path.join(dir, 'ca.pem'), 'utf8'),
    certFile: path.join(dir, 'ca.pem'),
    issue(host) {
      serial += 1;
      const name = `host${serial}`;
      writeFileSync(path.join(dir, `${name}.ext`), `subjectAltName=DNS:${host}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n`);
      openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${host}`], dir);
      openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-set_serial', String(1000 + serial), '-days', '1', '-extfile', `${name}.ext`, '-out', `${name}.pem`], dir);
      return { key: readFileSync(path.join(dir, `${name}.key`)), cert: readFileSync(path.join(dir, `${name}.pem`)) };
    },
  };
}
