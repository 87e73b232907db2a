// Structured JSON logs for everything outside workflow code (the worker's Temporal logs are
// routed through the same logger in src/worker/worker.ts).
import pino from 'pino';
import { parseLogLevel } from './config';

export type Logger = pino.Logger;

// Made on first import, before an entry point loads the configuration: the level alone is parsed
// here, by config.ts, where REBOUND_LOG_LEVEL is declared (README "Configuration").
const OPTIONS: pino.LoggerOptions = {
  level: parseLogLevel(),
  base: { service: 'rebound' },
  timestamp: pino.stdTimeFunctions.isoTime,
};

/** Buffered: a line may trail its event by a few milliseconds, and a crash may lose the last ones. */
export const logger: Logger = pino(OPTIONS);

/**
 * Written before the call returns, for a log that is a record: the bounce simulator logs each
 * accepted transaction before its 250, so whoever counts from its output (the fault suite)
 * never misses a message the simulator took, even when it is killed right after.
 */
export function synchronousLogger(): Logger {
  return pino(OPTIONS, pino.destination({ fd: 1, sync: true }));
}

/**
 * Sends every later line of `logger` (and of its children, which share its stream) to stderr.
 * For `rebound mcp`, whose stdout is the Model Context Protocol channel (README "For AI agents:
 * rebound mcp"); every other command keeps logging to stdout. Call it before anything logs.
 */
export function logToStderr(): void {
  (logger as unknown as Record<symbol, unknown>)[pino.symbols.streamSym] = pino.destination({ fd: 2 });
}
