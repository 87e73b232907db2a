// Whom `rebound inbound` takes mail for (README "Late outcomes"): addresses of the bounce
// domain only, so the listener is never an open relay. A return-path address `b+<token>@domain`
// is where DSNs arrive; its token must carry our HMAC, or the report is forged (someone who
// knows a message's id could otherwise bounce or suppress its recipients). Every other local
// part of the domain (postmaster, abuse, fbl, ...) is taken as it is: complaint feedback loops
// and hand-forwarded reports arrive there and are matched later by their X-Rebound-Ref header.
// No I/O here.
import type { RefusalReason } from './refusals';
import { tokenOfAddress, verifyToken } from './verp';

export interface ReturnPathKeys {
  /** null: REBOUND_BOUNCE_DOMAIN is off and nothing is taken. */
  domain: string | null;
  secret: string;
}

export type RecipientVerdict =
  | { accepted: true; returnPath: boolean }
  | { accepted: false; reason: Extract<RefusalReason, 'relay_denied' | 'forged_token'>; code: 550; text: string };

const RELAY_DENIED = '5.7.1 relay denied: this server only takes bounce reports for its own domain';
const FORGED = '5.7.1 return-path token does not verify';

function domainOf(address: string): string {
  const at = address.lastIndexOf('@');
  return at < 0 ? '' : address.slice(at + 1).toLowerCase();
}

export function judgeRecipient(address: string, keys: ReturnPathKeys): RecipientVerdict {
  if (keys.domain === null || domainOf(address) !== keys.domain.toLowerCase()) {
    return { accepted: false, reason: 'relay_denied', code: 550, text: RELAY_DENIED };
  }
  const token = tokenOfAddress(address, keys.domain);
  if (token === null) return { accepted: true, returnPath: false };
  if (!verifyToken(token, keys.secret).valid) return { accepted: false, reason: 'forged_token', code: 550, text: FORGED };
  return { accepted: true, returnPath: true };
}

/**
 * The recipient a stored report is filed under: the first return-path address (its token
 * names the message), else the first recipient taken.
 */
export function reportRecipient(accepted: readonly { address: string; returnPath: boolean }[]): string | null {
  return (accepted.find((r) => r.returnPath) ?? accepted[0])?.address ?? null;
}
