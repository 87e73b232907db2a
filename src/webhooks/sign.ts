// Signing per the Standard Webhooks specification, with its own package: the secret is
// `whsec_` + base64 key, the signature `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`.
import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { WEBHOOK_HEADERS } from './contract';

const SECRET_PREFIX = 'whsec_';

/** A new endpoint secret: 24 random bytes (192 bits), as the specification writes them. */
export function newWebhookSecret(): string {
  return SECRET_PREFIX + randomBytes(24).toString('base64');
}

/** The signed headers of one try: `timestamp` is when this try is sent (receivers check it is recent). */
export function signedHeaders(secret: string, eventId: string, body: string, at: Date): Record<string, string> {
  return {
    [WEBHOOK_HEADERS.id]: eventId,
    [WEBHOOK_HEADERS.timestamp]: String(Math.floor(at.getTime() / 1000)),
    [WEBHOOK_HEADERS.signature]: new Webhook(secret).sign(eventId, at, body),
  };
}
