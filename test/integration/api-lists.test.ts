// The HTTP API's lists and CSV routes end to end: the real fastify server over `fetch`, in front
// of the dev stack (the Temporal dev server, whose visibility understands the whole list query
// language the time-skipping server only partly does; PostgreSQL; the simulator; a worker).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { createApiKey, type ApiKeyScope } from '../../src/api/keys';
import { buildApiServer } from '../../src/api/server';
import { logger } from '../../src/log';
import { startDevStack, type DevStack } from '../helpers/dev-stack';
import { testMessage, uid } from '../helpers/stack';
import { eventually } from '../helpers/wait';

let stack: DevStack;
let app: FastifyInstance;
let base: string;
const keys = {} as Record<ApiKeyScope, string>;

before(async () => {
  stack = await startDevStack();
  app = await buildApiServer({ rebound: stack.rebound, pool: stack.pool, config: stack.config, logger: logger.child({}, { level: 'warn' }) });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
  for (const scope of ['read', 'send', 'admin'] as const) keys[scope] = (await createApiKey(stack.pool, { name: `lists-test-${scope}`, scope })).key;
});

after(async () => {
  await app?.close();
  await stack?.teardown();
});

interface Answer<T = any> {
  status: number;
  type: string | null;
  body: T;
  text: string;
}

async function call<T = any>(method: string, path: string, opts: { key?: string; body?: string; type?: string } = {}): Promise<Answer<T>> {
  const headers: Record<string, string> = {};
  if (opts.key) headers.authorization = `Bearer ${opts.key}`;
  if (opts.type) headers['content-type'] = opts.type;
  const res = await fetch(`${base}${path}`, { method, headers, body: opts.body });
  const text = await res.text();
  const type = res.headers.get('content-type');
  return { status: res.status, type, text, body: /json/.test(type ?? '') && text ? JSON.parse(text) : null };
}

function assertFieldProblem(a: Answer, status: number, field: string): void {
  assert.equal(a.status, status, a.text);
  assert.match(a.type ?? '', /^application\/problem\+json/);
  assert.equal(a.body.errors?.[0]?.field, field, a.text);
}

/** Every page of a list route, following nextCursor; the items in the order they came. */
async function walk<T>(path: string, key: string): Promise<{ items: T[]; pages: number }> {
  const items: T[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const page: Answer<{ items: T[]; nextCursor: string | null }> = await call('GET', `${path}${cursor ? `${sep}cursor=${encodeURIComponent(cursor)}` : ''}`, { key });
    assert.equal(page.status, 200, page.text);
    items.push(...page.body.items);
    cursor = page.body.nextCursor;
    pages++;
    assert.ok(pages < 100, 'the cursor never ends');
  } while (cursor !== null);
  return { items, pages };
}

