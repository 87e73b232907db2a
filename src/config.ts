import { DEFAULT_CONTINUE_AS_NEW_AFTER_EVENTS, DEFAULT_IDLE_CLOSE_DAYS, DEFAULT_SOFT_BOUNCE_THRESHOLD, DEFAULT_SUPPRESSION_DAYS, validateSettings, type ReputationWorkflowSettings } from './reputation/policy';
import { loadConfigFile, type DkimKey, type DomainRule } from './domains/config-file';
import type { ShapingConfig } from './sites/contract';
import type { PayloadKeyring } from './codec/contract';
import { parsePayloadKeys } from './codec/keyring';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import os from 'node:os';

// Configuration from the environment, with the embedded defaults that let `npm run demo` and
// `npm test` work on a fresh machine. Every variable is declared in CONFIG_VARIABLES (which
// `rebound --help` prints and README "Configuration" reproduces) and parsed here, once, into
// one ReboundConfig; the rest of src/ reads configuration only from that object.

export interface ReboundConfig {
  temporalAddress: string;
  temporalNamespace: string;
  taskQueue: string;
  databaseUrl: string;
  smtpUrl: string;
  /** How messages leave (README "Direct delivery"): through the relay, or to each domain's MX hosts. */
  delivery: DeliveryMode;
  /** How deliveries started by this process's clients run their attempts (README "Performance"). */
  attempts: AttemptForm;
  /** DNS servers of direct delivery, host[:port] (IP addresses); null: the system's resolvers. */
  dnsServers: string[] | null;
  /** The port direct delivery connects to on every MX (MX records carry none). */
  mxPort: number;
  /** The name direct delivery gives in EHLO. */
  heloName: string;
  /** A PEM file of CAs verified TLS trusts besides the bundled ones (MTA-STS), or null. */
  tlsCaFile: string | null;
  maxMessageBytes: number;
  /** Workflow runs a worker keeps cached (README "Performance": sleeping ones are evicted). */
  maxCachedWorkflows: number;
  logLevel: LogLevel;
  reputation: ReputationWorkflowSettings;
  /**
   * Key of the reputation workflows' ids (README "Security", keyed address ids): when set, an
   * address's workflow id is `address:h:<HMAC>` instead of `address:<address>`; null: the address.
   */
  addressIdKey: string | null;
  /** The configuration file read at start (README "Retry policy per domain"), or null. */
  configFile: string | null;
  /** Retry policies per recipient domain, from that file. */
  domains: DomainRule[];
  /** DKIM signing keys per From domain, from that file (README "DKIM"). */
  dkim: DkimKey[];
  /** Limits per site and the rules that react to replies, from that file's `sites:` (README "Traffic shaping"). */
  shaping: ShapingConfig;
  /** An explicit Temporal CLI, or null: then PATH, then .tools/ (src/dev/tools.ts). */
  temporalCliPath: string | null;
  /** An explicit time-skipping test server, or null: then .tools/. */
  temporalTestServerPath: string | null;
  /** The database the tests use. */
  testDatabaseUrl: string;
  /** Where `rebound api` listens (README "HTTP API"). */
  apiListen: { host: string; port: number };
  /** Requests per minute one API key may make before it is answered 429 (README "HTTP API"). */
  apiRateLimitPerMinute: number;
  /**
   * How long the HTTP API waits on a client (README "Security", Bounded): for the request's
   * headers, for the whole request, on a silent connection, and between two keep-alive requests.
   * A client that trickles its request (slow-loris) is cut off by the first two.
   */
  apiTimeouts: { headersMs: number; requestMs: number; idleMs: number; keepAliveMs: number };
  /** Where a worker serves /metrics, or null for none (README "Metrics"). */
  metricsListen: { host: string; port: number } | null;
  /** Webhook URLs on loopback and private ranges are accepted (the dev stack sets it). */
  webhooksAllowPrivate: boolean;
  /** The Temporal UI the dashboard links runs into. */
  temporalUiUrl: string;
  /** Keys of the payload codec (README "Payload encryption"): the first encrypts, all decrypt; null: payloads in plain JSON. */
  payloadKeys: PayloadKeyring | null;
  /** Origins (Temporal UIs) allowed to call the API's codec server from a browser. */
  codecCorsOrigins: string[];
  /** Late outcomes (README "Late outcomes"): the inbound SMTP listener and the return path. */
  inbound: {
    listen: { host: string; port: number };
    /** The domain of the VERP return path and the only one the listener accepts; null: no return path. */
    bounceDomain: string | null;
    /** Key of the return path's HMAC tokens; required with a bounce domain outside the dev stack. */
    bounceSecret: string | null;
    /** Days a complaint suppresses an address; null: until lifted. */
    complaintSuppressionDays: number | null;
    /** Bounds of the inbound SMTP listener: message size, concurrent connections, messages per minute per client address. */
    maxBytes: number;
    maxConnections: number;
    ratePerMinute: number;
    /** A connection silent this long is closed (421). */
    idleTimeoutMs: number;
    /** A session still open this long is closed (421), however busy: a trickling client is not idle. */
    sessionTimeoutMs: number;
    /** A bounce mailbox hosted elsewhere, polled over IMAP; null: none. */
    imap: { url: string; pollSeconds: number } | null;
  };
  /** Provider event webhooks on the HTTP API (README "Late outcomes"); each route answers 404 until its key is set. */
  providers: {
    /** Amazon SES through SNS: the topic ARNs accepted, and a PEM certificate to verify with instead of fetching SigningCertURL. */
    ses: { topicArns: string[]; certFile: string | null } | null;
    /** SendGrid Event Webhook: the verification key (base64 DER public key, ECDSA P-256). */
    sendgridVerificationKey: string | null;
    /** Mailgun webhooks: the HTTP webhook signing key. */
    mailgunSigningKey: string | null;
    /** Postmark webhooks: the basic-auth credentials set in the webhook's URL. */
    postmarkAuth: { user: string; password: string } | null;
  };
}

