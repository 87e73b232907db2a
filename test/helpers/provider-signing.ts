// Signing webhook requests as each provider does (README "Late outcomes", provider webhooks), for
// the tests: a local SNS certificate made with the openssl CLI, a SendGrid ECDSA key pair,
// Mailgun's HMAC, Postmark's basic auth. Written from the providers' documented schemes, apart
// from the code under test, so a test that passes is one where both sides agree.
import { execFileSync } from 'node:child_process';
import { createHmac, generateKeyPairSync, randomBytes, randomUUID, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SnsSigner {
  /** The certificate as PEM, and where it is written (REBOUND_SNS_CERT_FILE). */
  certPem: string;
  certFile: string;
  cert: X509Certificate;
  privateKeyPem: string;
  cleanup(): void;
}

/** A self-signed RSA certificate, as SNS signs with, made by `openssl req -x509`. */
export function makeSnsSigner(): SnsSigner {
  const dir = mkdtempSync(join(tmpdir(), 'rebound-sns-'));
  const keyFile = join(dir, 'key.pem');
  const certFile = join(dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', '/CN=sns.test.local'], { stdio: 'ignore' });
  const certPem = readFileSync(certFile, 'utf8');
  return { certPem, certFile, cert: new X509Certificate(certPem), privateKeyPem: readFileSync(keyFile, 'utf8'), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export type SnsFields = Record<string, string>;

/** The fields SNS signs, per message type, in its order. */
const SIGNED_FIELDS: Record<string, string[]> = {
  Notification: ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type'],
  SubscriptionConfirmation: ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'],
  UnsubscribeConfirmation: ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'],
};

/** Adds SignatureVersion 2, SigningCertURL and Signature to an SNS message. */
export function signSns(signer: SnsSigner, fields: SnsFields, certUrl = 'https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0000.pem'): SnsFields {
  const text = SIGNED_FIELDS[fields.Type]
    .filter((name) => fields[name] !== undefined)
    .map((name) => `${name}\n${fields[name]}\n`)
    .join('');
  const signature = sign('sha256', Buffer.from(text, 'utf8'), signer.privateKeyPem).toString('base64');
  return { ...fields, SignatureVersion: '2', SigningCertURL: certUrl, Signature: signature };
}

/** An SNS Notification around an SES event. */
export function snsNotification(topicArn: string, sesEvent: unknown, extra: Partial<SnsFields> = {}): SnsFields {
  return {
    Type: 'Notification',
    MessageId: randomUUID(),
    TopicArn: topicArn,
    Message: JSON.stringify(sesEvent),
    Timestamp: new Date().toISOString(),
    UnsubscribeURL: 'https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe',
    ...extra,
  };
}

export interface SendgridSigner {
  /** base64 DER SubjectPublicKeyInfo, as SendGrid shows the verification key. */
  verificationKey: string;
  privateKey: KeyObject;
}

export function makeSendgridSigner(): SendgridSigner {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return { verificationKey: publicKey.export({ format: 'der', type: 'spki' }).toString('base64'), privateKey };
}

/** SendGrid's two headers for a body: the timestamp, and the DER ECDSA signature over timestamp + body. */
export function signSendgrid(signer: SendgridSigner, body: string, timestamp = String(Math.floor(Date.now() / 1000))): Record<string, string> {
  const signature = sign('sha256', Buffer.concat([Buffer.from(timestamp), Buffer.from(body)]), { key: signer.privateKey, dsaEncoding: 'der' }).toString('base64');
  return { 'x-twilio-email-event-webhook-signature': signature, 'x-twilio-email-event-webhook-timestamp': timestamp };
}

/** Mailgun's signature block: hex HMAC-SHA256 of timestamp + token. */
export function signMailgun(signingKey: string, timestamp = String(Math.floor(Date.now() / 1000)), token = randomBytes(25).toString('hex')): { timestamp: string; token: string; signature: string } {
  return { timestamp, token, signature: createHmac('sha256', signingKey).update(timestamp + token).digest('hex') };
}

export function basicAuth(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}
