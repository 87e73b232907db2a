// What DKIM signing costs per message (README "DKIM", "Performance"): a message is signed once,
// when the client composes it, so its cost is the client's, in process; measured here on a
// 10 kB message with a 2048-bit RSA key, the size a key should be.
import { generateKeyPairSync } from 'node:crypto';
import { DEFAULT_SIGNED_HEADERS, signMessage, type DkimKey } from '../../src/message/dkim';
import { round } from '../measure';

export interface SigningResult {
  /** Microseconds one signature adds to composing a message (RSA-2048, relaxed/relaxed). */
  dkimMicrosPerMessage: number;
  /** Bytes the DKIM-Signature header adds. */
  dkimHeaderBytes: number;
}

export async function measureSigning(n = 200): Promise<SigningResult> {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const key: DkimKey = { domain: 'shop.bench.test', selector: 'bench', privateKey, headers: DEFAULT_SIGNED_HEADERS };
  const raw = Buffer.from(
    `From: Shop <orders@shop.bench.test>\r\nTo: customer@example.test\r\nSubject: Your receipt\r\nDate: Wed, 02 Dec 2026 10:00:00 +0000\r\nMessage-ID: <bench@shop.bench.test>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n${'Thank you for your order.\r\n'.repeat(400)}`,
  );
  let signed = await signMessage(raw, key);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) signed = await signMessage(raw, key);
  return { dkimMicrosPerMessage: round(((performance.now() - t0) * 1000) / n, 1)!, dkimHeaderBytes: signed.length - raw.length };
}