export interface ConfigVariable {
  name: string;
  default: string;
  description: string;
}

/** pino's levels, lowest-volume first. */
export const DELIVERY_MODES = ['relay', 'direct'] as const;
export type DeliveryMode = (typeof DELIVERY_MODES)[number];

/** How a delivery runs its attempts (README "Performance"): local activities, or regular activity tasks. */
export const ATTEMPT_FORMS = ['local', 'activity'] as const;
export type AttemptForm = (typeof ATTEMPT_FORMS)[number];

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const CONFIG_VARIABLES: ConfigVariable[] = [
  { name: 'TEMPORAL_ADDRESS', default: '127.0.0.1:7233', description: 'Temporal frontend (gRPC) address' },
  { name: 'TEMPORAL_NAMESPACE', default: 'default', description: 'Temporal namespace' },
  { name: 'REBOUND_TASK_QUEUE', default: 'rebound', description: 'task queue of the Rebound workers' },
  { name: 'DATABASE_URL', default: 'postgres://postgres@127.0.0.1:5432/rebound', description: 'PostgreSQL: messages, attempt log, suppression list' },
  {
    name: 'REBOUND_SMTP_URL',
    default: 'smtp://127.0.0.1:2525',
    description: 'relay to send through: smtp:// (port 587 by default) or smtps:// (implicit TLS, 465), optional user:pass@, ?starttls=required|opportunistic|never, &pool=N connections (default 5); the default is the bounce simulator, which `rebound dev` and `rebound demo` start',
  },
  { name: 'REBOUND_DELIVERY', default: 'relay', description: 'relay (every message through REBOUND_SMTP_URL) or direct (to each recipient domain\'s MX hosts, README "Direct delivery")' },
  {
    name: 'REBOUND_ATTEMPTS',
    default: 'local',
    description: 'how deliveries started from here run their attempts: local (a local activity in the workflow task, fewer server round trips) or activity (a regular activity task, shown as pending in the Temporal UI while it runs); README "Performance"',
  },
  { name: 'REBOUND_DNS_SERVERS', default: 'system', description: 'DNS servers direct delivery asks, comma-separated IP[:port] ([IPv6]:port), or system (the machine\'s resolvers)' },
  { name: 'REBOUND_MX_PORT', default: '25', description: 'port direct delivery connects to on every MX host' },
  { name: 'REBOUND_HELO_NAME', default: 'hostname', description: 'name direct delivery gives in EHLO; hostname: the machine\'s host name (set it to the name your sending IP\'s PTR record gives)' },
  { name: 'REBOUND_TLS_CA_FILE', default: 'off', description: 'PEM file of CA certificates direct delivery trusts besides the bundled ones, for MTA-STS policy hosts and MX hosts under an enforce policy (e.g. your own CA), or off' },
  { name: 'REBOUND_MAX_MESSAGE_BYTES', default: String(25 * 1024 * 1024), description: 'largest message accepted, in bytes (25 MB)' },
  { name: 'REBOUND_SOFT_BOUNCE_THRESHOLD', default: String(DEFAULT_SOFT_BOUNCE_THRESHOLD), description: 'consecutive soft-bouncing sends that suppress an address (1..20)' },
  { name: 'REBOUND_SUPPRESSION_DAYS', default: String(DEFAULT_SUPPRESSION_DAYS), description: 'days an automatic suppression lasts before it lifts itself' },
  { name: 'REBOUND_ADDRESS_ID_KEY', default: 'off', description: 'key (at least 32 characters) of keyed reputation workflow ids, address:h:<HMAC of the address> instead of address:<address> (README "Security"), or off' },
  { name: 'REBOUND_CONFIG', default: 'rebound.config.json', description: 'configuration file with retry policies per recipient domain (JSON or YAML; the default, or .yaml/.yml, is read from the working directory when it exists)' },
  { name: 'REBOUND_MAX_CACHED_WORKFLOWS', default: '300', description: 'workflow runs a worker keeps cached; an evicted one is replayed when it wakes' },
  { name: 'REBOUND_API_LISTEN', default: '127.0.0.1:3025', description: 'host:port the HTTP API (`rebound api`) listens on' },
  { name: 'REBOUND_API_RATE_LIMIT', default: '600', description: 'requests per minute one API key may make; more are answered 429 with Retry-After' },
  { name: 'REBOUND_API_HEADERS_TIMEOUT_MS', default: '10000', description: 'milliseconds a client has to send a request\'s headers to the HTTP API; then the connection is closed (slow clients)' },
  { name: 'REBOUND_API_REQUEST_TIMEOUT_MS', default: '120000', description: 'milliseconds a client has to send a whole request (headers and body) to the HTTP API; then it is answered 408 and closed' },
  { name: 'REBOUND_API_IDLE_TIMEOUT_MS', default: '30000', description: 'milliseconds an HTTP API connection may stay silent before it is closed' },
  { name: 'REBOUND_API_KEEP_ALIVE_TIMEOUT_MS', default: '72000', description: 'milliseconds the HTTP API keeps an idle keep-alive connection open for the next request (above a load balancer\'s usual 60 s)' },
  { name: 'REBOUND_METRICS_LISTEN', default: 'off', description: 'host:port a worker (or `rebound inbound`) serves Prometheus /metrics on (e.g. 127.0.0.1:9464), or off (the API always serves /metrics)' },
  { name: 'REBOUND_WEBHOOKS_ALLOW_PRIVATE', default: '0', description: 'set to 1 to accept webhook URLs on loopback and private addresses (`rebound dev` and the demo set it)' },
  { name: 'REBOUND_TEMPORAL_UI_URL', default: 'http://localhost:8233', description: 'Temporal UI the dashboard links each run into' },
  { name: 'REBOUND_PAYLOAD_KEYS', default: 'off', description: 'keys of the payload codec, id:base64key comma-separated (32-byte keys, `openssl rand -base64 32`): the first encrypts what Temporal stores, all decrypt (rotation); the same on every client, worker and API; off: payloads in plain JSON (README "Payload encryption")' },
  { name: 'REBOUND_CODEC_CORS_ORIGINS', default: 'http://localhost:8233,http://127.0.0.1:8233', description: 'origins of the Temporal UIs allowed to call the API\'s codec server (/codec/encode, /codec/decode) from a browser, comma-separated' },
  { name: 'REBOUND_INBOUND_LISTEN', default: '127.0.0.1:2527', description: 'host:port `rebound inbound` takes bounce reports and complaints on by SMTP' },
  { name: 'REBOUND_BOUNCE_DOMAIN', default: 'off', description: 'domain of the VERP return path b+<token>@<domain> (its MX points at `rebound inbound`), or off' },
  { name: 'REBOUND_BOUNCE_SECRET', default: 'off', description: 'key of the return path\'s HMAC tokens (at least 32 characters); needed with REBOUND_BOUNCE_DOMAIN' },
  { name: 'REBOUND_COMPLAINT_SUPPRESSION_DAYS', default: 'forever', description: 'days a complaint suppresses its address, or forever' },
  { name: 'REBOUND_INBOUND_MAX_BYTES', default: '10485760', description: 'largest report `rebound inbound` takes, in bytes (bigger: 552 5.3.4)' },
  { name: 'REBOUND_INBOUND_MAX_CONNECTIONS', default: '100', description: 'concurrent SMTP connections `rebound inbound` serves (more: 421 4.7.0)' },
  { name: 'REBOUND_INBOUND_RATE_LIMIT', default: '600', description: 'messages per minute one client address may give `rebound inbound` (more: 451 4.7.1)' },
  { name: 'REBOUND_INBOUND_IDLE_TIMEOUT_MS', default: '60000', description: 'milliseconds an SMTP client of `rebound inbound` may stay silent before it is answered 421 and closed' },
  { name: 'REBOUND_INBOUND_SESSION_TIMEOUT_MS', default: '600000', description: 'milliseconds one SMTP session of `rebound inbound` may last in all, however busy (a client trickling bytes is never idle); then 421 4.4.2 and closed' },
  { name: 'REBOUND_IMAP_URL', default: 'off', description: 'bounce mailbox `rebound inbound` polls, imaps://user:password@host:993/INBOX (imap:// needs STARTTLS except to loopback), or off' },
  { name: 'REBOUND_IMAP_POLL_SECONDS', default: '60', description: 'seconds between two polls of REBOUND_IMAP_URL' },
  { name: 'REBOUND_SES_TOPIC_ARNS', default: 'off', description: 'SNS topic ARNs (comma-separated) whose SES notifications `POST /v1/inbound/ses` accepts, or off' },
  { name: 'REBOUND_SNS_CERT_FILE', default: 'off', description: 'PEM certificate SNS signatures are checked with instead of the one fetched from SigningCertURL (tests, closed networks), or off' },
  { name: 'REBOUND_SENDGRID_VERIFICATION_KEY', default: 'off', description: 'SendGrid Event Webhook verification key (base64 public key) for `POST /v1/inbound/sendgrid`, or off' },
  { name: 'REBOUND_MAILGUN_SIGNING_KEY', default: 'off', description: 'Mailgun HTTP webhook signing key for `POST /v1/inbound/mailgun`, or off' },
  { name: 'REBOUND_POSTMARK_WEBHOOK_AUTH', default: 'off', description: 'user:password Postmark sends to `POST /v1/inbound/postmark` (basic auth), or off' },
  { name: 'REBOUND_LOG_LEVEL', default: 'info', description: `level of the structured JSON logs: ${LOG_LEVELS.join(', ')}` },
  { name: 'TEMPORAL_CLI_PATH', default: '.tools/temporal/bin/temporal', description: 'Temporal CLI for `rebound dev` (a `temporal` on PATH is used first)' },
  { name: 'TEMPORAL_TEST_SERVER_PATH', default: '.tools/temporal/bin/temporal-test-server', description: 'time-skipping test server for the tests' },
  { name: 'REBOUND_TEST_DATABASE_URL', default: 'postgres://postgres@127.0.0.1:5432/rebound_test', description: 'database the tests use' },
];

