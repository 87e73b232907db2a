// One pooled nodemailer transport per worker process, configured from REBOUND_SMTP_URL:
//   smtp://[user:pass@]host[:port][?starttls=required|opportunistic|never&pool=5]
//   smtps://[user:pass@]host[:port]            (implicit TLS, port 465 by default)
import { SmtpPool, type SmtpPoolOptions } from './pool';

export type SmtpTransport = SmtpPool;

const STARTTLS_POLICIES = ['required', 'opportunistic', 'never'] as const;
const DEFAULT_POOL_SIZE = 5;

/** `pool=N`, the connections kept open to the relay; a bad value stops the worker, like starttls. */
function poolSize(value: string | null): number {
  if (value === null) return DEFAULT_POOL_SIZE;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n === 0) throw new Error(`REBOUND_SMTP_URL pool must be a positive integer (connections to the relay), got "${value}"`);
  return n;
}

export function transportOptions(smtpUrl: string): SmtpPoolOptions {
  let url: URL;
  try {
    url = new URL(smtpUrl);
  } catch {
    throw new Error(`REBOUND_SMTP_URL is not a URL: expected smtp://host:port or smtps://host:port`);
  }
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') {
    throw new Error(`REBOUND_SMTP_URL must start with smtp:// or smtps://, got ${url.protocol}//`);
  }
  const secure = url.protocol === 'smtps:';
  const starttls = url.searchParams.get('starttls') ?? 'opportunistic';
  if (!(STARTTLS_POLICIES as readonly string[]).includes(starttls)) {
    throw new Error(`REBOUND_SMTP_URL starttls must be one of ${STARTTLS_POLICIES.join(', ')}, got "${starttls}"`);
  }
  const maxConnections = poolSize(url.searchParams.get('pool'));
  return {
    connection: {
      host: url.hostname,
      port: url.port ? Number(url.port) : secure ? 465 : 587,
      secure,
      requireTLS: starttls === 'required',
      ignoreTLS: starttls === 'never',
      // A stalled server becomes a network_error reply (a soft bounce) well within the
      // activity's start-to-close timeout, instead of holding the attempt for minutes.
      connectionTimeout: 30_000,
      greetingTimeout: 30_000,
      socketTimeout: 60_000,
    },
    auth: url.username ? { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) } : undefined,
    maxConnections,
    maxMessages: 1000,
    idleTimeoutMs: 30_000,
  };
}

/** `shaping`: the relay site's shared connection leases and messages per connection, when the configuration file sets them (README "Traffic shaping"). */
export function createSmtpTransport(smtpUrl: string, shaping: Partial<Pick<SmtpPoolOptions, 'admission' | 'maxMessages' | 'site'>> = {}): SmtpTransport {
  return new SmtpPool({ ...transportOptions(smtpUrl), ...shaping });
}
