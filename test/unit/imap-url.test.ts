// REBOUND_IMAP_URL as the IMAP poller reads it (src/bounces/imap-url.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isLoopbackHost, parseImapUrl, type ImapMailbox } from '../../src/bounces/imap-url';

test('parseImapUrl: ports, protection and mailbox from the URL', () => {
  const cases: [string, Omit<ImapMailbox, 'user' | 'password'>][] = [
    ['imaps://u:p@imap.example.test', { host: 'imap.example.test', port: 993, security: 'tls', mailbox: 'INBOX' }],
    ['imaps://u:p@imap.example.test:1993/', { host: 'imap.example.test', port: 1993, security: 'tls', mailbox: 'INBOX' }],
    ['imap://u:p@imap.example.test', { host: 'imap.example.test', port: 143, security: 'starttls', mailbox: 'INBOX' }],
    ['imap://u:p@127.0.0.1:1143/Bounces', { host: '127.0.0.1', port: 1143, security: 'starttls-if-offered', mailbox: 'Bounces' }],
    ['imap://u:p@localhost/Bounces%2FDSN', { host: 'localhost', port: 143, security: 'starttls-if-offered', mailbox: 'Bounces/DSN' }],
    ['imap://u:p@[::1]/Reports/Late', { host: '::1', port: 143, security: 'starttls-if-offered', mailbox: 'Reports/Late' }],
    ['imap://u:p@10.0.0.5/INBOX', { host: '10.0.0.5', port: 143, security: 'starttls', mailbox: 'INBOX' }],
  ];
  for (const [url, expected] of cases) {
    const { user: _u, password: _p, ...rest } = parseImapUrl(url);
    assert.deepEqual(rest, expected, url);
  }
});

test('parseImapUrl: the user and password are percent-decoded', () => {
  const m = parseImapUrl('imaps://bounces%40example.test:p%40ss%2Fw%3Ard@imap.example.test');
  assert.equal(m.user, 'bounces@example.test');
  assert.equal(m.password, 'p@ss/w:rd');
});

test('parseImapUrl: bad URLs throw naming the part, never showing the password', () => {
  const cases: [string, RegExp][] = [
    ['not a url', /REBOUND_IMAP_URL is not a URL/],
    ['pop3://u:p@mail.example.test', /must start with imaps:\/\/ or imap:\/\//],
    ['imaps://mail.example.test', /names no user/],
    ['imaps://u@mail.example.test', /has no password/],
    ['imaps://u:%E0%A4%A@mail.example.test', /password is badly percent-encoded/],
    ['imaps://u:p@mail.example.test/%E0%A4%A', /mailbox .* badly percent-encoded/],
    ['imaps://u:p@mail.example.test/a%0Db', /control characters/],
  ];
  for (const [url, message] of cases) {
    assert.throws(() => parseImapUrl(url), (err: Error) => message.test(err.message) && !/%E0%A4%A|:p@/.test(err.message), url);
  }
});

test('isLoopbackHost', () => {
  const cases: [string, boolean][] = [
    ['127.0.0.1', true],
    ['127.1.2.3', true],
    ['localhost', true],
    ['LOCALHOST', true],
    ['::1', true],
    ['[::1]', true],
    ['10.0.0.1', false],
    ['127.example.test', false],
    ['imap.example.test', false],
    ['::ffff:8.8.8.8', false],
  ];
  for (const [host, expected] of cases) assert.equal(isLoopbackHost(host), expected, host);
});
