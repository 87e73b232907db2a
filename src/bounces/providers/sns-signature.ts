// Amazon SNS message signatures (README "Late outcomes", SES): SNS signs a canonical string made of
// some of the message's fields with the key of a certificate it publishes at SigningCertURL.
// Only SignatureVersion 2 (SHA256withRSA) is taken: version 1 is SHA1withRSA, and a topic's
// signature version is the topic owner's choice (SignatureVersion attribute set to 2), so there is
// no reason to accept the weaker hash. Pure: the certificate is fetched in sns-certificates.ts.
import { verify, X509Certificate } from 'node:crypto';
import { objectAt, optionalText, PayloadError, requiredText } from './payload';
import { refused, VERIFIED, withinWindow, type Verification } from './verification';

export const SNS_MESSAGE_TYPES = ['Notification', 'SubscriptionConfirmation', 'UnsubscribeConfirmation'] as const;
export type SnsMessageType = (typeof SNS_MESSAGE_TYPES)[number];

/** The SNS JSON envelope around a message, as POSTed to an HTTP(S) subscription. */
export interface SnsEnvelope {
  Type: SnsMessageType;
  MessageId: string;
  TopicArn: string;
  Message: string;
  Timestamp: string;
  /** The signature's fields; null when absent (an unsigned message, refused by verifySnsSignature). */
  SignatureVersion: string | null;
  Signature: string | null;
  SigningCertURL: string | null;
  Subject: string | null;
  /** Confirmation messages only. */
  SubscribeURL: string | null;
  Token: string | null;
}

/** The SES event itself (Message) may be up to 256 KB; the rest are short. */
const MAX_MESSAGE = 256 * 1024;
const MAX_URL = 2048;

/**
 * How old an SNS message may be. SNS stamps a message when it is published and keeps that stamp on
 * its retries; an HTTP(S) delivery policy retries for at most an hour. A quarter of an hour more
 * covers clock skew. Older ones are refused: the same MessageId is stored once anyway, so this
 * only bounds how long a captured message could be replayed.
 */
export const SNS_MAX_AGE_MS = 75 * 60 * 1000;
const SNS_MAX_FUTURE_MS = 15 * 60 * 1000;

/** Reads the envelope; a body that is not one is a PayloadError naming the field. */
export function parseSnsEnvelope(body: unknown): SnsEnvelope {
  const o = objectAt(body, 'body');
  const type = requiredText(o.Type, 'Type', 64);
  if (!(SNS_MESSAGE_TYPES as readonly string[]).includes(type)) throw new PayloadError('Type', `must be one of ${SNS_MESSAGE_TYPES.join(', ')}; is this an SNS message (raw message delivery must be off)?`);
  const confirmation = type !== 'Notification';
  return {
    Type: type as SnsMessageType,
    MessageId: requiredText(o.MessageId, 'MessageId'),
    TopicArn: requiredText(o.TopicArn, 'TopicArn', 512),
    Message: requiredMessage(o.Message),
    Timestamp: requiredText(o.Timestamp, 'Timestamp', 64),
    SignatureVersion: optionalText(o.SignatureVersion, 'SignatureVersion', 8),
    Signature: optionalText(o.Signature, 'Signature', 4096),
    SigningCertURL: optionalText(o.SigningCertURL, 'SigningCertURL', MAX_URL),
    Subject: optionalRaw(o.Subject, 'Subject', 1024),
    SubscribeURL: confirmation ? requiredText(o.SubscribeURL, 'SubscribeURL', MAX_URL) : null,
    Token: confirmation ? requiredText(o.Token, 'Token', 4096) : null,
  };
}

/** Message is signed as sent: not trimmed. */
function requiredMessage(value: unknown): string {
  if (typeof value !== 'string') throw new PayloadError('Message', 'is required: a string');
  if (value.length > MAX_MESSAGE) throw new PayloadError('Message', `is longer than ${MAX_MESSAGE} characters`);
  return value;
}

