// Checking a DKIM private key file's bytes (README "DKIM"): what is wrong with it, said without
// quoting any of it. Pure: reading the file is the configuration loader's job.
import { createPrivateKey, type KeyObject } from 'node:crypto';

/** RFC 8301 3.2: verifiers may refuse shorter RSA keys; 2048 bits is what to make. */
export const MIN_RSA_BITS = 1024;
/** A PEM RSA key of 8192 bits is under 7 KiB: anything far bigger is not a key file. */
export const MAX_KEY_FILE_BYTES = 64 * 1024;

export type KeyCheck = { ok: true; key: KeyObject } | { ok: false; reason: string };

/** The private key a PEM file holds, or why it cannot sign DKIM. */
export function checkDkimPrivateKey(pem: Buffer): KeyCheck {
  if (pem.length > MAX_KEY_FILE_BYTES) return { ok: false, reason: `is larger than ${MAX_KEY_FILE_BYTES} bytes: not a PEM key file` };
  const text = pem.toString('latin1');
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) {
    const what = /-----BEGIN (PUBLIC KEY|CERTIFICATE)-----/.exec(text)?.[1]?.toLowerCase();
    return { ok: false, reason: what ? `holds a ${what}, not a private key` : 'is not a PEM private key (expected "-----BEGIN PRIVATE KEY-----")' };
  }
  // Checked before parsing: OpenSSL's answer to an encrypted key without a passphrase varies.
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(text)) {
    return { ok: false, reason: 'is encrypted with a passphrase: store it unencrypted, readable only by Rebound' };
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem' });
  } catch {
    // Not OpenSSL's message: our own words, so nothing of the file can be shown.
    return { ok: false, reason: 'is not a readable PEM private key' };
  }
  return keyTypeCheck(key);
}

function keyTypeCheck(key: KeyObject): KeyCheck {
  const type = key.asymmetricKeyType;
  if (type === 'ed25519') {
    // nodemailer's signer makes rsa-sha256 only, and many receivers still verify RSA only.
    return { ok: false, reason: 'is an Ed25519 key, which Rebound cannot sign with yet: use an RSA key (2048 bits)' };
  }
  if (type !== 'rsa') return { ok: false, reason: `is a ${type ?? 'unknown'} key: DKIM signs with RSA (2048 bits)` };
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < MIN_RSA_BITS) return { ok: false, reason: `is an RSA key of ${bits} bits: at least ${MIN_RSA_BITS} (2048 recommended)` };
  return { ok: true, key };
}
