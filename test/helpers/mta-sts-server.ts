// The HTTPS side of MTA-STS for the tests: a node:https server on one 127.0.0.x address that
// serves /.well-known/mta-sts.txt for the domains it is given, choosing the certificate by SNI
// (mta-sts.<domain>, each signed by the test CA). It counts the fetches, so tests can see the
// cache at work.
import { createServer, type Server } from 'node:https';
import { createSecureContext } from 'node:tls';
import type { TestCa } from './test-ca';

export interface TestPolicyServer {
  port: number;
  /** Policy file text per domain; change it at will. */
  policies: Map<string, string>;
  /** Fetches per domain. */
  fetches: Map<string, number>;
  close(): Promise<void>;
}

export async function startPolicyServer(address: string, ca: TestCa, domains: Record<string, string>): Promise<TestPolicyServer> {
  const policies = new Map(Object.entries(domains));
  const fetches = new Map<string, number>();
  const contexts = new Map([...policies.keys()].map((d) => [`mta-sts.${d}`, createSecureContext(ca.issue(`mta-sts.${d}`))]));
  const fallback = ca.issue('mta-sts.invalid');
  const server: Server = createServer({ ...fallback, SNICallback: (name, cb) => cb(null, contexts.get(name.toLowerCase())) }, (req, res) => {
    const domain = String(req.headers.host ?? '').toLowerCase().replace(/^mta-sts\./, '');
    const policy = policies.get(domain);
    if (req.url !== '/.well-known/mta-sts.txt' || policy === undefined) {
      res.writeHead(404).end();
      return;
    }
    fetches.set(domain, (fetches.get(domain) ?? 0) + 1);
    res.writeHead(200, { 'content-type': 'text/plain' }).end(policy);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, address, () => resolve());
  });
  const { port } = server.address() as { port: number };
  return {
    port,
    policies,
    fetches,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A policy file (RFC 8461 section 3.2). */
export const policyText = (mode: 'enforce' | 'testing' | 'none', mx: string[], maxAge = 86400) =>
  ['version: STSv1', `mode: ${mode}`, ...mx.map((m) => `mx: ${m}`), `max_age: ${maxAge}`, ''].join('\r\n');
