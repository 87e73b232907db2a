// Metrics end to end (README "Metrics"): a real worker on the time-skipping server sends through
// the bounce simulator, and its /metrics is scraped over real HTTP, with the Temporal SDK's own
// metrics appended; the API's /metrics answers only a key.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { createApiKey } from '../../src/api/keys';
import { buildApiServer } from '../../src/api/server';
import { logger } from '../../src/log';
import { freeLoopbackAddress } from '../../src/metrics/sdk-metrics';
import { installJsonRuntimeLogger } from '../../src/worker/worker';
import { startTimeSkippingStack, testAddress, testMessage, uid, type TimeSkippingStack } from '../helpers/stack';
import { eventually } from '../helpers/wait';

let stack: TimeSkippingStack;
let app: FastifyInstance;
let apiBase: string;
let readKey: string;
let sendKey: string;

before(async () => {
  // As `rebound worker` does with REBOUND_METRICS_LISTEN set, before anything makes the runtime.
  installJsonRuntimeLogger({ sdkMetricsAddress: await freeLoopbackAddress() });
  stack = await startTimeSkippingStack({ metricsListen: { host: '127.0.0.1', port: 0 } });
  app = await buildApiServer({ rebound: stack.rebound, pool: stack.pool, config: stack.config, logger: logger.child({}, { level: 'warn' }) });
  apiBase = await app.listen({ host: '127.0.0.1', port: 0 });
  readKey = (await createApiKey(stack.pool, { name: 'metrics-test-read', scope: 'read' })).key;
  sendKey = (await createApiKey(stack.pool, { name: 'metrics-test-send', scope: 'send' })).key;
});

after(async () => {
  await app?.close();
  await stack?.teardown();
});

/**
 * Runs `fn` while a delivery keeps retrying (as in the reputation test): the time the results
 * skip stops at its hourly attempts instead of jumping to a reputation workflow's far timers,
 * such as the lifting of a suppression 180 days on. It soft-bounces (`temporary_failure`), a
 * category the assertions do not count.
 */
