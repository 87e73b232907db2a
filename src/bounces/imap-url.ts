// REBOUND_IMAP_URL as the poller reads it (README "Late outcomes", IMAP): where the bounce
// mailbox is, how to reach it safely, and which folder to empty. Errors name the variable and the
// part that is wrong, never the value: the URL holds a password.
import { isIP } from 'node:net';

/**
 * How the connection is protected: `tls` from the first byte (imaps://); `starttls` required
 * before login (imap:// to any host but loopback); `starttls-if-offered` (imap:// to loopback,
 * where a test server or a local Dovecot may have no TLS at all and nothing crosses a network).
 */
export type ImapSecurity = 'tls' | 'starttls' | 'starttls-if-offered';

export interface ImapMailbox {
  host: string;
  port: number;
  security: ImapSecurity;
  user: string;
  password: string;
  /** The folder polled, from the URL's path; INBOX when it has none. */
  mailbox: string;
}

const DEFAULT_PORTS = { 'imaps:': 993, 'imap:': 143 } as const;

/** 127.0.0.0/8, ::1 and localhost: a plaintext login there never leaves the machine. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (bare === 'localhost' || bare === '::1') return true;
  return isIP(bare) === 4 && bare.startsWith('127.');
}

export function parseImapUrl(raw: string): ImapMailbox {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error('REBOUND_IMAP_URL is not a URL; expected imaps://user:password@host[:port][/mailbox] (value not shown: it holds a password)');
  }
  if (url.protocol !== 'imaps:' && url.protocol !== 'imap:') {
    throw new Error(`REBOUND_IMAP_URL must start with imaps:// or imap://, got ${url.protocol}//`);
  }
  if (!url.hostname) throw new Error('REBOUND_IMAP_URL names no host');
  if (!url.username) throw new Error('REBOUND_IMAP_URL names no user (imaps://user:password@host)');
  if (!url.password) throw new Error('REBOUND_IMAP_URL has no password (imaps://user:password@host); percent-encode one that holds @, : or /');
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = url.port ? Number(url.port) : DEFAULT_PORTS[url.protocol];
  const security: ImapSecurity = url.protocol === 'imaps:' ? 'tls' : isLoopbackHost(host) ? 'starttls-if-offered' : 'starttls';
  return {
    host,
    port,
    security,
    user: decodePart(url.username, 'user'),
    password: decodePart(url.password, 'password'),
    mailbox: mailboxFromPath(url.pathname),
  };
}

function decodePart(part: string, name: 'user' | 'password'): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new Error(`REBOUND_IMAP_URL: the ${name} is badly percent-encoded (value not shown)`);
  }
}

/** `/` or nothing: INBOX; `/Bounces/DSN` is the folder `Bounces/DSN` (hierarchy as the server spells it). */
function mailboxFromPath(pathname: string): string {
  const path = pathname.replace(/^\/+|\/+$/g, '');
  if (!path) return 'INBOX';
  let mailbox: string;
  try {
    mailbox = decodeURIComponent(path);
  } catch {
    throw new Error('REBOUND_IMAP_URL: the mailbox (the path after the host) is badly percent-encoded');
  }
  if (/[\u0000-\u001f\u007f]/.test(mailbox)) throw new Error('REBOUND_IMAP_URL: the mailbox (the path after the host) holds control characters');
  return mailbox;
}
