// Liveness and readiness, without a key (README "HTTP API"): /healthz says the process answers;
// /readyz that PostgreSQL and Temporal do too, each within a few seconds, so a load balancer
// sends traffic only to an API that can store and start messages.
import type { Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import type { Pool } from 'pg';
import { RETRY_AFTER_SECONDS } from '../problems';

const CHECK_TIMEOUT_MS = 3000;

interface Check {
  ok: boolean;
  error?: string;
}

async function check(what: string, probe: () => Promise<unknown>): Promise<Check> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    // A little after the probe's own deadline, so that a probe that has one ends by itself first.
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS + 500);
  });
  try {
    await Promise.race([probe(), timeout]);
    return { ok: true };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

const checkSchema = { type: 'object', required: ['ok'], properties: { ok: { type: 'boolean' }, error: { type: 'string' } } } as const;
const readySchema = {
  type: 'object',
  required: ['ready', 'postgres', 'temporal'],
  properties: { ready: { type: 'boolean' }, postgres: checkSchema, temporal: checkSchema },
} as const;

export function registerHealthRoutes(app: FastifyInstance, deps: { pool: Pool; temporal: Client }): void {
  app.get(
    '/healthz',
    {
      schema: {
        summary: 'The process is up',
        tags: ['health'],
        response: { 200: { description: 'up', type: 'object', required: ['ok'], properties: { ok: { type: 'boolean' } } } },
      },
    },
    async () => ({ ok: true }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        summary: 'PostgreSQL and Temporal answer',
        tags: ['health'],
        response: { 200: { description: 'ready', ...readySchema }, 503: { description: 'not ready: which dependency failed, and how', ...readySchema } },
      },
    },
    async (_request, reply) => {
      const { temporal } = deps;
      const [postgres, temporalCheck] = await Promise.all([
        check('PostgreSQL', () => deps.pool.query('SELECT 1')),
        // With a deadline of its own: the SDK retries an unanswered call, and a retry left pending
        // after the answer would outlive the request (and the connection, once the API stops).
        check('Temporal', () => temporal.withDeadline(Date.now() + CHECK_TIMEOUT_MS, () => temporal.workflowService.getSystemInfo({}))),
      ]);
      const ready = postgres.ok && temporalCheck.ok;
      if (!ready) reply.code(503).header('Retry-After', String(RETRY_AFTER_SECONDS));
      return { ready, postgres, temporal: temporalCheck };
    },
  );
}
