// The configuration: loadConfig's defaults and errors, and the three places that list the
// variables (CONFIG_VARIABLES, `rebound --help`, README "Configuration") kept in step.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildProgram } from '../../src/cli/main';
import { CONFIG_VARIABLES, LOG_LEVELS, configDefault, loadConfig, parseLogLevel } from '../../src/config';

const ROOT = path.resolve(__dirname, '../../..');

// loadConfig reads rebound.config.json from the working directory when it exists: run in an
// empty one so the defaults do not depend on where the tests start.
process.chdir(mkdtempSync(path.join(os.tmpdir(), 'rebound-config-test-')));

interface Row {
  name: string;
  default: string;
  description: string;
}

/** Code spans and Markdown's escaped pipes do not count as differences. */
const plain = (s: string): string => s.replace(/`/g, '').replace(/\\\|/g, '|').trim();

function readmeRows(): Row[] {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const section = readme.split(/^## /m).find((s) => s.startsWith('Configuration\n'));
  assert.ok(section, 'README.md has a "## Configuration" section');
  return section
    .split('\n')
    .filter((line) => /^\| `[A-Z_]+` \|/.test(line))
    .map((line) => {
      const cells = line.slice(1, -1).split(/(?<!\\)\|/).map((c) => c.trim());
      assert.equal(cells.length, 3, `three cells: ${line}`);
      return { name: plain(cells[0]), default: plain(cells[1]), description: plain(cells[2]) };
    });
}

function helpRows(): Row[] {
  let out = '';
  const program = buildProgram().configureOutput({ writeOut: (s) => (out += s) });
  program.outputHelp();
  const lines = out.split('\n');
  const start = lines.indexOf('Environment:');
  assert.ok(start >= 0, `--help has an Environment: table\n${out}`);
  const rows: Row[] = [];
  for (const line of lines.slice(start + 1)) {
    const m = /^ {2}([A-Z_]+) +(.*) \(default: (.*)\)$/.exec(line);
    if (!m) break;
    rows.push({ name: m[1], description: plain(m[2]), default: m[3] });
  }
  return rows;
}

const declared = (): Row[] => CONFIG_VARIABLES.map((v) => ({ name: v.name, default: v.default, description: plain(v.description) }));

test('config variables: each declared once', () => {
  const names = CONFIG_VARIABLES.map((v) => v.name);
  assert.deepEqual(names, [...new Set(names)]);
});

test('config variables: `rebound --help` prints every one, in order, with its default', () => {
  assert.deepEqual(helpRows(), declared());
});

test('config variables: the README "Configuration" table lists every one, in order, with its default', () => {
  assert.deepEqual(readmeRows(), declared());
});

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    if (statSync(file).isDirectory()) return sourceFiles(file);
    return file.endsWith('.ts') ? [file] : [];
  });
}

test('config variables: src/ reads the environment only through src/config.ts', () => {
  // Not configuration, or the parser's own building blocks:
  const allowed: Record<string, string> = {
    // the operator's login name, recorded as the actor of suppression changes
    'src/cli/main.ts': 'process.env.USER',
    // the configuration file is loaded by loadConfig, with loadConfig's env
    'src/domains/config-file.ts': 'env: NodeJS.ProcessEnv = process.env',
  };
  const offenders: string[] = [];
  for (const file of sourceFiles(path.join(ROOT, 'src'))) {
    const rel = path.relative(ROOT, file).split(path.sep).join('/');
    if (rel === 'src/config.ts') continue;
    for (const [i, line] of readFileSync(file, 'utf8').split('\n').entries()) {
      if (!line.includes('process.env')) continue;
      if (allowed[rel] && line.includes(allowed[rel])) continue;
      offenders.push(`${rel}:${i + 1}: ${line.trim()}`);
    }
  }
  assert.deepEqual(offenders, []);
});

test('loadConfig: the defaults', () => {
  const c = loadConfig({});
  assert.deepEqual(
    {
      temporalAddress: c.temporalAddress,
      temporalNamespace: c.temporalNamespace,
      taskQueue: c.taskQueue,
      databaseUrl: c.databaseUrl,
      smtpUrl: c.smtpUrl,
      maxMessageBytes: c.maxMessageBytes,
      maxCachedWorkflows: c.maxCachedWorkflows,
      logLevel: c.logLevel,
      softBounceThreshold: c.reputation.softBounceThreshold,
      suppressionDays: c.reputation.suppressionDays,
      configFile: c.configFile,
      domains: c.domains,
      temporalCliPath: c.temporalCliPath,
      temporalTestServerPath: c.temporalTestServerPath,
      testDatabaseUrl: c.testDatabaseUrl,
      apiRateLimitPerMinute: c.apiRateLimitPerMinute,
      metricsListen: c.metricsListen,
      webhooksAllowPrivate: c.webhooksAllowPrivate,
      delivery: c.delivery,
      dnsServers: c.dnsServers,
      mxPort: c.mxPort,
      heloName: c.heloName,
      tlsCaFile: c.tlsCaFile,
    },
    {
      temporalAddress: '127.0.0.1:7233',
      temporalNamespace: 'default',
      taskQueue: 'rebound',
      databaseUrl: 'postgres://postgres@127.0.0.1:5432/rebound',
      smtpUrl: 'smtp://127.0.0.1:2525',
      maxMessageBytes: 25 * 1024 * 1024,
      maxCachedWorkflows: 300,
      logLevel: 'info',
      softBounceThreshold: 5,
      suppressionDays: 180,
      configFile: null,
      domains: [],
      // Unset: the lookup in src/dev/tools.ts tries PATH, then .tools/.
      temporalCliPath: null,
      temporalTestServerPath: null,
      testDatabaseUrl: 'postgres://postgres@127.0.0.1:5432/rebound_test',
      apiRateLimitPerMinute: 600,
      metricsListen: null,
      webhooksAllowPrivate: false,
      delivery: 'relay',
      // The system's resolvers, port 25, the machine's own name.
      dnsServers: null,
      mxPort: 25,
      heloName: os.hostname(),
      tlsCaFile: null,
    },
  );
});

test('loadConfig: direct delivery settings', () => {
  const c = loadConfig({ REBOUND_DELIVERY: 'Direct', REBOUND_DNS_SERVERS: '127.0.0.1:5353, 192.0.2.53, [::1]:53, ::1', REBOUND_MX_PORT: '2525', REBOUND_HELO_NAME: 'mta1.example.com' });
  assert.deepEqual(
    { delivery: c.delivery, dnsServers: c.dnsServers, mxPort: c.mxPort, heloName: c.heloName },
    { delivery: 'direct', dnsServers: ['127.0.0.1:5353', '192.0.2.53', '[::1]:53', '::1'], mxPort: 2525, heloName: 'mta1.example.com' },
  );
});

test('loadConfig: values from the environment, trimmed; empty counts as unset', () => {
  const c = loadConfig({
    TEMPORAL_ADDRESS: ' temporal.internal:7233 ',
    TEMPORAL_NAMESPACE: 'mail',
    REBOUND_TASK_QUEUE: 'rebound-eu',
    DATABASE_URL: 'postgres://app@db.internal/rebound',
    REBOUND_SMTP_URL: 'smtps://user:pw@relay.example.test',
    REBOUND_MAX_MESSAGE_BYTES: '1048576',
    REBOUND_MAX_CACHED_WORKFLOWS: '50',
    REBOUND_LOG_LEVEL: 'debug',
    REBOUND_SOFT_BOUNCE_THRESHOLD: '3',
    REBOUND_SUPPRESSION_DAYS: '30',
    TEMPORAL_CLI_PATH: '/opt/temporal/bin/temporal',
    TEMPORAL_TEST_SERVER_PATH: '  ',
    REBOUND_TEST_DATABASE_URL: '',
    REBOUND_API_RATE_LIMIT: '60',
    REBOUND_METRICS_LISTEN: '0.0.0.0:9464',
    REBOUND_WEBHOOKS_ALLOW_PRIVATE: 'yes',
  });
  assert.equal(c.apiRateLimitPerMinute, 60);
  assert.deepEqual(c.metricsListen, { host: '0.0.0.0', port: 9464 });
  assert.equal(c.webhooksAllowPrivate, true);
  const inbound = loadConfig({ REBOUND_BOUNCE_DOMAIN: 'Bounces.Example.com', REBOUND_BOUNCE_SECRET: 'x'.repeat(32), REBOUND_COMPLAINT_SUPPRESSION_DAYS: '365' }).inbound;
  const limits = { maxBytes: 10485760, maxConnections: 100, ratePerMinute: 600, idleTimeoutMs: 60_000, sessionTimeoutMs: 600_000 };
  assert.deepEqual(inbound, { listen: { host: '127.0.0.1', port: 2527 }, bounceDomain: 'bounces.example.com', bounceSecret: 'x'.repeat(32), complaintSuppressionDays: 365, ...limits, imap: null });
  assert.deepEqual(loadConfig({}).inbound, { listen: { host: '127.0.0.1', port: 2527 }, bounceDomain: null, bounceSecret: null, complaintSuppressionDays: null, ...limits, imap: null });
  assert.deepEqual(loadConfig({ REBOUND_IMAP_URL: 'imaps://bounces:pw@imap.example.com/INBOX', REBOUND_IMAP_POLL_SECONDS: '30' }).inbound.imap, { url: 'imaps://bounces:pw@imap.example.com/INBOX', pollSeconds: 30 });
  assert.deepEqual(loadConfig({ REBOUND_INBOUND_IDLE_TIMEOUT_MS: '5000', REBOUND_INBOUND_SESSION_TIMEOUT_MS: '30000' }).inbound, { ...loadConfig({}).inbound, idleTimeoutMs: 5_000, sessionTimeoutMs: 30_000 });
  assert.deepEqual(loadConfig({}).apiTimeouts, { headersMs: 10_000, requestMs: 120_000, idleMs: 30_000, keepAliveMs: 72_000 });
  assert.deepEqual(
    loadConfig({ REBOUND_API_HEADERS_TIMEOUT_MS: '2000', REBOUND_API_REQUEST_TIMEOUT_MS: '4000', REBOUND_API_IDLE_TIMEOUT_MS: '3000', REBOUND_API_KEEP_ALIVE_TIMEOUT_MS: '1000' }).apiTimeouts,
    { headersMs: 2_000, requestMs: 4_000, idleMs: 3_000, keepAliveMs: 1_000 },
  );
  assert.throws(() => loadConfig({ REBOUND_API_HEADERS_TIMEOUT_MS: '5000', REBOUND_API_REQUEST_TIMEOUT_MS: '4000' }), /REBOUND_API_HEADERS_TIMEOUT_MS \(5000\) must not be longer than REBOUND_API_REQUEST_TIMEOUT_MS \(4000\)/);
  assert.throws(() => loadConfig({ REBOUND_INBOUND_SESSION_TIMEOUT_MS: '0' }), /REBOUND_INBOUND_SESSION_TIMEOUT_MS must be a positive integer, got "0"/);
  assert.deepEqual(loadConfig({}).providers, { ses: null, sendgridVerificationKey: null, mailgunSigningKey: null, postmarkAuth: null });
  const providers = loadConfig({
    REBOUND_SES_TOPIC_ARNS: 'arn:aws:sns:eu-west-1:123456789012:ses-bounces, arn:aws:sns:us-east-1:123456789012:ses-complaints',
    REBOUND_SNS_CERT_FILE: '/etc/rebound/sns.pem',
    REBOUND_SENDGRID_VERIFICATION_KEY: 'MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE',
    REBOUND_MAILGUN_SIGNING_KEY: 'key-abc',
    REBOUND_POSTMARK_WEBHOOK_AUTH: 'postmark:s3cret:with-colon',
  }).providers;
  assert.deepEqual(providers, {
    ses: { topicArns: ['arn:aws:sns:eu-west-1:123456789012:ses-bounces', 'arn:aws:sns:us-east-1:123456789012:ses-complaints'], certFile: '/etc/rebound/sns.pem' },
    sendgridVerificationKey: 'MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE',
    mailgunSigningKey: 'key-abc',
    postmarkAuth: { user: 'postmark', password: 's3cret:with-colon' },
  });
  assert.equal(c.temporalAddress, 'temporal.internal:7233');
  assert.equal(c.temporalNamespace, 'mail');
  assert.equal(c.taskQueue, 'rebound-eu');
  assert.equal(c.databaseUrl, 'postgres://app@db.internal/rebound');
  assert.equal(c.smtpUrl, 'smtps://user:pw@relay.example.test');
  assert.equal(c.maxMessageBytes, 1048576);
  assert.equal(c.maxCachedWorkflows, 50);
  assert.equal(c.logLevel, 'debug');
  assert.equal(c.reputation.softBounceThreshold, 3);
  assert.equal(c.reputation.suppressionDays, 30);
  assert.equal(c.temporalCliPath, '/opt/temporal/bin/temporal');
  assert.equal(c.temporalTestServerPath, null);
  assert.equal(c.testDatabaseUrl, configDefault('REBOUND_TEST_DATABASE_URL'));
});

test('loadConfig: bad secrets are refused without echoing them', () => {
  assert.throws(() => loadConfig({ REBOUND_BOUNCE_SECRET: 'hunter2-secret' }), (err: Error) => err.message.includes('REBOUND_BOUNCE_SECRET') && !err.message.includes('hunter2'));
  assert.throws(() => loadConfig({ REBOUND_IMAP_URL: 'http://u:hunter2@host' }), (err: Error) => err.message.includes('REBOUND_IMAP_URL') && !err.message.includes('hunter2'));
  assert.throws(() => loadConfig({ REBOUND_POSTMARK_WEBHOOK_AUTH: 'hunter2' }), (err: Error) => err.message.includes('REBOUND_POSTMARK_WEBHOOK_AUTH') && !err.message.includes('hunter2'));
});

test('loadConfig: each bad value throws an error naming its variable and the value', () => {
  const cases: [string, string[]][] = [
    ['REBOUND_DELIVERY', ['mx', 'smtp']],
    ['REBOUND_DNS_SERVERS', ['dns.example.com', '127.0.0.1:99999', '127.0.0.1,resolver', '[127.0.0.1]:53', '10.0.0.1:0']],
    ['REBOUND_MX_PORT', ['0', '65536', '25.5', 'smtp']],
    ['REBOUND_HELO_NAME', ['mail example com', 'mail_.example.com', '-mail.example.com']],
    ['REBOUND_TLS_CA_FILE', ['/nonexistent/ca.pem', __filename]],
    ['REBOUND_MAX_MESSAGE_BYTES', ['0', '-1', '1.5', 'lots']],
    ['REBOUND_MAX_CACHED_WORKFLOWS', ['0', '-3', '2.5', 'many']],
    ['REBOUND_API_RATE_LIMIT', ['0', 'fast']],
    ['REBOUND_METRICS_LISTEN', ['9464', 'on']],
    ['REBOUND_WEBHOOKS_ALLOW_PRIVATE', ['maybe']],
    ['REBOUND_INBOUND_LISTEN', ['2527']],
    ['REBOUND_BOUNCE_DOMAIN', ['not a domain', 'bounces']],
    ['REBOUND_COMPLAINT_SUPPRESSION_DAYS', ['0', 'ever', '1.5']],
    ['REBOUND_INBOUND_MAX_BYTES', ['0', 'big']],
    ['REBOUND_INBOUND_MAX_CONNECTIONS', ['-1']],
    ['REBOUND_INBOUND_RATE_LIMIT', ['none']],
    ['REBOUND_SES_TOPIC_ARNS', ['ses-bounces', 'arn:aws:sqs:eu-west-1:123456789012:q']],
    ['REBOUND_SOFT_BOUNCE_THRESHOLD', ['0', '21', '2.5', 'five']],
    ['REBOUND_SUPPRESSION_DAYS', ['0', '-7', '100000', 'a year']],
    ['REBOUND_LOG_LEVEL', ['loud', 'INFO', 'warning']],
    ['REBOUND_CONFIG', ['missing.json']],
  ];
  for (const [name, values] of cases) {
    for (const value of values) {
      assert.throws(() => loadConfig({ [name]: value }), (err: Error) => {
        assert.ok(err.message.includes(name), `${name}=${value}: ${err.message}`);
        assert.ok(err.message.includes(value), `${name}=${value}: ${err.message}`);
        return true;
      });
    }
  }
});

test('parseLogLevel: the level src/log.ts starts the logger with', () => {
  assert.equal(parseLogLevel({}), 'info');
  for (const level of LOG_LEVELS) assert.equal(parseLogLevel({ REBOUND_LOG_LEVEL: level }), level);
  assert.equal(parseLogLevel({ REBOUND_LOG_LEVEL: ' warn ' }), 'warn');
  assert.throws(() => parseLogLevel({ REBOUND_LOG_LEVEL: 'verbose' }), /^Error: REBOUND_LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "verbose"$/);
});

test('configDefault: an unknown name is a programming error', () => {
  assert.equal(configDefault('TEMPORAL_NAMESPACE'), 'default');
  assert.throws(() => configDefault('REBOUND_NO_SUCH_VARIABLE'), /REBOUND_NO_SUCH_VARIABLE is not a configuration variable/);
});
