// The pure parts of `rebound mcp`: the idempotency key as the message id, the wait's bounds, and
// failures as tool errors carrying the HTTP API's problem body.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IdConflictError, ServiceUnavailableError, ValidationError } from '../../src/errors';
import { toolError, toolProblem } from '../../src/mcp/server';
import { UnknownMessageError, waitMs, withIdempotencyKey, type SendMessageArgs } from '../../src/mcp/tools';

const base: SendMessageArgs = { from: 'a@example.com', to: 'b@example.com', subject: 's' };

test('mcp: idempotencyKey becomes the id; a key and an id that differ name idempotencyKey', () => {
  const cases: { args: SendMessageArgs; id?: string; field?: string }[] = [
    { args: base, id: undefined },
    { args: { ...base, id: 'k1' }, id: 'k1' },
    { args: { ...base, idempotencyKey: 'k2' }, id: 'k2' },
    { args: { ...base, idempotencyKey: 'k3', id: 'k3' }, id: 'k3' },
    { args: { ...base, idempotencyKey: 'k4', id: 'other' }, field: 'idempotencyKey' },
  ];
  for (const c of cases) {
    if (c.field) {
      assert.throws(() => withIdempotencyKey(c.args), (err) => err instanceof ValidationError && err.field === c.field, JSON.stringify(c.args));
      continue;
    }
    const request = withIdempotencyKey(c.args);
    assert.equal(request.id, c.id, JSON.stringify(c.args));
    assert.equal('idempotencyKey' in request, false, 'the SDK never sees a field it does not know');
  }
});

test('mcp: wait_for_outcome waits 60 s by default, up to 600 s; anything else names timeoutSeconds', () => {
  const cases: [number | undefined, number | null][] = [
    [undefined, 60_000],
    [1, 1_000],
    [2.5, 2_500],
    [600, 600_000],
    [0, null],
    [-1, null],
    [601, null],
    [Number.NaN, null],
    [Number.POSITIVE_INFINITY, null],
  ];
  for (const [seconds, ms] of cases) {
    if (ms === null) assert.throws(() => waitMs(seconds), (err) => err instanceof ValidationError && err.field === 'timeoutSeconds', String(seconds));
    else assert.equal(waitMs(seconds), ms, String(seconds));
  }
});

test('mcp: failures are the HTTP API\'s problems, as tool errors naming the field', () => {
  const cases: { err: unknown; status: number; type: string; fields?: string[]; text: RegExp }[] = [
    { err: new ValidationError('to[0]', 'not an address'), status: 422, type: 'invalid-fields', fields: ['to[0]'], text: /to\[0\]/ },
    { err: new IdConflictError('order-1'), status: 409, type: 'id-conflict', fields: ['id'], text: /order-1[\s\S]*field: id/ },
    { err: new UnknownMessageError('nope-1'), status: 404, type: 'not-found', text: /nope-1/ },
    { err: new ServiceUnavailableError('PostgreSQL is unreachable'), status: 503, type: 'unavailable', text: /PostgreSQL is unreachable/ },
    { err: new Error('something broke'), status: 500, type: 'internal', text: /something broke/ },
  ];
  for (const c of cases) {
    const problem = toolProblem(c.err);
    assert.equal(problem.status, c.status, problem.detail);
    assert.equal(problem.type, `urn:rebound:problem:${c.type}`);
    assert.deepEqual(problem.errors?.map((e) => e.field), c.fields);
    const result = toolError(problem);
    assert.equal(result.isError, true);
    assert.deepEqual(result.structuredContent, { error: problem });
    assert.match((result.content[0] as { text: string }).text, c.text);
  }
});
