// Postmark webhooks (README "Late outcomes", Postmark): Postmark signs nothing; the webhook URL
// carries basic-auth credentials (https://user:password@host/v1/inbound/postmark), checked in
// constant time. The body is one record: a Bounce (its Type says which kind), or a
// SpamComplaint; Delivery, Open, Click and SubscriptionChange are counted as ignored.
import type { ProviderEvent } from '../contract';
import { diagnosticText, instant, objectAt, optionalText, recipientAddress, replyParts, requiredText, type Normalised } from './payload';
import { refused, sameSecret, VERIFIED, type Verification } from './verification';

export interface BasicAuth {
  user: string;
  password: string;
}

/** Whether the Authorization header carries the configured user and password. */
export function verifyPostmarkAuth(header: string | undefined, expected: BasicAuth): Verification {
  const m = /^Basic +([A-Za-z0-9+/=]{1,1024}) *$/i.exec(header ?? '');
  if (!m) return refused('no basic-auth credentials; put user:password from REBOUND_POSTMARK_WEBHOOK_AUTH in the webhook URL');
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const user = colon < 0 ? decoded : decoded.slice(0, colon);
  const password = colon < 0 ? '' : decoded.slice(colon + 1);
  // Both compared, always, so the time taken does not tell which one was wrong.
  const userOk = sameSecret(user, expected.user);
  const passwordOk = sameSecret(password, expected.password);
  return userOk && passwordOk ? VERIFIED : refused('the basic-auth credentials are not those of REBOUND_POSTMARK_WEBHOOK_AUTH');
}

type Kind = { type: 'bounce'; permanent: boolean | null } | { type: 'complaint' } | null;

/**
 * What each Postmark bounce Type is. Postmark files auto-replies, subscribe/unsubscribe requests,
 * address changes, challenge and virus notices under bounces too: none of them says the address
 * fails, so they are ignored, as is its own deactivation of an address.
 */
const BOUNCE_KINDS: Record<string, Kind> = {
  HardBounce: { type: 'bounce', permanent: true },
  BadEmailAddress: { type: 'bounce', permanent: true },
  SoftBounce: { type: 'bounce', permanent: false },
  Transient: { type: 'bounce', permanent: false },
  DnsError: { type: 'bounce', permanent: false },
  Blocked: { type: 'bounce', permanent: false },
  DMARCPolicy: { type: 'bounce', permanent: false },
  Unknown: { type: 'bounce', permanent: null },
  SpamComplaint: { type: 'complaint' },
  SpamNotification: { type: 'complaint' },
};

/** The event of one webhook request (Postmark sends one record per request). */
export function postmarkEvents(body: unknown): Normalised {
  const r = objectAt(body, 'body');
  const recordType = optionalText(r.RecordType, 'RecordType', 64);
  if (recordType !== 'Bounce' && recordType !== 'SpamComplaint') return { events: [], ignored: 1 };
  const kind = recordType === 'SpamComplaint' ? { type: 'complaint' as const } : (BOUNCE_KINDS[requiredText(r.Type, 'Type', 64)] ?? null);
  if (kind === null) return { events: [], ignored: 1 };
  const diagnostic = diagnosticText(r.Details || r.Description, 'Details');
  const parts = replyParts(diagnostic?.replace(/^smtp;\s*/i, '') ?? null);
  const event: ProviderEvent = {
    provider: 'postmark',
    eventId: requiredText(r.ID, 'ID'),
    type: kind.type,
    recipient: recipientAddress(r.Email, 'Email'),
    at: instant(r.BouncedAt, 'BouncedAt'),
    // Postmark's own id of the message (what its API returns on send); its documentation does not
    // say its SMTP 250 quotes it, so correlation may have only this and the recipient.
    queueId: optionalText(r.MessageID, 'MessageID'),
    messageIdHeader: null,
    reboundRef: null,
    status: kind.type === 'bounce' ? parts.status : null,
    code: kind.type === 'bounce' ? parts.code : null,
    diagnostic: kind.type === 'bounce' ? diagnostic : null,
    permanent: kind.type === 'bounce' ? kind.permanent : null,
    feedbackType: kind.type === 'complaint' ? 'abuse' : null,
  };
  return { events: [event], ignored: 0 };
}