/** Subject is signed as sent too; present only when the publisher gave one. */
function optionalRaw(value: unknown, field: string, max: number): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || value.length > max) return optionalText(value, field, max);
  return value;
}

/**
 * The string SNS signs: "Name\nvalue\n" for each field of the message's type, in this order.
 * Subject is in it only when the notification has one.
 */
export function snsStringToSign(env: SnsEnvelope): string {
  const fields: [string, string | null][] =
    env.Type === 'Notification'
      ? [['Message', env.Message], ['MessageId', env.MessageId], ['Subject', env.Subject], ['Timestamp', env.Timestamp], ['TopicArn', env.TopicArn], ['Type', env.Type]]
      : [['Message', env.Message], ['MessageId', env.MessageId], ['SubscribeURL', env.SubscribeURL], ['Timestamp', env.Timestamp], ['Token', env.Token], ['TopicArn', env.TopicArn], ['Type', env.Type]];
  return fields.filter(([, value]) => value !== null).map(([name, value]) => `${name}\n${value}\n`).join('');
}

/** The SNS endpoint host of a region: sns.<region>.amazonaws.com (or .amazonaws.com.cn in China). */
const SNS_HOST = /^sns\.[a-z]{2}(?:-[a-z]+)+-\d\.amazonaws\.com(?:\.cn)?$/;

/**
 * Whether a URL SNS gave (SigningCertURL, SubscribeURL) is on SNS itself: https, an SNS regional
 * host, default port, no credentials. Anything else could make Rebound fetch a key from, or send
 * a request to, a host of the sender's choosing.
 */
export function isSnsUrl(raw: string): boolean {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return false;
  }
  return url.protocol === 'https:' && SNS_HOST.test(url.hostname) && url.port === '' && url.username === '' && url.password === '';
}

/** Whether SigningCertURL may be fetched: on SNS, and a .pem file. */
export function checkSigningCertUrl(raw: string | null): Verification {
  if (raw === null) return refused('no SigningCertURL: the message is not signed');
  if (!isSnsUrl(raw)) return refused('SigningCertURL is not an https URL on an sns.<region>.amazonaws.com host');
  if (!new URL(raw).pathname.endsWith('.pem')) return refused('SigningCertURL is not a .pem certificate');
  return VERIFIED;
}

/** Whether the topic is one Rebound was told to accept (REBOUND_SES_TOPIC_ARNS). */
export function checkTopic(env: SnsEnvelope, topicArns: readonly string[]): Verification {
  return topicArns.includes(env.TopicArn) ? VERIFIED : refused(`TopicArn ${env.TopicArn} is not in REBOUND_SES_TOPIC_ARNS`);
}

/** Whether the message was signed with the certificate's key, by SignatureVersion 2, and is recent. */
export function verifySnsSignature(env: SnsEnvelope, cert: X509Certificate, nowMs: number): Verification {
  if (env.Signature === null || env.SignatureVersion === null) return refused('no Signature or SignatureVersion: the message is not signed');
  if (env.SignatureVersion !== '2') return refused(`SignatureVersion ${env.SignatureVersion} is not taken; set the topic's SignatureVersion attribute to 2 (SHA256withRSA)`);
  if (!withinWindow(Date.parse(env.Timestamp), nowMs, SNS_MAX_AGE_MS, SNS_MAX_FUTURE_MS)) return refused(`Timestamp ${env.Timestamp} is more than ${SNS_MAX_AGE_MS / 60000} minutes old, in the future, or not a date`);
  const signature = Buffer.from(env.Signature, 'base64');
  if (signature.length === 0) return refused('Signature is not base64');
  let valid: boolean;
  try {
    valid = verify('sha256', Buffer.from(snsStringToSign(env), 'utf8'), cert.publicKey, signature);
  } catch {
    valid = false;
  }
  return valid ? VERIFIED : refused('Signature does not verify against the signing certificate');
}
