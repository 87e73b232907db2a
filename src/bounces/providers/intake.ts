// Each provider's webhook from request to events (README "Late outcomes", provider webhooks):
// authenticate, then normalise. Framework-free: the HTTP route (src/api/routes/inbound.ts) hands
// over the headers and the raw body, stores the events and answers. Refusals are thrown:
// SignatureRejected (401), PayloadError (400), TooManyEventsError (413),
// ServiceUnavailableError (503: a certificate or a subscription confirmation could not be had).
import type { ReboundConfig } from '../../config';
import type { ProviderName } from '../contract';
import { mailgunEventKey, mailgunEvents, MailgunTokens, parseMailgunRequest, verifyMailgunSignature } from './mailgun';
import { parseJsonBody, type Normalised } from './payload';
import { postmarkEvents, verifyPostmarkAuth, type BasicAuth } from './postmark';
import { SENDGRID_SIGNATURE_HEADER, SENDGRID_TIMESTAMP_HEADER, sendgridEvents, sendgridVerificationKey, verifySendgridSignature } from './sendgrid';
import { sesEvents } from './ses';
import { certificateFromFile, fetchedCertificates, type SnsCertificates } from './sns-certificates';
import { checkSigningCertUrl, checkTopic, parseSnsEnvelope, verifySnsSignature } from './sns-signature';
import { confirmSubscription } from './sns-subscription';
import { requireVerified } from './verification';

export interface WebhookRequest {
  /** Lower-case names, as node gives them. */
  headers: Record<string, string | string[] | undefined>;
  rawBody: Buffer;
}

export interface IntakeResult extends Normalised {
  /** SES only: a SubscriptionConfirmation was confirmed. */
  subscriptionConfirmed?: boolean;
}

export interface ProviderIntake {
  provider: ProviderName;
  /** Checked before the body is read, where the provider authenticates by header alone (Postmark). */
  authenticate?(headers: WebhookRequest['headers']): void;
  receive(request: WebhookRequest): Promise<IntakeResult>;
}

function header(headers: WebhookRequest['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The intakes the configuration turns on; a provider left unset is absent (its route answers 404). Throws, naming the setting, on a key that cannot be used. */
export function providerIntakes(config: ReboundConfig['providers'], now: () => number = Date.now): Partial<Record<ProviderName, ProviderIntake>> {
  const intakes: Partial<Record<ProviderName, ProviderIntake>> = {};
  if (config.ses) intakes.ses = sesIntake(config.ses.topicArns, config.ses.certFile ? certificateFromFile(config.ses.certFile) : fetchedCertificates(), now);
  if (config.sendgridVerificationKey) intakes.sendgrid = sendgridIntake(config.sendgridVerificationKey, now);
  if (config.mailgunSigningKey) intakes.mailgun = mailgunIntake(config.mailgunSigningKey, now);
  if (config.postmarkAuth) intakes.postmark = postmarkIntake(config.postmarkAuth);
  return intakes;
}

export function sesIntake(topicArns: readonly string[], certificates: SnsCertificates, now: () => number): ProviderIntake {
  return {
    provider: 'ses',
    async receive({ rawBody }) {
      const envelope = parseSnsEnvelope(parseJsonBody(rawBody));
      // The topic first: a message for someone else's topic costs no certificate fetch.
      requireVerified(checkTopic(envelope, topicArns));
      if (!certificates.pinned) requireVerified(checkSigningCertUrl(envelope.SigningCertURL));
      const cert = await certificates.certificateFor(envelope.SigningCertURL);
      requireVerified(verifySnsSignature(envelope, cert, now()));
      switch (envelope.Type) {
        case 'Notification':
          return sesEvents(envelope);
        case 'SubscriptionConfirmation':
          await confirmSubscription(envelope.SubscribeURL as string, { anyHost: certificates.pinned });
          return { events: [], ignored: 0, subscriptionConfirmed: true };
        case 'UnsubscribeConfirmation':
          return { events: [], ignored: 1 };
      }
    },
  };
}

export function sendgridIntake(verificationKey: string, now: () => number): ProviderIntake {
  const key = sendgridVerificationKey(verificationKey);
  return {
    provider: 'sendgrid',
    async receive({ headers, rawBody }) {
      const signature = header(headers, SENDGRID_SIGNATURE_HEADER);
      const timestamp = header(headers, SENDGRID_TIMESTAMP_HEADER);
      requireVerified(verifySendgridSignature(key, { signature, timestamp, rawBody }, now()));
      return sendgridEvents(parseJsonBody(rawBody));
    },
  };
}

export function mailgunIntake(signingKey: string, now: () => number): ProviderIntake {
  const tokens = new MailgunTokens();
  return {
    provider: 'mailgun',
    async receive({ rawBody }) {
      const request = parseMailgunRequest(parseJsonBody(rawBody));
      const at = now();
      requireVerified(verifyMailgunSignature(signingKey, request.signature, at));
      requireVerified(tokens.take(request.signature.token, mailgunEventKey(request.eventData), at));
      return mailgunEvents(request.eventData);
    },
  };
}

export function postmarkIntake(auth: BasicAuth): ProviderIntake {
  return {
    provider: 'postmark',
    authenticate(headers) {
      requireVerified(verifyPostmarkAuth(header(headers, 'authorization'), auth));
    },
    async receive({ rawBody }) {
      return postmarkEvents(parseJsonBody(rawBody));
    },
  };
}
