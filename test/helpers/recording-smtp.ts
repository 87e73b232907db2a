// A receiving SMTP server for tests (smtp-server on 127.0.0.1, a free port) that records every
// message it is given and answers the end of DATA as the test says: a real peer for whatever
// Rebound sends (a worker's attempts, the simulator's late reports).
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface Recorded {
  /** Envelope sender ('' for the null sender). */
  from: string;
  to: string[];
  raw: Buffer;
  /** The code the end of DATA was answered with. */
  answered: number;
}

/** How the end of DATA is answered: 250, or a 4xx/5xx code with its text. */
export type Answer = (m: Omit<Recorded, 'answered'>) => { code: number; text: string };

export const ACCEPT: Answer = () => ({ code: 250, text: '2.0.0 Queued' });

export interface RecordingServer {
  host: string;
  port: number;
  /** Everything received, in order (the array may be emptied by the test). */
  got: Recorded[];
  /** Replaceable at any time. */
  answer: Answer;
  close(): Promise<void>;
}

export async function startRecordingServer(answer: Answer = ACCEPT): Promise<RecordingServer> {
  const state: RecordingServer = { host: '127.0.0.1', port: 0, got: [], answer, close: async () => undefined };
  const server = new SMTPServer({
    logger: false,
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    disableReverseLookup: true,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const m = { from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', to: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks) };
        const { code, text } = state.answer(m);
        state.got.push({ ...m, answered: code });
        if (code >= 200 && code < 300) return callback(null, text);
        callback(Object.assign(new Error(text), { responseCode: code }));
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.port = (server.server.address() as AddressInfo).port;
  state.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return state;
}
