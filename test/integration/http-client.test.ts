// The HTTP API driven by clients that are not TypeScript: a Python script on the standard library
// alone (test/clients/python_client.py) and the README's curl session
// (test/clients/curl_session.sh), each in its own process, against the real API server in front
// of the dev stack (Temporal dev server, PostgreSQL, the bounce simulator, a worker).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { createApiKey } from '../../src/api/keys';
import { buildApiServer } from '../../src/api/server';
import { logger } from '../../src/log';
import { startDevStack, type DevStack } from '../helpers/dev-stack';
import { uid } from '../helpers/stack';

const CLIENTS = path.resolve(__dirname, '../../../test/clients');
const run = promisify(execFile);

let stack: DevStack;
let app: FastifyInstance;
let env: NodeJS.ProcessEnv;

before(async () => {
  stack = await startDevStack();
  app = await buildApiServer({ rebound: stack.rebound, pool: stack.pool, config: stack.config, logger: logger.child({}, { level: 'warn' }) });
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  // `send` is the scope a service that sends mail gets: it may also read its messages.
  const { key } = await createApiKey(stack.pool, { name: 'http-client-test', scope: 'send' });
  env = { ...process.env, REBOUND_URL: base, REBOUND_KEY: key };
});

after(async () => {
  await app?.close();
  await stack?.teardown();
});

describe('the HTTP API from other languages', () => {
  test('a Python service on the standard library: send, repeat, 422 naming the field, status until delivered, 401', async () => {
    const order = uid();
    const { stdout } = await run('python3', [path.join(CLIENTS, 'python_client.py'), order], { env });
    const seen = JSON.parse(stdout.trim().split('\n').pop()!);
    const id = `order-${order}-receipt`;
    assert.deepEqual(seen.send, { status: 202, messageId: id, state: 'queued' });
    assert.deepEqual(seen.repeat, { status: 200, messageId: id });
    assert.equal(seen.invalid.status, 422);
    assert.match(seen.invalid.contentType, /^application\/problem\+json/);
    assert.equal(seen.invalid.type, 'urn:rebound:problem:invalid-fields');
    assert.deepEqual(seen.invalid.fields, ['to[0]']);
    assert.equal(seen.final.state, 'delivered', JSON.stringify(seen.final));
    assert.deepEqual(seen.final.recipients, ['delivered']);
    assert.equal(seen.noKey.status, 401);
    assert.equal(seen.noKey.type, 'urn:rebound:problem:unauthorized');
    // Nothing was stored for the invalid request's key.
    assert.equal((await stack.pool.query('SELECT 1 FROM messages WHERE id = $1', [`order-${order}-bad`])).rowCount, 0);
  });

  test("the README's curl session", async () => {
    const order = uid();
    const { stdout } = await run('sh', [path.join(CLIENTS, 'curl_session.sh'), order], { env });
    // "## step", the body, "HTTP <status>" per step.
    const steps = Object.fromEntries(
      stdout
        .split('## ')
        .filter(Boolean)
        .map((chunk) => {
          const [name, body, status] = chunk.trim().split('\n');
          return [name, { status: Number(status.replace('HTTP ', '')), body: JSON.parse(body) }];
        }),
    );
    const id = `order-${order}-receipt`;
    assert.deepEqual(steps.send, { status: 202, body: { messageId: id, workflowId: `delivery:${id}`, state: 'queued' } });
    assert.equal(steps.repeat.status, 200);
    assert.equal(steps.repeat.body.messageId, id);
    assert.equal(steps.invalid.status, 422);
    assert.deepEqual(steps.invalid.body.errors.map((e: { field: string }) => e.field), ['to[0]']);
    assert.equal(steps.status.status, 200);
    assert.equal(steps.status.body.state, 'delivered');
    assert.equal(steps['no key'].status, 401);
  });
});
