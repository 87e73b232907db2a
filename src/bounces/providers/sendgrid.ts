// SendGrid's signed Event Webhook (README "Late outcomes", SendGrid): a JSON array of events,
// signed with ECDSA (P-256, SHA-256) over the timestamp header followed by the raw body bytes;
// the verification key is the account's public key, base64 DER (SubjectPublicKeyInfo).
// bounce and blocked become bounces, deferred a delay, spamreport a complaint; processed,
// delivered, dropped (SendGrid never sent it: its own suppression list), opens, clicks and
// unsubscribes are counted as ignored.
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import type { ProviderEvent } from '../contract';
import { NO_REPLY, diagnosticText, enhancedStatus, instant, messageIdHeader, objectAt, optionalText, recipientAddress, recordList, replyParts, requiredText, type JsonObject, type Normalised } from './payload';
import { refused, VERIFIED, withinWindow, type Verification } from './verification';

export const SENDGRID_SIGNATURE_HEADER = 'x-twilio-email-event-webhook-signature';
export const SENDGRID_TIMESTAMP_HEADER = 'x-twilio-email-event-webhook-timestamp';

/**
 * How old a signed batch may be. SendGrid retries a batch it could not deliver for up to 24 hours,
 * and does not document whether a retry is signed anew; a replayed batch is stored once anyway
 * (sg_event_id), so the window only bounds replays of a captured batch.
 */
export const SENDGRID_MAX_AGE_MS = 25 * 60 * 60 * 1000;
const SENDGRID_MAX_FUTURE_MS = 15 * 60 * 1000;

/** The verification key; throws at start, naming the setting, when it is not a P-256 public key. */
export function sendgridVerificationKey(base64Der: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(base64Der, 'base64'), format: 'der', type: 'spki' });
  } catch (err) {
    throw new Error(`REBOUND_SENDGRID_VERIFICATION_KEY is not a base64 DER public key (copy it from the Signed Event Webhook settings): ${(err as Error).message}`);
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new Error('REBOUND_SENDGRID_VERIFICATION_KEY must be an ECDSA P-256 public key, as SendGrid shows it for the Signed Event Webhook');
  }
  return key;
}

export interface SendgridSignedRequest {
  signature: string | undefined;
  timestamp: string | undefined;
  rawBody: Buffer;
}

/** Whether the body was signed with the account's key, and recently. */
export function verifySendgridSignature(key: KeyObject, req: SendgridSignedRequest, nowMs: number): Verification {
  if (!req.signature || !req.timestamp) return refused(`no ${SENDGRID_SIGNATURE_HEADER} or ${SENDGRID_TIMESTAMP_HEADER} header; turn on the Signed Event Webhook`);
  if (!/^\d{1,12}$/.test(req.timestamp) || !withinWindow(Number(req.timestamp) * 1000, nowMs, SENDGRID_MAX_AGE_MS, SENDGRID_MAX_FUTURE_MS)) {
    return refused(`${SENDGRID_TIMESTAMP_HEADER} is not Unix seconds within the last ${SENDGRID_MAX_AGE_MS / 3600000} hours`);
  }
  const signature = Buffer.from(req.signature, 'base64');
  let valid: boolean;
  try {
    valid = signature.length > 0 && verify('sha256', Buffer.concat([Buffer.from(req.timestamp, 'utf8'), req.rawBody]), { key, dsaEncoding: 'der' }, signature);
  } catch {
    valid = false;
  }
  return valid ? VERIFIED : refused(`${SENDGRID_SIGNATURE_HEADER} does not verify against REBOUND_SENDGRID_VERIFICATION_KEY`);
}

/** The events of one webhook request: an array of SendGrid events. */
export function sendgridEvents(body: unknown): Normalised {
  const records = recordList(body, 'body');
  const events: ProviderEvent[] = [];
  let ignored = 0;
  records.forEach((record, i) => {
    const event = sendgridEvent(objectAt(record, `[${i}]`), `[${i}]`);
    if (event) events.push(event);
    else ignored += 1;
  });
  return { events, ignored };
}

function sendgridEvent(e: JsonObject, field: string): ProviderEvent | null {
  const name = optionalText(e.event, `${field}.event`, 64);
  if (name !== 'bounce' && name !== 'deferred' && name !== 'spamreport') return null;
  const base = {
    provider: 'sendgrid' as const,
    eventId: requiredText(e.sg_event_id, `${field}.sg_event_id`),
    recipient: recipientAddress(e.email, `${field}.email`),
    at: instant(e.timestamp, `${field}.timestamp`),
    queueId: queueIdOf(optionalText(e.sg_message_id, `${field}.sg_message_id`)),
    messageIdHeader: messageIdHeader(e['smtp-id'], `${field}.smtp-id`),
    reboundRef: null,
    ...NO_REPLY,
  };
  switch (name) {
    case 'bounce': {
      // "bounce" is the receiving server refusing the address; "blocked" is it refusing the
      // message or the sending IP, which SendGrid does not suppress: not permanent.
      const type = optionalText(e.type, `${field}.type`, 32);
      const diagnostic = diagnosticText(e.reason, `${field}.reason`);
      const parts = replyParts(diagnostic);
      return { ...base, type: 'bounce', status: enhancedStatus(e.status, `${field}.status`) ?? parts.status, code: parts.code, diagnostic, permanent: type === 'bounce' ? true : type === 'blocked' ? false : null };
    }
    case 'deferred': {
      const diagnostic = diagnosticText(e.response, `${field}.response`);
      const parts = replyParts(diagnostic);
      return { ...base, type: 'delayed', status: enhancedStatus(e.status, `${field}.status`) ?? parts.status, code: parts.code, diagnostic, permanent: false };
    }
    case 'spamreport':
      return { ...base, type: 'complaint', feedbackType: 'abuse' };
  }
}

/** sg_message_id is the X-Message-Id SendGrid answered in its 250 ("queued as <id>"), a dot, then its own suffix. */
export function queueIdOf(sgMessageId: string | null): string | null {
  if (sgMessageId === null) return null;
  const id = sgMessageId.split('.')[0];
  return id === '' ? null : id;
}