/** The embedded default of a variable. */
export function configDefault(name: string): string {
  const variable = CONFIG_VARIABLES.find((v) => v.name === name);
  if (!variable) throw new Error(`${name} is not a configuration variable (CONFIG_VARIABLES in src/config.ts)`);
  return variable.default;
}

/** The value set in the environment, trimmed; empty counts as unset. */
function explicit(env: NodeJS.ProcessEnv, name: string): string | null {
  const value = env[name]?.trim();
  return value ? value : null;
}

function envOr(env: NodeJS.ProcessEnv, name: string): string {
  return explicit(env, name) ?? configDefault(name);
}

function positiveInteger(env: NodeJS.ProcessEnv, name: string): number {
  const raw = envOr(env, name);
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer, got "${raw}"`);
  return value;
}

/** A number; its range is checked where the setting is defined (validateSettings). */
function numeric(env: NodeJS.ProcessEnv, name: string): number {
  const raw = envOr(env, name);
  const value = Number(raw);
  if (!Number.isFinite(value)) throw new Error(`${name} must be a number, got "${raw}"`);
  return value;
}

/** `host:port`, e.g. `127.0.0.1:3025` or `[::1]:3025`; port 0 picks a free one. */
function hostPort(env: NodeJS.ProcessEnv, name: string): { host: string; port: number } {
  const raw = envOr(env, name);
  const m = /^(?:\[([^\]]+)\]|([^:\s]+)):(\d{1,5})$/.exec(raw);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new Error(`${name} must be host:port (e.g. 127.0.0.1:3025), got "${raw}"`);
  return { host: m[1] ?? m[2], port };
}

function attemptForm(env: NodeJS.ProcessEnv): AttemptForm {
  const raw = envOr(env, 'REBOUND_ATTEMPTS').toLowerCase();
  if (!(ATTEMPT_FORMS as readonly string[]).includes(raw)) throw new Error(`REBOUND_ATTEMPTS must be one of ${ATTEMPT_FORMS.join(', ')}, got "${raw}"`);
  return raw as AttemptForm;
}

function deliveryMode(env: NodeJS.ProcessEnv): DeliveryMode {
  const raw = envOr(env, 'REBOUND_DELIVERY').toLowerCase();
  if (!(DELIVERY_MODES as readonly string[]).includes(raw)) throw new Error(`REBOUND_DELIVERY must be one of ${DELIVERY_MODES.join(', ')}, got "${raw}"`);
  return raw as DeliveryMode;
}

/** IP[:port] or [IPv6]:port entries: node:dns takes addresses only, not names. */
function dnsServers(env: NodeJS.ProcessEnv): string[] | null {
  const raw = envOr(env, 'REBOUND_DNS_SERVERS');
  if (raw.toLowerCase() === 'system') return null;
  return raw.split(',').map((entry) => {
    const server = entry.trim();
    const m = /^(?:\[([^\]]+)\]:(\d{1,5})|([^:\s]+)(?::(\d{1,5}))?|([0-9a-fA-F:]+))$/.exec(server);
    const address = m ? (m[1] ?? m[3] ?? m[5]) : '';
    const port = m ? Number(m[2] ?? m[4] ?? 53) : NaN;
    if (!m || !isIP(address) || (m[1] !== undefined && isIP(address) !== 6) || port < 1 || port > 65535) {
      throw new Error(`REBOUND_DNS_SERVERS must be IP addresses with an optional port, comma-separated (e.g. 127.0.0.1:5353,[::1]:53), or system, got "${raw}" (bad entry "${server}")`);
    }
    return server;
  });
}

function mxPort(env: NodeJS.ProcessEnv): number {
  const raw = envOr(env, 'REBOUND_MX_PORT');
  const port = Number(raw);
  if (!/^\d+$/.test(raw) || port < 1 || port > 65535) throw new Error(`REBOUND_MX_PORT must be a port number from 1 to 65535, got "${raw}"`);
  return port;
}

/** A host name (RFC 5321 4.1.1.1: the client's domain in EHLO). */
function heloName(env: NodeJS.ProcessEnv): string {
  const raw = envOr(env, 'REBOUND_HELO_NAME');
  const name = raw === 'hostname' ? os.hostname() : raw;
  if (!/^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/.test(name)) {
    throw new Error(`REBOUND_HELO_NAME must be a host name (e.g. mail.example.com), got "${name}"`);
  }
  return name;
}

/** A readable file of PEM certificates, or off; read again when the direct sender is made. */
function tlsCaFile(env: NodeJS.ProcessEnv): string | null {
  const file = unlessOff(env, 'REBOUND_TLS_CA_FILE');
  if (file === null) return null;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`REBOUND_TLS_CA_FILE must be a readable PEM file of CA certificates, or off, got "${file}" (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  if (!text.includes('-----BEGIN CERTIFICATE-----')) throw new Error(`REBOUND_TLS_CA_FILE must be a PEM file of CA certificates, or off, got "${file}" (no "-----BEGIN CERTIFICATE-----" in it)`);
  return file;
}

/** An option that `off` turns off. */
function unlessOff(env: NodeJS.ProcessEnv, name: string): string | null {
  const raw = envOr(env, name);
  return raw.toLowerCase() === 'off' ? null : raw;
}

function inboundConfig(env: NodeJS.ProcessEnv): ReboundConfig['inbound'] {
  const bounceDomain = unlessOff(env, 'REBOUND_BOUNCE_DOMAIN')?.toLowerCase() ?? null;
  if (bounceDomain !== null && !/^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$/.test(bounceDomain)) {
    throw new Error(`REBOUND_BOUNCE_DOMAIN must be a domain name (e.g. bounces.example.com) or off, got "${bounceDomain}"`);
  }
  const bounceSecret = unlessOff(env, 'REBOUND_BOUNCE_SECRET');
  if (bounceSecret !== null && bounceSecret.length < 32) throw new Error(`REBOUND_BOUNCE_SECRET must be at least 32 characters, got ${bounceSecret.length} (make one with \`openssl rand -base64 32\`)`);
  const days = envOr(env, 'REBOUND_COMPLAINT_SUPPRESSION_DAYS');
  let complaintSuppressionDays: number | null = null;
  if (days.toLowerCase() !== 'forever') {
    complaintSuppressionDays = Number(days);
    if (!Number.isInteger(complaintSuppressionDays) || complaintSuppressionDays < 1 || complaintSuppressionDays > 3650) {
      throw new Error(`REBOUND_COMPLAINT_SUPPRESSION_DAYS must be a whole number of days from 1 to 3650, or forever, got "${days}"`);
    }
  }
  return {
    listen: hostPort(env, 'REBOUND_INBOUND_LISTEN'),
    bounceDomain,
    bounceSecret,
    complaintSuppressionDays,
    maxBytes: positiveInteger(env, 'REBOUND_INBOUND_MAX_BYTES'),
    maxConnections: positiveInteger(env, 'REBOUND_INBOUND_MAX_CONNECTIONS'),
    ratePerMinute: positiveInteger(env, 'REBOUND_INBOUND_RATE_LIMIT'),
    idleTimeoutMs: positiveInteger(env, 'REBOUND_INBOUND_IDLE_TIMEOUT_MS'),
    sessionTimeoutMs: positiveInteger(env, 'REBOUND_INBOUND_SESSION_TIMEOUT_MS'),
    imap: imapConfig(env),
  };
}

/** A key: an error names the variable and what is wrong, never the value. */
function addressIdKey(env: NodeJS.ProcessEnv): string | null {
  const key = unlessOff(env, 'REBOUND_ADDRESS_ID_KEY');
  if (key !== null && key.length < 32) throw new Error(`REBOUND_ADDRESS_ID_KEY must be at least 32 characters, got ${key.length} (make one with \`openssl rand -base64 32\`), or off`);
  return key;
}

/** node:http refuses a headers timeout longer than the request timeout: said here, by name, instead. */
function apiTimeouts(env: NodeJS.ProcessEnv): ReboundConfig['apiTimeouts'] {
  const headersMs = positiveInteger(env, 'REBOUND_API_HEADERS_TIMEOUT_MS');
  const requestMs = positiveInteger(env, 'REBOUND_API_REQUEST_TIMEOUT_MS');
  if (headersMs > requestMs) throw new Error(`REBOUND_API_HEADERS_TIMEOUT_MS (${headersMs}) must not be longer than REBOUND_API_REQUEST_TIMEOUT_MS (${requestMs}): the headers are part of the request`);
  return { headersMs, requestMs, idleMs: positiveInteger(env, 'REBOUND_API_IDLE_TIMEOUT_MS'), keepAliveMs: positiveInteger(env, 'REBOUND_API_KEEP_ALIVE_TIMEOUT_MS') };
}

/** The IMAP URL holds a password: an error names the variable and what is wrong, never the value. */
function imapConfig(env: NodeJS.ProcessEnv): ReboundConfig['inbound']['imap'] {
  const raw = unlessOff(env, 'REBOUND_IMAP_URL');
  if (raw === null) return null;
  let url: URL | null = null;
  try {
    url = new URL(raw);
  } catch {
    url = null;
  }
  if (!url || !['imap:', 'imaps:'].includes(url.protocol) || !url.hostname || !url.username) {
    throw new Error('REBOUND_IMAP_URL must be imaps://user:password@host[:port][/mailbox] or imap://..., or off (value not shown: it holds a password)');
  }
  return { url: raw, pollSeconds: positiveInteger(env, 'REBOUND_IMAP_POLL_SECONDS') };
}

function providersConfig(env: NodeJS.ProcessEnv): ReboundConfig['providers'] {
  const arns = unlessOff(env, 'REBOUND_SES_TOPIC_ARNS');
  const topicArns = arns === null ? [] : arns.split(',').map((a) => a.trim()).filter(Boolean);
  for (const arn of topicArns) {
    if (!/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/.test(arn)) throw new Error(`REBOUND_SES_TOPIC_ARNS must be SNS topic ARNs (arn:aws:sns:<region>:<account>:<topic>), comma-separated, or off, got "${arn}"`);
  }
  const auth = unlessOff(env, 'REBOUND_POSTMARK_WEBHOOK_AUTH');
  const colon = auth?.indexOf(':') ?? -1;
  if (auth !== null && (colon < 1 || colon === auth.length - 1)) throw new Error('REBOUND_POSTMARK_WEBHOOK_AUTH must be user:password, or off (value not shown: it holds a password)');
  return {
    ses: topicArns.length > 0 ? { topicArns, certFile: unlessOff(env, 'REBOUND_SNS_CERT_FILE') } : null,
    sendgridVerificationKey: unlessOff(env, 'REBOUND_SENDGRID_VERIFICATION_KEY'),
    mailgunSigningKey: unlessOff(env, 'REBOUND_MAILGUN_SIGNING_KEY'),
    postmarkAuth: auth === null ? null : { user: auth.slice(0, colon), password: auth.slice(colon + 1) },
  };
}

/** Never echoes the value: it holds keys. */
function payloadKeys(env: NodeJS.ProcessEnv): PayloadKeyring | null {
  const raw = unlessOff(env, 'REBOUND_PAYLOAD_KEYS');
  return raw === null ? null : parsePayloadKeys(raw);
}

/** Browser origins: scheme://host[:port], nothing after. */
function corsOrigins(env: NodeJS.ProcessEnv, name: string): string[] {
  return envOr(env, name)
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean)
    .map((origin) => {
      let url: URL | null = null;
      try {
        url = new URL(origin);
      } catch {
        url = null;
      }
      if (!url || !['http:', 'https:'].includes(url.protocol) || url.origin !== origin.replace(/\/$/, '')) {
        throw new Error(`${name} must be origins like http://localhost:8233 (scheme, host and port, no path), comma-separated, got "${origin}"`);
      }
      return url.origin;
    });
}

