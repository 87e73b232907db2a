// Receiving MX hosts for the direct-delivery tests: smtp-server instances on 127.0.0.x, all on
// one port (MX records carry no port, so every MX listens on REBOUND_MX_PORT; Linux routes all
// of 127/8 to the loopback). Each records the transactions it took and the connections it saw.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';

export interface Transaction {
  from: string;
  to: string[];
  secure: boolean;
  body: string;
}

export interface TestMx {
  address: string;
  transactions: Transaction[];
  connections: number;
  close(): Promise<void>;
}

/** A free TCP port on 127.0.0.1 (the MXes then bind it on their own addresses). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A self-signed certificate made with openssl, for an MX that offers STARTTLS. */
export function selfSignedCertificate(): { key: Buffer; cert: Buffer } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rebound-mx-tls-'));
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=mx.self-signed.test'], { stdio: 'ignore' });
  return { key: readFileSync(key), cert: readFileSync(cert) };
}

export interface MxBehaviour {
  /** STARTTLS with this key and certificate; without it the MX offers no TLS. */
  tls?: { key: Buffer; cert: Buffer };
  /** A reply to every RCPT of these local parts, e.g. { nobody: '550 5.1.1 no such user' }. */
  rejectRecipients?: Record<string, string>;
  /** The greeting is this reply and the connection closes (e.g. "421 4.3.2 busy"). */
  greeting?: string;
}

function smtpError(reply: string): Error {
  const code = Number(reply.slice(0, 3));
  return Object.assign(new Error(reply.slice(4)), { responseCode: code });
}

export async function startMx(address: string, port: number, behaviour: MxBehaviour = {}): Promise<TestMx> {
  const transactions: Transaction[] = [];
  const mx: TestMx = { address, transactions, connections: 0, close: async () => undefined };
  const options: SMTPServerOptions = {
    authOptional: true,
    disabledCommands: behaviour.tls ? ['AUTH'] : ['AUTH', 'STARTTLS'],
    ...(behaviour.tls ? { key: behaviour.tls.key, cert: behaviour.tls.cert } : {}),
    logger: false,
    onConnect(_session, callback) {
      mx.connections += 1;
      if (behaviour.greeting) return callback(smtpError(behaviour.greeting));
      callback();
    },
    onRcptTo(rcpt, _session, callback) {
      const local = rcpt.address.split('@')[0].split('+')[0];
      const reply = behaviour.rejectRecipients?.[local];
      if (reply) return callback(smtpError(reply));
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        transactions.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          secure: session.secure,
          body: Buffer.concat(chunks).toString('utf8'),
        });
        callback(null, `Queued as ${address}-${transactions.length}`);
      });
    },
  };
  const server = new SMTPServer(options);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, () => resolve());
  });
  mx.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return mx;
}
