// Mailgun webhooks (README "Late outcomes", Mailgun): a JSON body {signature, "event-data"}; the
// signature is a hex HMAC-SHA256, with the account's webhook signing key, of timestamp + token.
// It does not cover event-data, so a token is taken for one event only (MailgunTokens): a
// captured signature cannot carry another event. failed/permanent becomes a bounce,
// failed/temporary a delay (Mailgun retries it), complained a complaint; accepted, delivered,
// opened, clicked, unsubscribed and stored are counted as ignored.
import { createHmac } from 'node:crypto';
import type { ProviderEvent } from '../contract';
import { NO_REPLY, diagnosticText, enhancedStatus, instant, isObject, messageIdHeader, objectAt, optionalText, recipientAddress, replyParts, requiredText, type JsonObject, type Normalised } from './payload';
import { refused, sameSecret, VERIFIED, withinWindow, type Verification } from './verification';

/** Mailgun's advice: refuse timestamps far from now; a quarter of an hour either way. */
export const MAILGUN_MAX_SKEW_MS = 15 * 60 * 1000;

export interface MailgunSignature {
  timestamp: string;
  token: string;
  signature: string;
}

/** A Mailgun webhook request: the signature and the event it carries. */
export interface MailgunRequest {
  signature: MailgunSignature;
  eventData: JsonObject;
}

export function parseMailgunRequest(body: unknown): MailgunRequest {
  const o = objectAt(body, 'body');
  const s = objectAt(o.signature, 'signature');
  return {
    signature: {
      timestamp: requiredText(s.timestamp, 'signature.timestamp', 32),
      token: requiredText(s.token, 'signature.token', 256),
      signature: requiredText(s.signature, 'signature.signature', 128),
    },
    eventData: objectAt(o['event-data'], 'event-data'),
  };
}

/** Whether the signature was made with the signing key, recently. */
export function verifyMailgunSignature(signingKey: string, s: MailgunSignature, nowMs: number): Verification {
  if (!/^\d{1,12}$/.test(s.timestamp) || !withinWindow(Number(s.timestamp) * 1000, nowMs, MAILGUN_MAX_SKEW_MS, MAILGUN_MAX_SKEW_MS)) {
    return refused(`signature.timestamp is not Unix seconds within ${MAILGUN_MAX_SKEW_MS / 60000} minutes of now`);
  }
  const expected = createHmac('sha256', signingKey).update(s.timestamp + s.token).digest('hex');
  return sameSecret(s.signature.toLowerCase(), expected) ? VERIFIED : refused('signature.signature does not verify with REBOUND_MAILGUN_SIGNING_KEY');
}

/**
 * Tokens seen in the last MAILGUN_MAX_SKEW_MS (older ones are refused by their timestamp anyway),
 * each with the event it signed. A token seen again with the same event is Mailgun redelivering
 * (stored once by the event id); with another event it is a replayed signature. Bounded: beyond
 * `max` tokens the oldest are forgotten. In this process only: behind several API processes,
 * a replay to another process is still bounded by the timestamp window.
 */
export class MailgunTokens {
  private readonly seen = new Map<string, { eventKey: string; atMs: number }>();

  constructor(private readonly max = 100_000) {}

  /** Records the token for this event; refused when it signed a different event. */
  take(token: string, eventKey: string, nowMs: number): Verification {
    this.forgetBefore(nowMs - 2 * MAILGUN_MAX_SKEW_MS);
    const earlier = this.seen.get(token);
    if (earlier && earlier.eventKey !== eventKey) return refused('signature.token was already used for another event (a replayed signature)');
    if (!earlier) {
      if (this.seen.size >= this.max) this.seen.delete(this.seen.keys().next().value as string);
      this.seen.set(token, { eventKey, atMs: nowMs });
    }
    return VERIFIED;
  }

  get size(): number {
    return this.seen.size;
  }

  private forgetBefore(cutoffMs: number): void {
    // Insertion order is time order: stop at the first token still in the window.
    for (const [token, entry] of this.seen) {
      if (entry.atMs >= cutoffMs) return;
      this.seen.delete(token);
    }
  }
}

/** What a token is bound to: the event's id and recipient. */
export function mailgunEventKey(eventData: JsonObject): string {
  return `${String(eventData.id ?? '')}:${String(eventData.recipient ?? '')}`;
}

/** The event of one webhook request (Mailgun sends one per request). */
export function mailgunEvents(eventData: JsonObject): Normalised {
  const event = mailgunEvent(eventData);
  return event ? { events: [event], ignored: 0 } : { events: [], ignored: 1 };
}

function mailgunEvent(e: JsonObject): ProviderEvent | null {
  const name = optionalText(e.event, 'event-data.event', 64);
  if (name !== 'failed' && name !== 'complained') return null;
  const message = isObject(e.message) ? e.message : {};
  const headers = isObject(message.headers) ? message.headers : {};
  const base = {
    provider: 'mailgun' as const,
    eventId: requiredText(e.id, 'event-data.id'),
    recipient: recipientAddress(e.recipient, 'event-data.recipient'),
    at: instant(e.timestamp, 'event-data.timestamp'),
    // Mailgun's SMTP 250 carries no id; its events name the message by the Message-ID it kept.
    queueId: null,
    messageIdHeader: messageIdHeader(headers['message-id'], 'event-data.message.headers.message-id'),
    reboundRef: null,
    ...NO_REPLY,
  };
  if (name === 'complained') return { ...base, type: 'complaint', feedbackType: 'abuse' };
  const severity = optionalText(e.severity, 'event-data.severity', 32);
  const ds = isObject(e['delivery-status']) ? e['delivery-status'] : {};
  const diagnostic = diagnosticText(ds.message || ds.description, 'event-data.delivery-status.message');
  const parts = replyParts(diagnostic);
  const code = optionalText(ds.code, 'event-data.delivery-status.code', 8);
  return {
    ...base,
    type: severity === 'temporary' ? 'delayed' : 'bounce',
    status: enhancedStatus(ds['enhanced-code'], 'event-data.delivery-status.enhanced-code') ?? parts.status,
    code: code !== null && /^[245]\d\d$/.test(code) ? code : parts.code,
    diagnostic,
    permanent: severity === 'permanent' ? true : severity === 'temporary' ? false : null,
  };
}