async function withKeeper<T>(fn: () => Promise<T>): Promise<T> {
  const { messageId } = await stack.rebound.send(testMessage([testAddress('soft-99999', `keeper-${uid()}`)], { delays: ['1h'], deadline: '30d' }));
  try {
    return await fn();
  } finally {
    await stack.rebound.cancel(messageId);
  }
}

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a Prometheus text exposition (comments skipped). */
function parse(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    assert.ok(m, `not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

/** The sum of a metric's samples whose labels include `labels`. */
function total(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((sum, s) => sum + s.value, 0);
}

async function scrape(url: string, key?: string): Promise<{ status: number; type: string | null; text: string }> {
  const res = await fetch(url, key ? { headers: { authorization: `Bearer ${key}` } } : {});
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
}

async function workerSamples(): Promise<{ text: string; samples: Sample[] }> {
  const res = await scrape(stack.worker.metrics!.url);
  assert.equal(res.status, 200);
  assert.match(res.type ?? '', /^text\/plain; version=0\.0\.4/);
  return { text: res.text, samples: parse(res.text) };
}

describe('worker /metrics', () => {
  test('counts the simulator outcomes with their labels, the SDK metrics included, and no address in any label', async () => {
    const tag = uid();
    const { rebound } = stack;
    const before = (await workerSamples()).samples;

    // Ten delivered recipients in one message: enough sends for example.test to be named.
    const delivered = Array.from({ length: 10 }, (_, i) => testAddress(`ok${i}`, tag));
    const gone = testAddress('unknown', tag);
    const full = testAddress('full', tag);
    const finals = await withKeeper(async () => {
      const out = [];
      for (const [id, to, extra] of [['ok', delivered, {}], ['gone', [gone], {}], ['full', [full], { profile: 'urgent' }]] as const) {
        out.push(await rebound.result((await rebound.send(testMessage([...to], { id: `metrics-${id}-${tag}`, ...extra }))).messageId));
      }
      // The unknown user's address is suppressed automatically; a message to it is skipped.
      await eventually('unknown_user suppressed', () => rebound.suppressions.check(gone), (c) => c.suppressed);
      const skipped = await rebound.result((await rebound.send(testMessage([gone], { id: `metrics-skipped-${tag}` }))).messageId);
      assert.equal(skipped.recipients[0].state, 'suppressed');
      return out;
    });
    assert.deepEqual(finals.map((f) => f.state), ['delivered', 'failed', 'failed']);
    const attempts = finals[2].recipients[0].attempts;
    assert.ok(attempts >= 2, `${attempts} attempts of the full mailbox`);

    const { text, samples } = await workerSamples();
    const delta = (name: string, labels: Record<string, string> = {}) => total(samples, name, labels) - total(before, name, labels);
    assert.equal(delta('rebound_attempts_total', { kind: 'delivered', category: 'delivered', scope: 'recipient' }), 10);
    assert.equal(delta('rebound_attempts_total', { kind: 'hard', category: 'unknown_user', scope: 'recipient' }), 1);
    assert.equal(delta('rebound_attempts_total', { kind: 'soft', category: 'mailbox_full', scope: 'recipient' }), attempts);
    // The tenth send names the domain; later ones are counted under it.
    assert.ok(total(samples, 'rebound_attempts_total', { domain: 'example.test' }) >= 1 + attempts, 'example.test is a domain label');
    assert.equal(delta('rebound_messages_final_total', { state: 'delivered' }), 1);
    assert.equal(delta('rebound_messages_final_total', { state: 'failed' }), 3);
    assert.equal(delta('rebound_recipients_expired_total', { category: 'mailbox_full', scope: 'recipient' }), 1);
    assert.equal(delta('rebound_suppressions_total', { reason: 'hard_bounce', source: 'auto' }), 1);
    assert.equal(delta('rebound_suppressed_skips_total', { reason: 'hard_bounce' }), 1);
    // One send activity per attempt: the ten delivered share one, the skip is one with no SMTP
    // (and the keeper's attempts come on top).
    assert.ok(delta('rebound_attempt_duration_seconds_count', { outcome: 'completed' }) >= 1 + 1 + attempts + 1);
    assert.ok(samples.some((s) => s.name === 'rebound_webhook_deliveries_total' && s.labels.outcome === 'delivered'), 'webhook outcomes are there from the start');
    assert.ok(samples.some((s) => s.name === 'process_cpu_user_seconds_total'), 'process metrics');
    // The SDK's core: its counters and histograms, with its prefix.
    assert.ok(samples.some((s) => s.name.startsWith('temporal_activity_execution_latency')), `SDK activity metrics in:\n${text.slice(-2000)}`);
    assert.ok(samples.some((s) => s.name.startsWith('temporal_workflow_completed')), 'SDK workflow metrics');

    const values = samples.flatMap((s) => Object.values(s.labels));
    assert.deepEqual(values.filter((v) => v.includes('@') || v.includes(tag)), [], 'no address, tag or message id in a label');
  });

  test('anything but GET /metrics is a 404', async () => {
    const res = await scrape(stack.worker.metrics!.url.replace('/metrics', '/other'));
    assert.equal(res.status, 404);
  });
});

describe('API /metrics', () => {
  test('401 without a key or with an unknown one', async () => {
    for (const key of [undefined, 'rb_not_a_key']) {
      const res = await scrape(`${apiBase}/metrics`, key);
      assert.equal(res.status, 401);
      assert.match(res.type ?? '', /^application\/problem\+json/);
    }
  });

  test('with a read key: requests by route template and status class, accepted messages new and existing', async () => {
    const before = parse((await scrape(`${apiBase}/metrics`, readKey)).text);
    const tag = uid();
    const post = () =>
      fetch(`${apiBase}/v1/messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${sendKey}`, 'content-type': 'application/json', 'idempotency-key': `metrics-api-${tag}` },
        body: JSON.stringify(testMessage([testAddress('ok', tag)])),
      });
    assert.equal((await post()).status, 202);
    assert.equal((await post()).status, 200);
    assert.equal((await fetch(`${apiBase}/v1/messages/metrics-api-${tag}`, { headers: { authorization: `Bearer ${readKey}` } })).status, 200);
    assert.equal((await fetch(`${apiBase}/no/such/${tag}`)).status, 404);

    const res = await scrape(`${apiBase}/metrics`, readKey);
    assert.equal(res.status, 200);
    assert.match(res.type ?? '', /^text\/plain; version=0\.0\.4/);
    const samples = parse(res.text);
    const delta = (name: string, labels: Record<string, string>) => total(samples, name, labels) - total(before, name, labels);
    assert.equal(delta('rebound_api_messages_accepted_total', { result: 'new' }), 1);
    assert.equal(delta('rebound_api_messages_accepted_total', { result: 'existing' }), 1);
    assert.equal(delta('rebound_api_requests_total', { method: 'POST', route: '/v1/messages', status_class: '2xx' }), 2);
    assert.equal(delta('rebound_api_requests_total', { method: 'GET', route: '/v1/messages/:id', status_class: '2xx' }), 1);
    assert.equal(delta('rebound_api_requests_total', { method: 'GET', route: 'unmatched', status_class: '4xx' }), 1);
    assert.ok(total(samples, 'rebound_api_requests_total', { method: 'GET', route: '/metrics', status_class: '4xx' }) >= 2, 'the refused scrapes');
    assert.equal(delta('rebound_api_request_duration_seconds_count', { method: 'POST', route: '/v1/messages' }), 2);
    assert.ok(samples.some((s) => s.name === 'process_resident_memory_bytes'), 'process metrics');
    const values = samples.flatMap((s) => Object.values(s.labels));
    assert.deepEqual(values.filter((v) => v.includes(tag)), [], 'no message id or URL in a label');
  });
});
