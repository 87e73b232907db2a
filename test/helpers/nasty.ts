// What the nasty-input tests (test/integration/nasty-*.test.ts, README "Tests") share: generators
// of the big hostile inputs (never committed: test/fixtures/nasty/README.md) and raw sockets
// that say what no client library will — malformed requests, trickled bytes — and report what
// the server answered and when it hung up.
import { connect, type Socket } from 'node:net';

const HEAD = 'From: Mail Delivery System <MAILER-DAEMON@mx.example.test>\r\nSubject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\n';

/** A DSN whose delivery-status part sits in multipart/mixed parts nested `depth` deep. */
export function nestedMultipart(depth: number, to = 'b@bounces.test'): string {
  let open = `${HEAD}To: ${to}\r\n`;
  let close = '';
  for (let i = 0; i < depth; i++) {
    open += `Content-Type: multipart/mixed; boundary="n${i}"\r\n\r\n--n${i}\r\n`;
    close = `\r\n--n${i}--\r\n${close}`;
  }
  return `${open}Content-Type: message/delivery-status\r\n\r\nFinal-Recipient: rfc822; gone@example.test\r\nAction: failed\r\nStatus: 5.1.1\r\n${close}`;
}

/** A raw TCP client: everything the server sent, as text, and whether and when it closed. */
export interface RawClient {
  socket: Socket;
  /** Everything received so far (latin1, so bytes survive). */
  received(): string;
  /** Resolves with the milliseconds since connect when the server closes the connection; rejects after `boundMs`. */
  closedWithin(boundMs: number): Promise<number>;
  /** Resolves once the received text matches; rejects after `boundMs`. */
  waitFor(pattern: RegExp, boundMs: number): Promise<string>;
  /** Writes and waits until it is flushed (or the socket is gone). */
  write(data: string | Buffer): Promise<void>;
  destroy(): void;
}

export async function rawClient(host: string, port: number): Promise<RawClient> {
  const socket = connect({ host, port });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const startedAt = Date.now();
  let text = '';
  let closedAt: number | null = null;
  const waiters = new Set<() => void>();
  const wake = (): void => waiters.forEach((w) => w());
  socket.on('data', (chunk: Buffer) => {
    text += chunk.toString('latin1');
    wake();
  });
  // A reset after the server gave up is a close too.
  socket.on('error', () => undefined);
  socket.on('close', () => {
    closedAt = Date.now();
    wake();
  });
  function until<T>(check: () => T | null, boundMs: number, what: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const tryNow = (): boolean => {
        const value = check();
        if (value === null) return false;
        cleanup();
        resolve(value);
        return true;
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`${what} within ${boundMs} ms; received so far: ${JSON.stringify(text.slice(0, 300))}`));
      }, boundMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        waiters.delete(onEvent);
      };
      const onEvent = (): void => void tryNow();
      if (!tryNow()) waiters.add(onEvent);
    });
  }
  return {
    socket,
    received: () => text,
    closedWithin: (boundMs) => until(() => (closedAt === null ? null : closedAt - startedAt), boundMs, 'the server did not close the connection'),
    waitFor: (pattern, boundMs) => until(() => (pattern.test(text) ? text : null), boundMs, `no ${pattern} from the server`),
    write: (data) =>
      new Promise((resolve) => {
        if (socket.destroyed || !socket.writable) return resolve();
        socket.write(data, () => resolve());
      }),
    destroy: () => socket.destroy(),
  };
}

/**
 * Sends `data` one byte every `everyMs` until it is all sent or the server closes the
 * connection (slow-loris). Returns how many bytes went out.
 */
export async function trickle(client: RawClient, data: string, everyMs: number): Promise<number> {
  let sent = 0;
  for (const byte of data) {
    if (client.socket.destroyed || !client.socket.writable) break;
    await client.write(byte);
    sent++;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  return sent;
}
