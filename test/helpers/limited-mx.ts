// An MX that rate-limits like Gmail (README "Traffic shaping" tests): it takes `accept`
// recipients, then answers every further RCPT with `reply` (e.g. "421 4.7.28 ..."). It counts
// the connections it saw, so a test can tell that a suspended site got none.
import { SMTPServer } from 'smtp-server';

export interface LimitedMx {
  address: string;
  connections: number;
  accepted: string[];
  refused: string[];
  /** Takes recipients again (as a receiver does when its limit clears). */
  reset(accept: number): void;
  close(): Promise<void>;
}

export async function startLimitedMx(address: string, port: number, accept: number, reply: string): Promise<LimitedMx> {
  let allowance = accept;
  const mx: LimitedMx = {
    address,
    connections: 0,
    accepted: [],
    refused: [],
    reset: (n) => {
      allowance = n;
    },
    close: async () => undefined,
  };
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    logger: false,
    onConnect(_session, callback) {
      mx.connections += 1;
      callback();
    },
    onRcptTo(rcpt, _session, callback) {
      if (allowance <= 0) {
        mx.refused.push(rcpt.address);
        return callback(Object.assign(new Error(reply.slice(4)), { responseCode: Number(reply.slice(0, 3)) }));
      }
      allowance -= 1;
      mx.accepted.push(rcpt.address);
      callback();
    },
    onData(stream, _session, callback) {
      stream.on('data', () => undefined);
      stream.on('end', () => callback(null, 'Queued'));
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, () => resolve());
  });
  mx.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return mx;
}
