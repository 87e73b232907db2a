// Amazon SES events, as SNS notifications (README "Late outcomes", SES): the SNS envelope is
// verified in sns-signature.ts; its Message is SES's JSON, either a feedback notification
// (`notificationType`) or a configuration set's event (`eventType`). Bounce, Complaint and
// DeliveryDelay become one ProviderEvent per recipient; Delivery, Send, Open, Click and the rest
// are counted as ignored. Pure: no I/O.
import { REBOUND_REF_HEADER, type ProviderEvent } from '../contract';
import type { SnsEnvelope } from './sns-signature';
import { NO_REPLY, diagnosticText, enhancedStatus, instant, isObject, messageIdHeader, objectAt, optionalText, PayloadError, recipientAddress, recordList, replyParts, type JsonObject, type Normalised } from './payload';

type SesEventType = 'Bounce' | 'Complaint' | 'DeliveryDelay';

/** SES's verdict on a bounce: Permanent (do not send again), Transient (it may work later), Undetermined. */
const BOUNCE_PERMANENCE: Record<string, boolean | null> = { Permanent: true, Transient: false, Undetermined: null };

/** The events one SNS notification carries; `Message` is named in errors as the SES JSON's path. */
export function sesEvents(env: SnsEnvelope): Normalised {
  let message: unknown;
  try {
    message = JSON.parse(env.Message);
  } catch {
    throw new PayloadError('Message', 'is not SES JSON (an SES notification or event)');
  }
  const ses = objectAt(message, 'Message');
  const type = optionalText(ses.notificationType ?? ses.eventType, 'Message.eventType', 64);
  if (type !== 'Bounce' && type !== 'Complaint' && type !== 'DeliveryDelay') return { events: [], ignored: 1 };
  const mail = objectAt(ses.mail, 'Message.mail');
  const base = { provider: 'ses' as const, eventId: env.MessageId, ...mailIdentity(mail) };
  return { events: recipientEvents(type, ses, base), ignored: 0 };
}

type Identity = Pick<ProviderEvent, 'queueId' | 'messageIdHeader' | 'reboundRef'>;

/**
 * What names the message: mail.messageId is the id SES answered in its SMTP 250 ("250 Ok <id>");
 * the original headers (when the configuration includes them) give Message-ID and X-Rebound-Ref.
 */
function mailIdentity(mail: JsonObject): Identity {
  const headers = headerValues(mail.headers);
  const common = isObject(mail.commonHeaders) ? mail.commonHeaders : {};
  return {
    queueId: optionalText(mail.messageId, 'Message.mail.messageId'),
    messageIdHeader: messageIdHeader(headers.get('message-id') ?? common.messageId, 'Message.mail.headers[Message-ID]'),
    reboundRef: optionalText(headers.get(REBOUND_REF_HEADER.toLowerCase()), `Message.mail.headers[${REBOUND_REF_HEADER}]`),
  };
}

/** mail.headers: [{name, value}], first of each name, lower-cased names; anything malformed is skipped (the headers are informative). */
function headerValues(headers: unknown): Map<string, unknown> {
  const values = new Map<string, unknown>();
  if (!Array.isArray(headers)) return values;
  for (const h of headers.slice(0, 500)) {
    if (!isObject(h) || typeof h.name !== 'string') continue;
    const name = h.name.toLowerCase();
    if (!values.has(name)) values.set(name, h.value);
  }
  return values;
}

function recipientEvents(type: SesEventType, ses: JsonObject, base: Pick<ProviderEvent, 'provider' | 'eventId'> & Identity): ProviderEvent[] {
  switch (type) {
    case 'Bounce': {
      const bounce = objectAt(ses.bounce, 'Message.bounce');
      const at = instant(bounce.timestamp, 'Message.bounce.timestamp');
      const bounceType = optionalText(bounce.bounceType, 'Message.bounce.bounceType', 32);
      const permanent = bounceType === null ? null : (BOUNCE_PERMANENCE[bounceType] ?? null);
      return recipientsOf(bounce.bouncedRecipients, 'Message.bounce.bouncedRecipients', (r, field) => ({
        ...base,
        ...NO_REPLY,
        ...reply(r, field),
        type: 'bounce',
        recipient: recipientAddress(r.emailAddress, `${field}.emailAddress`),
        at,
        permanent,
      }));
    }
    case 'Complaint': {
      const complaint = objectAt(ses.complaint, 'Message.complaint');
      const at = instant(complaint.timestamp, 'Message.complaint.timestamp');
      const feedbackType = optionalText(complaint.complaintFeedbackType, 'Message.complaint.complaintFeedbackType', 64);
      return recipientsOf(complaint.complainedRecipients, 'Message.complaint.complainedRecipients', (r, field) => ({
        ...base,
        ...NO_REPLY,
        type: 'complaint',
        recipient: recipientAddress(r.emailAddress, `${field}.emailAddress`),
        at,
        feedbackType,
      }));
    }
    case 'DeliveryDelay': {
      const delay = objectAt(ses.deliveryDelay, 'Message.deliveryDelay');
      const at = instant(delay.timestamp, 'Message.deliveryDelay.timestamp');
      return recipientsOf(delay.delayedRecipients, 'Message.deliveryDelay.delayedRecipients', (r, field) => ({
        ...base,
        ...NO_REPLY,
        ...reply(r, field),
        type: 'delayed',
        recipient: recipientAddress(r.emailAddress, `${field}.emailAddress`),
        at,
        permanent: false,
      }));
    }
  }
}

/** A recipient's status and the remote server's reply ("smtp; 550 5.1.1 user unknown"). */
function reply(r: JsonObject, field: string): Pick<ProviderEvent, 'status' | 'code' | 'diagnostic'> {
  const diagnostic = diagnosticText(r.diagnosticCode, `${field}.diagnosticCode`);
  const parts = replyParts(diagnostic);
  return { status: enhancedStatus(r.status, `${field}.status`) ?? parts.status, code: parts.code, diagnostic };
}

function recipientsOf(list: unknown, field: string, one: (r: JsonObject, field: string) => ProviderEvent): ProviderEvent[] {
  const records = recordList(list, field);
  if (records.length === 0) throw new PayloadError(field, 'names no recipient');
  return records.map((r, i) => one(objectAt(r, `${field}[${i}]`), `${field}[${i}]`));
}
