// What checking a provider's signature gives (README "Late outcomes", provider webhooks): accepted,
// or refused with a reason that is logged (at info) and answered as 401. The reason names what
// failed, never a secret or the body.
import { createHash, timingSafeEqual } from 'node:crypto';

export type Verification = { ok: true } | { ok: false; reason: string };

export const VERIFIED: Verification = { ok: true };

export function refused(reason: string): Verification {
  return { ok: false, reason };
}

/** A request whose signature or credentials do not check out; the route answers 401. */
export class SignatureRejected extends Error {
  override readonly name = 'SignatureRejected';
  constructor(readonly reason: string) {
    super(reason);
  }
}

/** Throws SignatureRejected unless the verification passed. */
export function requireVerified(verification: Verification): void {
  if (!verification.ok) throw new SignatureRejected(verification.reason);
}

/**
 * Compares two secrets in time that does not depend on where they differ, nor on their lengths
 * (both are hashed to the same length first).
 */
export function sameSecret(given: string | Buffer, expected: string | Buffer): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** Whether `atMs` is within `pastMs` before and `futureMs` after `nowMs`. */
export function withinWindow(atMs: number, nowMs: number, pastMs: number, futureMs: number): boolean {
  return Number.isFinite(atMs) && atMs >= nowMs - pastMs && atMs <= nowMs + futureMs;
}
