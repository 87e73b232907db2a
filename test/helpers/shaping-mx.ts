// An MX that measures what traffic shaping lets through (README "Traffic shaping" tests): when
// each message arrived, from which client (its EHLO name), how many sessions were open at once,
// and replies of the test's choosing per recipient (a rate-limit wording, say). A DATA may be
// held for a while so connections overlap.
import { SMTPServer } from 'smtp-server';

export interface Arrival {
  at: number;
  to: string[];
  /** The client's EHLO name: which worker sent it. */
  client: string;
}

export interface ShapingMx {
  address: string;
  arrivals: Arrival[];
  connections: number;
  /** Sessions open now, and the most seen at once. */
  sessions: number;
  maxSessions: number;
  /** Recipients answered with a reply of the test's (see `reply`). */
  refused: string[];
  close(): Promise<void>;
}

export interface ShapingMxBehaviour {
  /** A reply for a recipient ("451 4.7.1 slow down"), or null to take it. */
  reply?: (rcpt: string) => string | null;
  /** How long the MX takes over each message's DATA. */
  dataDelayMs?: number;
}

export async function startShapingMx(address: string, port: number, behaviour: ShapingMxBehaviour = {}): Promise<ShapingMx> {
  const mx: ShapingMx = { address, arrivals: [], connections: 0, sessions: 0, maxSessions: 0, refused: [], close: async () => undefined };
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    logger: false,
    onConnect(_session, callback) {
      mx.connections += 1;
      mx.sessions += 1;
      mx.maxSessions = Math.max(mx.maxSessions, mx.sessions);
      callback();
    },
    onClose() {
      mx.sessions -= 1;
    },
    onRcptTo(rcpt, _session, callback) {
      const reply = behaviour.reply?.(rcpt.address) ?? null;
      if (reply === null) return callback();
      mx.refused.push(rcpt.address);
      callback(Object.assign(new Error(reply.slice(4)), { responseCode: Number(reply.slice(0, 3)) }));
    },
    onData(stream, session, callback) {
      stream.on('data', () => undefined);
      stream.on('end', () => {
        mx.arrivals.push({ at: Date.now(), to: session.envelope.rcptTo.map((r) => r.address), client: session.hostNameAppearsAs ?? '' });
        setTimeout(() => callback(null, 'Queued'), behaviour.dataDelayMs ?? 0);
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, () => resolve());
  });
  mx.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return mx;
}

/** The most arrivals within any window of `windowMs` (a sliding window over the arrival times). */
export function mostInWindow(times: readonly number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  let start = 0;
  for (let end = 0; end < sorted.length; end++) {
    while (sorted[end] - sorted[start] >= windowMs) start++;
    most = Math.max(most, end - start + 1);
  }
  return most;
}