describe('GET /v1/messages', () => {
  const tag = uid();
  const fullDomain = `full-${tag}.test`;
  const okDomain = `ok-${tag}.test`;
  const retrying: string[] = [];
  const delivered: string[] = [];

  before(async () => {
    for (let i = 0; i < 5; i++) {
      const id = `list-full-${tag}-${i}`;
      await stack.rebound.send({ ...testMessage([`full+${i}@${fullDomain}`]), id });
      retrying.push(id);
    }
    for (let i = 0; i < 3; i++) {
      const id = `list-ok-${tag}-${i}`;
      await stack.rebound.send({ ...testMessage([`ok+${i}@${okDomain}`]), id });
      delivered.push(id);
    }
    // Visibility follows the workflows' search attribute upserts: wait until it shows them all.
    await eventually('retrying in visibility', async () => (await walk<any>(`/v1/messages?domain=${fullDomain}&state=retrying`, keys.read)).items.length, (n) => n === retrying.length);
    await eventually('delivered in visibility', async () => (await walk<any>(`/v1/messages?domain=${okDomain}&state=delivered`, keys.read)).items.length, (n) => n === delivered.length);
  });

  test('pages walk every delivery once, with no gaps', async () => {
    const { items, pages } = await walk<any>(`/v1/messages?domain=${fullDomain}&limit=2`, keys.read);
    assert.equal(pages, 3);
    const ids = items.map((m) => m.messageId);
    assert.equal(new Set(ids).size, ids.length, `duplicates in ${ids}`);
    assert.deepEqual([...ids].sort(), [...retrying].sort());
  });

  test('items carry the search attributes', async () => {
    const page = await call('GET', `/v1/messages?domain=${fullDomain}&state=retrying&limit=100`, { key: keys.read });
    assert.equal(page.status, 200, page.text);
    for (const m of page.body.items) {
      assert.equal(m.workflowId, `delivery:${m.messageId}`);
      assert.equal(m.state, 'retrying');
      assert.ok(m.attempts >= 1, JSON.stringify(m));
      assert.deepEqual(m.domains, [fullDomain]);
      assert.deepEqual(m.categories, ['mailbox_full']);
      assert.ok(!Number.isNaN(Date.parse(m.startTime)), m.startTime);
      assert.equal(m.closeTime, null);
    }
    const done = await call('GET', `/v1/messages?domain=${okDomain}&state=delivered`, { key: keys.read });
    assert.deepEqual(done.body.items.map((m: any) => m.messageId).sort(), [...delivered].sort());
    for (const m of done.body.items) {
      assert.deepEqual(m.categories, []);
      assert.ok(!Number.isNaN(Date.parse(m.closeTime)), m.closeTime);
    }
  });

  test('filters: state, domain and category combine', async () => {
    const byCategory = await walk<any>(`/v1/messages?category=mailbox_full&domain=${fullDomain}`, keys.read);
    assert.equal(byCategory.items.length, retrying.length);
    const none = await call('GET', `/v1/messages?category=unknown_user&domain=${fullDomain}`, { key: keys.read });
    assert.deepEqual(none.body, { items: [], nextCursor: null });
    const wrongState = await call('GET', `/v1/messages?state=delivered&domain=${fullDomain}`, { key: keys.read });
    assert.deepEqual(wrongState.body.items, []);
  });

  test('422 naming the field for a bad filter, limit or cursor; 401 without a key', async () => {
    assertFieldProblem(await call('GET', '/v1/messages?state=bogus', { key: keys.read }), 422, 'state');
    assertFieldProblem(await call('GET', `/v1/messages?domain=${encodeURIComponent('x" OR WorkflowType != "y')}`, { key: keys.read }), 422, 'domain');
    assertFieldProblem(await call('GET', '/v1/messages?domain=a@b.test', { key: keys.read }), 422, 'domain');
    assertFieldProblem(await call('GET', '/v1/messages?category=delivered%22', { key: keys.read }), 422, 'category');
    assertFieldProblem(await call('GET', '/v1/messages?limit=0', { key: keys.read }), 422, 'limit');
    assertFieldProblem(await call('GET', '/v1/messages?limit=101', { key: keys.read }), 422, 'limit');
    assertFieldProblem(await call('GET', '/v1/messages?cursor=not*base64', { key: keys.read }), 422, 'cursor');
    assertFieldProblem(await call('GET', '/v1/messages?cursor=AAAAAAAAAAAAAAAA', { key: keys.read }), 422, 'cursor');
    // a cursor is tied to its filters
    const first = await call('GET', `/v1/messages?domain=${fullDomain}&limit=2`, { key: keys.read });
    assert.equal(typeof first.body.nextCursor, 'string');
    const other = await call('GET', `/v1/messages?domain=${okDomain}&limit=2&cursor=${first.body.nextCursor}`, { key: keys.read });
    assertFieldProblem(other, 422, 'cursor');
    assert.match(other.body.detail, /other filters/);
    assert.equal((await call('GET', '/v1/messages')).status, 401);
  });

  test('GET /v1/domains/{domain}/series: 24 hourly and 7 daily points', async () => {
    const day = await call('GET', `/v1/domains/${okDomain}/series?window=24h`, { key: keys.read });
    assert.equal(day.status, 200, day.text);
    assert.equal(day.body.bucket, 'hour');
    assert.equal(day.body.points.length, 24);
    assert.deepEqual(day.body.thresholds, { watch: 0.02, bad: 0.05 });
    const hours = day.body.points.map((p: any) => Date.parse(p.at));
    for (let i = 1; i < hours.length; i++) assert.equal(hours[i] - hours[i - 1], 3_600_000);
    const total = day.body.points.reduce((n: number, p: any) => n + p.attempts, 0);
    assert.equal(total, delivered.length);
    const full = await call('GET', `/v1/domains/${fullDomain}/series?window=7d`, { key: keys.read });
    assert.equal(full.body.bucket, 'day');
    assert.equal(full.body.points.length, 7);
    const today = full.body.points[6];
    assert.ok(today.attempts >= retrying.length && today.softBounceRate === 1 && today.hardBounceRate === 0, JSON.stringify(today));
    assertFieldProblem(await call('GET', `/v1/domains/${okDomain}/series?window=30d`, { key: keys.read }), 422, 'window');
    assertFieldProblem(await call('GET', `/v1/domains/${okDomain}/series?window=toString`, { key: keys.read }), 422, 'window');
  });
});

