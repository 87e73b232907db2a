// PostgreSQL being unreachable (a restart, a failover, a network blip) is an outage, not a bug:
// what fails because of it is retried, and it is logged once when it starts and once when it
// ends rather than once per message (README "Reliability").
import { ApplicationFailure, ApplicationFailureCategory } from '@temporalio/common';
import type { Logger } from '../log';

/** Socket-level error codes of a connection that could not be made or was lost. */
const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'ENOENT']);
/**
 * PostgreSQL SQLSTATEs of a server going away or not taking connections: class 08 (connection
 * exception), 57P01-57P03 (admin shutdown, crash shutdown, cannot connect now), 53300 (too many
 * connections).
 */
const SERVER_CODES = /^(?:08\w{3}|57P0[123]|53300)$/;
/** node-postgres' own messages for a lost or timed-out connection. */
const CONNECTION_TEXT = /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|the database system is (?:starting up|shutting down|in recovery mode)/i;

/** Whether an error means PostgreSQL could not be reached, as opposed to a query it refused. */
export function isDatabaseUnavailable(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  if (!e) return false;
  const code = typeof e.code === 'string' ? e.code : '';
  return CONNECTION_CODES.has(code) || SERVER_CODES.test(code) || CONNECTION_TEXT.test(String(e.message ?? ''));
}

/** The error type activities fail with while PostgreSQL is unreachable; Temporal retries them. */
export const DATABASE_UNAVAILABLE = 'DatabaseUnavailable';

/**
 * Tracks whether this process sees PostgreSQL as down, so that an outage is logged when it
 * starts and when it ends, whatever the number of messages it holds up.
 */
export class DatabaseOutage {
  private since: number | null = null;
  private held = 0;

  constructor(private readonly log: Logger) {}

  /** A failure: logs the start of an outage; returns the failure to throw (benign: the SDK logs it at debug). */
  failed(err: unknown, what: string): ApplicationFailure {
    this.held += 1;
    if (this.since === null) {
      this.since = Date.now();
      this.log.warn({ error: (err as Error).message, code: (err as { code?: string }).code ?? null, while: what }, 'PostgreSQL is unreachable: attempts wait and retry, nothing is sent twice or dropped');
    }
    return ApplicationFailure.create({
      type: DATABASE_UNAVAILABLE,
      message: `PostgreSQL is unreachable while ${what}: ${(err as Error).message}; retried until it is back`,
      category: ApplicationFailureCategory.BENIGN,
    });
  }

  /** A success: logs the end of an outage, if there was one. */
  succeeded(): void {
    if (this.since === null) return;
    this.log.info({ downMs: Date.now() - this.since, retries: this.held }, 'PostgreSQL is reachable again');
    this.since = null;
    this.held = 0;
  }

  /** Runs one database step: an unreachable database becomes a retryable, once-logged failure. */
  async run<T>(what: string, step: () => Promise<T>): Promise<T> {
    try {
      const result = await step();
      this.succeeded();
      return result;
    } catch (err) {
      if (isDatabaseUnavailable(err)) throw this.failed(err, what);
      throw err;
    }
  }
}