/** `1`/`true`/`yes` or `0`/`false`/`no` (case-insensitive). */
function flag(env: NodeJS.ProcessEnv, name: string): boolean {
  const raw = envOr(env, name).toLowerCase();
  if (['1', 'true', 'yes'].includes(raw)) return true;
  if (['0', 'false', 'no'].includes(raw)) return false;
  throw new Error(`${name} must be 1 or 0, got "${raw}"`);
}

/**
 * REBOUND_LOG_LEVEL on its own: src/log.ts creates the logger when it is first imported, before
 * any entry point has called loadConfig, and uses this so the variable is still parsed here.
 */
export function parseLogLevel(env: NodeJS.ProcessEnv = process.env): LogLevel {
  const raw = envOr(env, 'REBOUND_LOG_LEVEL');
  if (!(LOG_LEVELS as readonly string[]).includes(raw)) {
    throw new Error(`REBOUND_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${raw}"`);
  }
  return raw as LogLevel;
}

/**
 * The whole configuration, parsed once at process start: the environment and the configuration
 * file. A bad value or a bad file throws here, naming what is wrong, and nothing starts.
 * (REBOUND_SMTP_URL is checked by the worker when it builds its transport, in
 * src/smtp/transport.ts, so commands that never send do not depend on it.)
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): ReboundConfig {
  const file = loadConfigFile(env);
  return {
    temporalAddress: envOr(env, 'TEMPORAL_ADDRESS'),
    temporalNamespace: envOr(env, 'TEMPORAL_NAMESPACE'),
    taskQueue: envOr(env, 'REBOUND_TASK_QUEUE'),
    databaseUrl: envOr(env, 'DATABASE_URL'),
    smtpUrl: envOr(env, 'REBOUND_SMTP_URL'),
    delivery: deliveryMode(env),
    attempts: attemptForm(env),
    dnsServers: dnsServers(env),
    mxPort: mxPort(env),
    heloName: heloName(env),
    tlsCaFile: tlsCaFile(env),
    maxMessageBytes: positiveInteger(env, 'REBOUND_MAX_MESSAGE_BYTES'),
    maxCachedWorkflows: positiveInteger(env, 'REBOUND_MAX_CACHED_WORKFLOWS'),
    logLevel: parseLogLevel(env),
    apiListen: hostPort(env, 'REBOUND_API_LISTEN'),
    apiRateLimitPerMinute: positiveInteger(env, 'REBOUND_API_RATE_LIMIT'),
    apiTimeouts: apiTimeouts(env),
    metricsListen: envOr(env, 'REBOUND_METRICS_LISTEN').toLowerCase() === 'off' ? null : hostPort(env, 'REBOUND_METRICS_LISTEN'),
    webhooksAllowPrivate: flag(env, 'REBOUND_WEBHOOKS_ALLOW_PRIVATE'),
    temporalUiUrl: envOr(env, 'REBOUND_TEMPORAL_UI_URL').replace(/\/+$/, ''),
    payloadKeys: payloadKeys(env),
    codecCorsOrigins: corsOrigins(env, 'REBOUND_CODEC_CORS_ORIGINS'),
    inbound: inboundConfig(env),
    providers: providersConfig(env),
    reputation: validateSettings({
      softBounceThreshold: numeric(env, 'REBOUND_SOFT_BOUNCE_THRESHOLD'),
      suppressionDays: numeric(env, 'REBOUND_SUPPRESSION_DAYS'),
      idleCloseDays: DEFAULT_IDLE_CLOSE_DAYS,
      continueAsNewAfterEvents: DEFAULT_CONTINUE_AS_NEW_AFTER_EVENTS,
    }),
    addressIdKey: addressIdKey(env),
    configFile: file.path,
    domains: file.domains,
    dkim: file.dkim,
    shaping: file.shaping,
    ...temporalBinaryPaths(env),
    testDatabaseUrl: envOr(env, 'REBOUND_TEST_DATABASE_URL'),
  };
}

/**
 * TEMPORAL_CLI_PATH and TEMPORAL_TEST_SERVER_PATH on their own, for src/dev/tools.ts: the dev
 * stack, the tests and the fault suite look the binaries up without the rest of the
 * configuration (no configuration file is needed to start a server).
 */
export function temporalBinaryPaths(env: NodeJS.ProcessEnv = process.env): Pick<ReboundConfig, 'temporalCliPath' | 'temporalTestServerPath'> {
  return { temporalCliPath: explicit(env, 'TEMPORAL_CLI_PATH'), temporalTestServerPath: explicit(env, 'TEMPORAL_TEST_SERVER_PATH') };
}

/** The configuration table printed by `rebound --help` and reproduced in README "Configuration". */
export function configHelp(): string {
  const width = Math.max(...CONFIG_VARIABLES.map((v) => v.name.length));
  const lines = CONFIG_VARIABLES.map((v) => `  ${v.name.padEnd(width)}  ${v.description} (default: ${v.default})`);
  return ['Environment:', ...lines].join('\n');
}

/** Hides the password of a URL before it is logged. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '<invalid url>';
  }
}
