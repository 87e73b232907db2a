// A real IMAP server for a test: Debian's Dovecot (dovecot-imapd, installed by
// `scripts/setup.sh --tests`), started from the test with its own configuration in a temporary
// folder, listening on free ports on 127.0.0.1 only, with one user and a maildir of its own.
// Nothing of the system's Dovecot (its configuration, its service) is used or touched.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';

export const DOVECOT_BINARY = '/usr/sbin/dovecot';

export interface DovecotOptions {
  /** Also serve TLS: implicit on an imaps port, and STARTTLS on the imap one, with a self-signed certificate for 127.0.0.1. */
  tls?: boolean;
}

export interface Dovecot {
  host: '127.0.0.1';
  imapPort: number;
  /** null without `tls`. */
  imapsPort: number | null;
  user: string;
  password: string;
  /** The self-signed certificate (PEM) the server presents, for the client to trust; null without `tls`. */
  ca: string | null;
  /** An URL for REBOUND_IMAP_URL: imap:// on the imap port, imaps:// on the imaps one. */
  url(scheme: 'imap' | 'imaps', mailbox?: string): string;
  stop(): Promise<void>;
}

/** Why Dovecot cannot run here, or null when it can. */
export function dovecotMissing(): string | null {
  if (existsSync(DOVECOT_BINARY)) return null;
  return `${DOVECOT_BINARY} is missing: install Debian's dovecot-imapd (\`bash scripts/setup.sh --tests\` does it as root)`;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Which system users the server's processes run as: Dovecot refuses root for its login and mail processes. */
function accounts(): { internal: string; internalGroup: string; login: string; mailUid: number; mailGid: number } {
  const id = (...args: string[]) => execFileSync('id', args, { encoding: 'utf8' }).trim();
  const me = userInfo();
  // Unprivileged: every process runs as this user, which can chown nothing to anyone else.
  if (me.uid !== 0) return { internal: me.username, internalGroup: id('-gn'), login: me.username, mailUid: me.uid, mailGid: me.gid };
  return { internal: 'dovecot', internalGroup: 'dovecot', login: 'dovenull', mailUid: Number(id('-u', 'nobody')), mailGid: Number(id('-g', 'nobody')) };
}

function selfSignedCertificate(dir: string): { cert: string; key: string } {
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  return { cert, key };
}

interface ConfigInput {
  dir: string;
  imapPort: number;
  imapsPort: number | null;
  certificate: { cert: string; key: string } | null;
  users: string;
  account: ReturnType<typeof accounts>;
}

function configuration(c: ConfigInput): string {
  const ssl = c.certificate
    ? [`ssl = yes`, `ssl_cert = <${c.certificate.cert}`, `ssl_key = <${c.certificate.key}`, ...(existsSync('/usr/share/dovecot/dh.pem') ? ['ssl_dh = </usr/share/dovecot/dh.pem'] : [])]
    : ['ssl = no'];
  return [
    'protocols = imap',
    'listen = 127.0.0.1',
    `base_dir = ${c.dir}/run`,
    `state_dir = ${c.dir}/state`,
    `instance_name = rebound-test-${path.basename(c.dir)}`,
    `log_path = ${c.dir}/dovecot.log`,
    ...ssl,
    // Loopback counts as secured for Dovecot; this also lets the plain listener take a login.
    'disable_plaintext_auth = no',
    'auth_mechanisms = plain login',
    // A test of a wrong password must not slow the logins of the tests after it.
    'auth_failure_delay = 0',
    'login_trusted_networks = 127.0.0.0/8',
    `default_internal_user = ${c.account.internal}`,
    `default_internal_group = ${c.account.internalGroup}`,
    `default_login_user = ${c.account.login}`,
    'first_valid_uid = 1',
    `mail_location = maildir:${c.dir}/mail/Maildir`,
    'passdb {',
    '  driver = passwd-file',
    `  args = scheme=PLAIN ${c.users}`,
    '}',
    'userdb {',
    '  driver = passwd-file',
    `  args = ${c.users}`,
    '}',
    'service imap-login {',
    '  chroot =',
    '  inet_listener imap {',
    '    address = 127.0.0.1',
    `    port = ${c.imapPort}`,
    '  }',
    '  inet_listener imaps {',
    '    address = 127.0.0.1',
    `    port = ${c.imapsPort ?? 0}`,
    ...(c.imapsPort ? ['    ssl = yes'] : []),
    '  }',
    '}',
    'service anvil {',
    '  chroot =',
    '}',
    '',
  ].join('\n');
}

/** Resolves once the port greets with `* OK`. */
async function waitForGreeting(port: number, server: ChildProcess, logFile: string, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (server.exitCode !== null) throw new Error(`Dovecot exited with ${server.exitCode} before it served; its log:\n${readLog(logFile)}`);
    if (await greets(port)) return;
    if (Date.now() > until) throw new Error(`Dovecot did not greet on 127.0.0.1:${port} within ${timeoutMs} ms; its log:\n${readLog(logFile)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function greets(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let seen = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(3000, () => done(false));
    socket.on('error', () => done(false));
    socket.on('data', (chunk) => {
      seen += chunk.toString('latin1');
      if (/\* OK .*ready/i.test(seen)) done(true);
    });
  });
}

function readLog(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-30).join('\n');
  } catch {
    return '(no log)';
  }
}

export async function startDovecot(opts: DovecotOptions = {}): Promise<Dovecot> {
  const dir = mkdtempSync(path.join(tmpdir(), 'rebound-dovecot-'));
  // The login and mail processes run as other users (root is refused): they must reach the folder.
  chmodSync(dir, 0o755);
  const account = accounts();
  const user = 'bounces';
  // '@' and '/' must be percent-encoded in the URL: the poller has to decode them.
  const password = `${randomBytes(12).toString('base64url')}@/`;
  const mailHome = path.join(dir, 'mail');
  mkdirSync(mailHome);
  mkdirSync(path.join(dir, 'state'));
  if (userInfo().uid === 0) chownSync(mailHome, account.mailUid, account.mailGid);
  const users = path.join(dir, 'users');
  writeFileSync(users, `${user}:{PLAIN}${password}:${account.mailUid}:${account.mailGid}::${mailHome}\n`, { mode: 0o644 });
  const certificate = opts.tls ? selfSignedCertificate(dir) : null;
  const imapPort = await freePort();
  const imapsPort = opts.tls ? await freePort() : null;
  const conf = path.join(dir, 'dovecot.conf');
  writeFileSync(conf, configuration({ dir, imapPort, imapsPort, certificate, users, account }));
  const logFile = path.join(dir, 'dovecot.log');

  const server = spawn(DOVECOT_BINARY, ['-F', '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  server.stderr?.on('data', (chunk) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
  // A test process that dies must not leave a Dovecot behind.
  const killOnExit = () => server.kill('SIGKILL');
  process.once('exit', killOnExit);
  const stop = async () => {
    process.removeListener('exit', killOnExit);
    if (server.exitCode === null && server.signalCode === null) {
      server.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    // The master binds every listener before it serves any: the imap port greeting is enough.
    await waitForGreeting(imapPort, server, logFile);
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}${stderr ? `\nstderr: ${stderr}` : ''}`);
  }
  return {
    host: '127.0.0.1',
    imapPort,
    imapsPort,
    user,
    password,
    ca: certificate ? readFileSync(certificate.cert, 'utf8') : null,
    url(scheme, mailbox = 'INBOX') {
      const port = scheme === 'imaps' ? imapsPort : imapPort;
      if (port === null) throw new Error('this Dovecot was started without tls: it has no imaps port');
      return `${scheme}://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(mailbox)}`;
    },
    stop,
  };
}
