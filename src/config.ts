import {
  DEFAULT_CONTINUE_AS_NEW_AFTER_EVENTS,
  DEFAULT_IDLE_CLOSE_DAYS,
  DEFAULT_SOFT_BOUNCE_THRESHOLD,
  DEFAULT_SUPPRESSION_DAYS,
  validateSettings,
  type ReputationWorkflowSettings,
} from './reputation/policy';
import { loadConfigFile, type DomainRule } from './domains/config-file';

// Configuration from the environment, with the embedded defaults that let `npm run demo` and
// `npm test` work on a fresh machine. Flags on the CLI override these.

export interface ReboundConfig {
  temporalAddress: string;
  temporalNamespace: string;
  taskQueue: string;
  databaseUrl: string;
  smtpUrl: string;
  maxMessageBytes: number;
  reputation: ReputationWorkflowSettings;
  /** The configuration file read at start (README "Retry policy per domain"), or null. */
  configFile: string | null;
  /** Retry policies per recipient domain, from that file. */
  domains: DomainRule[];
}

export interface ConfigVariable {
  name: string;
  default: string;
  description: string;
}

export const CONFIG_VARIABLES: ConfigVariable[] = [
  { name: 'TEMPORAL_ADDRESS', default: '127.0.0.1:7233', description: 'Temporal frontend (gRPC) address' },
  { name: 'TEMPORAL_NAMESPACE', default: 'default', description: 'Temporal namespace' },
  { name: 'REBOUND_TASK_QUEUE', default: 'rebound', description: 'task queue of the Rebound workers' },
  { name: 'DATABASE_URL', default: 'postgres://postgres@127.0.0.1:5432/rebound', description: 'PostgreSQL: messages, attempt log, suppression list' },
  { name: 'REBOUND_SMTP_URL', default: 'smtp://127.0.0.1:2525', description: 'relay to send through (smtp:// or smtps://, user:pass@ optional, ?starttls=required|opportunistic|never)' },
  { name: 'REBOUND_MAX_MESSAGE_BYTES', default: String(25 * 1024 * 1024), description: 'largest message accepted, in bytes' },
  { name: 'REBOUND_SOFT_BOUNCE_THRESHOLD', default: String(DEFAULT_SOFT_BOUNCE_THRESHOLD), description: 'consecutive soft-bouncing sends that suppress an address (1..20)' },
  { name: 'REBOUND_SUPPRESSION_DAYS', default: String(DEFAULT_SUPPRESSION_DAYS), description: 'days an automatic suppression lasts before it lifts itself' },
  { name: 'REBOUND_CONFIG', default: 'rebound.config.json', description: 'configuration file with retry policies per recipient domain (JSON or YAML; the default, or .yaml/.yml, is read from the working directory when it exists)' },
  { name: 'TEMPORAL_CLI_PATH', default: '.tools/temporal/bin/temporal', description: 'Temporal CLI used by `rebound dev` (PATH is searched first)' },
  { name: 'TEMPORAL_TEST_SERVER_PATH', default: '.tools/temporal/bin/temporal-test-server', description: 'time-skipping test server used by the tests' },
];

function envOr(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (value !== undefined && value.trim() !== '') return value.trim();
  return CONFIG_VARIABLES.find((v) => v.name === name)!.default;
}

/**
 * The whole configuration, parsed once at process start: the environment and the configuration
 * file. A bad value or a bad file throws here, naming what is wrong, and nothing starts.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): ReboundConfig {
  const file = loadConfigFile(env);
  const maxBytes = Number(envOr(env, 'REBOUND_MAX_MESSAGE_BYTES'));
  if (!Number.isInteger(maxBytes) || maxBytes <= 0) {
    throw new Error(`REBOUND_MAX_MESSAGE_BYTES must be a positive integer, got "${env.REBOUND_MAX_MESSAGE_BYTES}"`);
  }
  return {
    temporalAddress: envOr(env, 'TEMPORAL_ADDRESS'),
    temporalNamespace: envOr(env, 'TEMPORAL_NAMESPACE'),
    taskQueue: envOr(env, 'REBOUND_TASK_QUEUE'),
    databaseUrl: envOr(env, 'DATABASE_URL'),
    smtpUrl: envOr(env, 'REBOUND_SMTP_URL'),
    maxMessageBytes: maxBytes,
    reputation: validateSettings({
      softBounceThreshold: Number(envOr(env, 'REBOUND_SOFT_BOUNCE_THRESHOLD')),
      suppressionDays: Number(envOr(env, 'REBOUND_SUPPRESSION_DAYS')),
      idleCloseDays: DEFAULT_IDLE_CLOSE_DAYS,
      continueAsNewAfterEvents: DEFAULT_CONTINUE_AS_NEW_AFTER_EVENTS,
    }),
    configFile: file.path,
    domains: file.domains,
  };
}

/** The configuration table printed by `rebound --help` and reproduced in the README. */
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
