// One webhook request: POST the body with its signed headers, at most 15 s from start to the
// end of the answer, connecting only to an address the URL rule allows (the lookup checks the
// address it connects to). Redirects are not followed. The answer's body is read and dropped.
import http from 'node:http';
import https from 'node:https';
import type { ReceiverAnswer } from './answer';
import { guardedLookup } from './resolve';
import { checkWebhookUrl } from './url-policy';

export const WEBHOOK_TIMEOUT_MS = 15_000;
const USER_AGENT = 'Rebound-Webhooks/1';

export interface PostOptions {
  allowPrivate: boolean;
  timeoutMs?: number;
}

export function postWebhook(rawUrl: string, headers: Record<string, string>, body: string, opts: PostOptions): Promise<ReceiverAnswer> {
  let url: URL;
  try {
    url = checkWebhookUrl(rawUrl, opts.allowPrivate).url;
  } catch (err) {
    return Promise.resolve({ status: null, error: `the URL is refused: ${(err as Error).message}` });
  }
  const timeoutMs = opts.timeoutMs ?? WEBHOOK_TIMEOUT_MS;
  const lib = url.protocol === 'https:' ? https : http;
  return new Promise<ReceiverAnswer>((resolve) => {
    let settled = false;
    const done = (a: ReceiverAnswer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(a);
    };
    const req = lib.request(
      url,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': USER_AGENT, 'content-length': Buffer.byteLength(body), ...headers },
        lookup: guardedLookup(opts.allowPrivate),
        agent: false,
      },
      (res) => {
        const status = res.statusCode ?? 0;
        const retryAfter = typeof res.headers['retry-after'] === 'string' ? res.headers['retry-after'] : null;
        res.on('error', () => done({ status, retryAfter }));
        res.on('end', () => done({ status, retryAfter }));
        res.resume();
      },
    );
    const timer = setTimeout(() => {
      req.destroy();
      done({ status: null, error: `no complete answer within ${timeoutMs / 1000} s` });
    }, timeoutMs);
    req.on('error', (err: NodeJS.ErrnoException) => done({ status: null, error: err.code && err.code !== 'EREFUSEDADDRESS' ? `${err.code}: ${err.message}` : err.message }));
    req.end(body);
  });
}
