// The return path (README "Late outcomes"): with REBOUND_BOUNCE_DOMAIN set, every attempt's
// envelope sender is `b+<token>@<domain>` and every message carries `X-Rebound-Ref: <token>`.
// The token names the message by a reference (20 hex digits of the SHA-256 of its id, which
// PostgreSQL indexes: see the late-outcomes migration) and carries an HMAC of it under
// REBOUND_BOUNCE_SECRET (16 hex digits), so a bounce or complaint forged for a message whose
// id is known still cannot suppress anyone. 38 characters in all: well inside the 64 a local
// part may have (RFC 5321 4.5.3.1.1). Lower-case hex, because some MTAs change the case of
// local parts.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { headerSection } from '../message/header-section';

export const RETURN_PATH_PREFIX = 'b+';
const REF_LENGTH = 20;
const MAC_LENGTH = 16;
const TOKEN = new RegExp(`^([0-9a-f]{${REF_LENGTH}})([0-9a-f]{${MAC_LENGTH}})$`);

/** The reference a token names a message by. */
export function bounceRefOf(messageId: string): string {
  return createHash('sha256').update(messageId, 'utf8').digest('hex').slice(0, REF_LENGTH);
}

function macOf(ref: string, secret: string): string {
  return createHmac('sha256', secret).update(`rebound-return-path:${ref}`).digest('hex').slice(0, MAC_LENGTH);
}

/** The message's token: its reference and the reference's HMAC. */
export function returnPathToken(messageId: string, secret: string): string {
  const ref = bounceRefOf(messageId);
  return ref + macOf(ref, secret);
}

/** The envelope sender of every attempt of the message. */
export function returnPathAddress(messageId: string, opts: { domain: string; secret: string }): string {
  return `${RETURN_PATH_PREFIX}${returnPathToken(messageId, opts.secret)}@${opts.domain}`;
}

export type TokenCheck = { valid: true; ref: string } | { valid: false; why: 'malformed' | 'bad_signature' };

/** Whether a token is one this secret made; the reference it names when it is. */
export function verifyToken(token: string, secret: string): TokenCheck {
  const m = TOKEN.exec(token.trim().toLowerCase());
  if (!m) return { valid: false, why: 'malformed' };
  const expected = Buffer.from(macOf(m[1], secret));
  const given = Buffer.from(m[2]);
  return timingSafeEqual(expected, given) ? { valid: true, ref: m[1] } : { valid: false, why: 'bad_signature' };
}

/**
 * The token of a return-path address on this domain (`b+<token>@domain`, any case), or null
 * when the address is not one (another local part, another domain).
 */
export function tokenOfAddress(address: string, domain: string): string | null {
  const at = address.lastIndexOf('@');
  if (at < 0 || address.slice(at + 1).toLowerCase() !== domain.toLowerCase()) return null;
  const local = address.slice(0, at).toLowerCase();
  return local.startsWith(RETURN_PATH_PREFIX) ? local.slice(RETURN_PATH_PREFIX.length) : null;
}

/**
 * The message as sent with a return path: `X-Rebound-Ref: <token>` put first, so complaints,
 * which quote the headers and not the envelope, name the message too. The stored bytes are not
 * changed: every attempt adds the same line, and a message that already carries one keeps it.
 */
export function withReboundRef(raw: Buffer, token: string): Buffer {
  if (/^x-rebound-ref:/im.test(headerSection(raw))) return raw;
  return Buffer.concat([Buffer.from(`X-Rebound-Ref: ${token}\r\n`, 'latin1'), raw]);
}
