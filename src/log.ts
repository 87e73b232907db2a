// Structured JSON logs for everything outside workflow code (the worker's Temporal logs are
// routed through the same logger in src/worker/worker.ts).
import pino from 'pino';

export type Logger = pino.Logger;

export const logger: Logger = pino({
  level: process.env.REBOUND_LOG_LEVEL ?? 'info',
  base: { service: 'rebound' },
  timestamp: pino.stdTimeFunctions.isoTime,
});
