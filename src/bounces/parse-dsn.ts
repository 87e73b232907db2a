// message/delivery-status fields (RFC 3464 section 2; RFC 6533 message/global-delivery-status):
// per-message fields, a blank line, then a group of fields per recipient — Final-Recipient,
// Original-Recipient ("rfc822;addr"), Action, Status, Diagnostic-Code ("smtp; 550 5.1.1 ...").
// Pure.
import { Field, fieldValue, parseFieldGroups } from './parse-fields';
import { isDsnAction, MAX_RECIPIENTS, RecipientEvidence } from './parse-outcome';
import type { DsnAction } from './contract';

export const DELIVERY_STATUS_TYPES: ReadonlySet<string> = new Set([
  'message/delivery-status',
  'message/global-delivery-status',
  // Seen from broken MTAs that label the part as text.
  'text/delivery-status',
]);

/** The recipients a delivery-status part names; empty when it names none. */
export function readDeliveryStatus(text: string): RecipientEvidence[] {
  const groups = parseFieldGroups(text).filter((g) => g.some((f) => f.name === 'final-recipient' || f.name === 'original-recipient'));
  return groups.slice(0, MAX_RECIPIENTS).map(recipientOf);
}

function recipientOf(group: Field[]): RecipientEvidence {
  const original = fieldValue(group, 'original-recipient');
  const final = fieldValue(group, 'final-recipient') ?? '';
  // Original-Recipient is the address as it was sent (RFC 3464 2.3.1), when it is one.
  const address = original && original.includes('@') ? original : final || original || '';
  const status = fieldValue(group, 'status');
  return {
    address,
    action: actionOf(fieldValue(group, 'action'), status),
    status: status ? status.split(/[\s(]/)[0] : null,
    diagnostic: fieldValue(group, 'diagnostic-code') ?? replyInStatus(status),
  };
}

/**
 * Some MTAs write the SMTP reply itself into Status ("Status: 553 Exceeded maximum inbound message
 * size") instead of an RFC 3463 code: with no Diagnostic-Code, that reply is the diagnostic.
 */
export function replyInStatus(status: string | null): string | null {
  const s = (status ?? '').trim();
  return /^[45]\d\d\s+\S/.test(s) ? s : null;
}

/** The Action field; when it is missing or unknown, the status class tells (RFC 3463 section 3.1). */
export function actionOf(action: string | null, status: string | null): DsnAction | null {
  const word = (action ?? '').trim().toLowerCase().split(/[\s(;]/)[0];
  if (isDsnAction(word)) return word;
  const cls = (status ?? '').trim()[0];
  if (cls === '5') return 'failed';
  if (cls === '4') return 'delayed';
  if (cls === '2') return 'delivered';
  return null;
}
