// Error types shared by the policy and validation modules. Pure: no I/O, no Node built-ins, so
// workflow code may import it too.

/**
 * Invalid caller input: the message names the field, e.g.
 * `Invalid field "to[1]": "bob@" is not a valid email address (nothing after "@")`.
 */
export class ValidationError extends Error {
  override readonly name = 'ValidationError';
  /** The offending field as the caller wrote it: `to[1]`, `delays[2]`, `headers["X-Foo"]`, `deadline`. */
  readonly field: string;
  /** What is wrong, without the field prefix. */
  readonly reason: string;

  constructor(field: string, reason: string) {
    super(`Invalid field "${printableField(field)}": ${reason}`);
    this.field = field;
    this.reason = reason;
  }
}

/**
 * A field as the message shows it: an unknown field's name is the caller's, and control
 * characters in it (CR, LF, NUL, ...) are written as JSON escapes so that the message, which may
 * reach a log, stays one line. Ordinary names are shown as they are.
 */
function printableField(field: string): string {
  // eslint-disable-next-line no-control-regex
  return /[\x00-\x1f]/.test(field) ? JSON.stringify(field).slice(1, -1) : field;
}

/** Quote a caller-supplied value for an error message: JSON-escaped (no raw CR/LF) and truncated. */
export function quoteValue(value: unknown, max = 80): string {
  if (typeof value === 'string') {
    const cut = value.length > max ? `${value.slice(0, max)}...` : value;
    return JSON.stringify(cut);
  }
  if (value === undefined) return 'undefined';
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

/**
 * A service Rebound depends on (PostgreSQL, Temporal) could not be reached: nothing was stored
 * or started, and the same call (with the same message id) may simply be made again.
 */
export class ServiceUnavailableError extends Error {
  override readonly name = 'ServiceUnavailableError';
  readonly retryable = true;

  constructor(message: string, override readonly cause?: unknown) {
    super(message);
  }
}

/**
 * A message id (idempotency key) already used for a different message: the stored message is
 * left as it was and nothing new starts. A ValidationError on `id`, so callers that handle
 * those need no change; the HTTP API answers it with 409 (README "HTTP API").
 */
export class IdConflictError extends ValidationError {
  constructor(readonly messageId: string) {
    super('id', `message id "${messageId}" was already used for a different message; use a new id`);
  }
}