describe('suppressions: list, import, export', () => {
  const tag = uid();
  const domain = `sup-${tag}.test`;
  const addr = (i: number) => `user${i}@${domain}`;
  const csv = [
    'address,reason,expires_at,note,lifted_at',
    `${addr(1)},hard_bounce,2099-01-01T00:00:00Z,"from the old ESP, imported",`,
    `not-an-address,hard_bounce,,,`,
    `${addr(2)},complaint,never,,`,
    `${addr(3)},,,,`,
    `${addr(4)},hard_bounce,2001-01-01T00:00:00Z,,`,
    `${addr(5)},manual,,was lifted,2025-01-01T00:00:00Z`,
    `${addr(6)},hard_bounce,,"a note with ""quotes""",`,
    `${addr(7)},hard_bounce,,,`,
    '',
  ].join('\n');

  test('import: counts, and bad lines by number', async () => {
    const imported = await call('POST', '/v1/suppressions/import', { key: keys.admin, body: csv, type: 'text/csv' });
    assert.equal(imported.status, 200, imported.text);
    assert.equal(imported.body.imported, 5);
    assert.equal(imported.body.skipped, 1);
    assert.deepEqual(imported.body.errors.map((e: any) => e.line), [3, 6]);
    assert.match(imported.body.errors[0].message, /invalid address/);
    assert.match(imported.body.errors[1].message, /in the past/);
    const row = await stack.pool.query('SELECT source, actor, note FROM suppressions WHERE address = $1', [addr(1)]);
    assert.deepEqual(row.rows[0], { source: 'import', actor: 'api:lists-test-admin', note: 'from the old ESP, imported' });
  });

  test('import needs admin, text/csv and a bounded body', async () => {
    assert.equal((await call('POST', '/v1/suppressions/import', { key: keys.read, body: csv, type: 'text/csv' })).status, 403);
    assert.equal((await call('POST', '/v1/suppressions/import', { body: csv, type: 'text/csv' })).status, 401);
    const json = await call('POST', '/v1/suppressions/import', { key: keys.admin, body: '{"address":"a@b.test"}', type: 'application/json' });
    assert.equal(json.status, 415, json.text);
    const plain = await call('POST', '/v1/suppressions/import', { key: keys.admin, body: csv, type: 'text/plain' });
    assert.equal(plain.status, 415, plain.text);
    assert.match(plain.body.detail, /text\/csv/);
    const huge = await call('POST', '/v1/suppressions/import', { key: keys.admin, body: `address\n${'x'.repeat(11 * 1024 * 1024)}\n`, type: 'text/csv' });
    assert.equal(huge.status, 413, huge.text);
    assertFieldProblem(await call('POST', '/v1/suppressions/import?days=99999', { key: keys.admin, body: csv, type: 'text/csv' }), 422, 'days');
    // text/csv is the import's alone: the other routes still refuse it
    assert.equal((await call('PUT', `/v1/suppressions/${addr(9)}`, { key: keys.admin, body: 'reason\nx', type: 'text/csv' })).status, 415);
  });

  test('the list pages in address order with no duplicates or gaps; filters; lifted rows on request', async () => {
    const expected = [1, 2, 3, 6, 7].map(addr);
    const { items, pages } = await walk<any>(`/v1/suppressions?domain=${domain}&limit=2`, keys.read);
    assert.equal(pages, 3);
    assert.deepEqual(items.map((s) => s.address), expected);
    assert.deepEqual((await walk<any>(`/v1/suppressions?domain=${domain}&limit=1000`, keys.read)).items.map((s) => s.address), expected);
    const byReason = await call('GET', `/v1/suppressions?domain=${domain}&reason=complaint`, { key: keys.read });
    assert.deepEqual(byReason.body.items.map((s: any) => s.address), [addr(2)]);
    assert.equal(byReason.body.items[0].until, null);
    const byPrefix = await call('GET', `/v1/suppressions?prefix=${encodeURIComponent(`USER6@${domain}`)}`, { key: keys.read });
    assert.deepEqual(byPrefix.body.items.map((s: any) => s.address), [addr(6)]);

    const lifted = await call('DELETE', `/v1/suppressions/${addr(3)}`, { key: keys.admin });
    assert.equal(lifted.status, 200, lifted.text);
    const active = await walk<any>(`/v1/suppressions?domain=${domain}&limit=2`, keys.read);
    assert.deepEqual(active.items.map((s) => s.address), [1, 2, 6, 7].map(addr));
    const all = await walk<any>(`/v1/suppressions?domain=${domain}&limit=2&include=lifted`, keys.read);
    assert.deepEqual(all.items.map((s) => s.address), expected);
    assert.ok(all.items.find((s) => s.address === addr(3)).liftedAt);

    assertFieldProblem(await call('GET', '/v1/suppressions?cursor=bm90IGFuIGFkZHJlc3M', { key: keys.read }), 422, 'cursor');
    assertFieldProblem(await call('GET', '/v1/suppressions?include=everything', { key: keys.read }), 422, 'include');
    assertFieldProblem(await call('GET', '/v1/suppressions?domain=no%20such', { key: keys.read }), 422, 'domain');
    assertFieldProblem(await call('GET', '/v1/suppressions?limit=1001', { key: keys.read }), 422, 'limit');
    assert.equal((await call('GET', '/v1/suppressions')).status, 401);
  });

  test('the export streams CSV that imports back to the same rows', async () => {
    const exported = await call('GET', `/v1/suppressions/export?domain=${domain}`, { key: keys.read });
    assert.equal(exported.status, 200, exported.text);
    assert.match(exported.type ?? '', /^text\/csv/);
    const lines = exported.text.trimEnd().split('\n');
    assert.equal(lines[0], 'address,reason,category,source,created_at,expires_at,lifted_at,message_id,note');
    assert.equal(lines.length, 1 + 4);
    assert.equal((await call('GET', `/v1/suppressions/export`)).status, 401);

    const before = await stack.pool.query('SELECT address, reason, expires_at, note FROM suppressions WHERE domain = $1 AND lifted_at IS NULL ORDER BY address', [domain]);
    await stack.pool.query('DELETE FROM suppressions WHERE domain = $1', [domain]);
    const again = await call('POST', '/v1/suppressions/import', { key: keys.admin, body: exported.text, type: 'text/csv' });
    assert.deepEqual(again.body, { imported: 4, skipped: 0, errors: [] });
    const restored = await stack.pool.query('SELECT address, reason, expires_at, note FROM suppressions WHERE domain = $1 AND lifted_at IS NULL ORDER BY address', [domain]);
    assert.deepEqual(restored.rows, before.rows);

    // Lifted rows come with include=lifted, and an import skips them.
    await call('DELETE', `/v1/suppressions/${addr(7)}`, { key: keys.admin });
    const withLifted = await call('GET', `/v1/suppressions/export?domain=${domain}&include=lifted`, { key: keys.read });
    assert.equal(withLifted.text.trimEnd().split('\n').length, 1 + 4);
    const reimport = await call('POST', '/v1/suppressions/import', { key: keys.admin, body: withLifted.text, type: 'text/csv' });
    assert.equal(reimport.body.skipped, 1);
  });

  test('the export of many rows spans pages', async () => {
    const many = `many-${tag}.test`;
    const rows = Array.from({ length: 2500 }, (_, i) => `m${String(i).padStart(5, '0')}@${many}`);
    const res = await call('POST', '/v1/suppressions/import', { key: keys.admin, body: `address\n${rows.join('\n')}\n`, type: 'text/csv' });
    assert.equal(res.body.imported, rows.length, res.text);
    const exported = await call('GET', `/v1/suppressions/export?domain=${many}`, { key: keys.read });
    const addresses = exported.text.trimEnd().split('\n').slice(1).map((l) => l.split(',')[0]);
    assert.deepEqual(addresses, rows);
  });
});
