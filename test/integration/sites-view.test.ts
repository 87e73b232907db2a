// Sites made visible on real parts (README "Traffic shaping", visibility): the send activity
// against the bounce simulator over real SMTP, recording each reply's site in PostgreSQL; a
// suspended site's recipients held back by the store's suspension and the shipped deferral (as
// the gate does); the read model, the HTTP API on a free port, `rebound sites` as a child
// process, the expiry sweeper and the per-site metrics of this process.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { FastifyInstance } from 'fastify';
import type { Pool } from 'pg';
import { createSendActivities } from '../../activities/delivery';
import { createApiKey } from '../../src/api/keys';
import { buildApiServer } from '../../src/api/server';
import { ReboundClient } from '../../src/client/rebound-client';
import { loadConfig } from '../../src/config';
import { createPool } from '../../src/db/pool';
import { DatabaseOutage } from '../../src/db/outage';
import { prepareDatabase } from '../../src/db/setup';
import type { SendAttemptInput, SendAttemptResult } from '../../src/delivery/contract';
import { recordDeliveryState } from '../../src/delivery/messages';
import { classifyReply } from '../../src/delivery/classify';
import { logger } from '../../src/log';
import { renderMetrics } from '../../src/metrics/registry';
import type { SiteLimits } from '../../src/sites/contract';
import { suspendedReply } from '../../src/sites/deferral';
import { sweepExpiredSuspensions } from '../../src/sites/expiry-sweeper';
import { activeSuspension, suspendSite } from '../../src/sites/store';
import { FALLBACK_SITE_LIMITS, type SiteDirectory, type SitesView } from '../../src/sites/view';
import { startSink, type BounceSink } from '../../src/sink';
import type { Sender } from '../../src/smtp/sender';
import { relaySender } from '../../src/smtp/sender';
import { createSmtpTransport, type SmtpTransport } from '../../src/smtp/transport';
import { TEST_DATABASE_URL, uid } from '../helpers/stack';

const tag = uid().toLowerCase().replace(/[^a-z0-9]/g, '');
/** Sites named after their test domains, unique to this run. */
const alpha = `alpha-${tag}`;
const beta = `beta-${tag}`;
const gamma = `gamma-${tag}`;
const domainOf = (site: string) => `${site}.test`;
const RATE_LIMIT = '421 4.7.28 [127.0.0.60] Our system has detected an unusual rate of unsolicited mail';
const GAMMA_LIMITS: SiteLimits = { connections: 2, initialConnections: 1, messagesPerConnection: 10, messagesPerMinute: 60 };
const directory: SiteDirectory = { limitsOf: (site) => (site === gamma ? { ...GAMMA_LIMITS } : { ...FALLBACK_SITE_LIMITS }), configured: () => [gamma] };

let pool: Pool;
let sink: BounceSink;
let transport: SmtpTransport;
let rebound: ReboundClient;
let activities: ReturnType<typeof createSendActivities>;

/**
 * The relay to the simulator, with each recipient's site named by its domain and a suspended
 * site's recipients held back without a transaction, as the direct sender's gate does
 * (src/sites/deferral.ts). The relay sender names the relay's site once shaping covers relay mode.
 */
function siteNamingSender(inner: Sender): Sender {
  return {
    async send(message) {
      const bySite = new Map<string, string[]>();
      for (const r of message.recipients) {
        const site = r.split('@')[1].replace(/\.test$/, '');
        bySite.set(site, [...(bySite.get(site) ?? []), r]);
      }
      const out = [];
      for (const [site, recipients] of bySite) {
        const suspension = await activeSuspension(pool, site);
        if (suspension) out.push(...recipients.map((address) => ({ address, reply: suspendedReply(suspension, Date.now(), () => 0), site })));
        else out.push(...(await inner.send({ ...message, recipients })).map((r) => ({ ...r, site })));
      }
      return out;
    },
    close: () => inner.close(),
  };
}

before(async () => {
  await prepareDatabase(TEST_DATABASE_URL);
  pool = createPool(TEST_DATABASE_URL);
  sink = await startSink({ port: 0, log: () => undefined });
  transport = createSmtpTransport(sink.url);
  activities = createSendActivities({ pool, sender: siteNamingSender(relaySender(transport)), notifyReputation: async () => undefined, outage: new DatabaseOutage(logger) });
  rebound = new ReboundClient({ client: { workflow: { start: async () => undefined } } as never, pool, taskQueue: 'unused', sites: directory });
});

after(async () => {
  await pool?.query('DELETE FROM site_suspensions WHERE site LIKE $1', [`%${tag}%`]);
  await pool?.query('DELETE FROM site_adjustments WHERE site LIKE $1', [`%${tag}%`]);
  transport?.close();
  await sink?.close();
  await pool?.end();
});

function runSend(input: Pick<SendAttemptInput, 'messageId' | 'attempt' | 'recipients'>): Promise<SendAttemptResult> {
  const full: SendAttemptInput = { progress: { recipientsTotal: input.recipients.length, deliveredBefore: 0 }, ...input };
  return new MockActivityEnvironment().run(activities.sendAttempt, full) as Promise<SendAttemptResult>;
}

async function storeMessage(to: string[]): Promise<string> {
  const id = `sites-view-${uid()}`;
  await rebound.send({ id, from: 'sender@rebound.test', to, subject: 'Sites', text: 'Body' });
  return id;
}

const at = (site: string, local: string) => `${local}+${tag}@${domainOf(site)}`;

/** The samples of a Prometheus metric, by its labels. */
async function samples(name: string): Promise<{ labels: Record<string, string>; value: number }[]> {
  const { body } = await renderMetrics();
  return body
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .map((l) => {
      const m = /^[^{ ]+(?:\{(.*)\})? (\S+)$/.exec(l)!;
      const labels = Object.fromEntries([...(m[1] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
      return { labels, value: Number(m[2]) };
    });
}

const ids: Record<string, string> = {};

describe('sites made visible', () => {
  test('the attempt log records each reply\'s site, and a held-back deferral its error code; the activity\'s result carries neither', async () => {
    ids.a = await storeMessage([at(alpha, 'ok'), at(alpha, 'full'), at(alpha, 'unknown')]);
    const a = await runSend({ messageId: ids.a, attempt: 1, recipients: [at(alpha, 'ok'), at(alpha, 'full'), at(alpha, 'unknown')] });
    assert.deepEqual(a.replies.map((r) => r.kind), ['delivered', 'soft', 'hard']);
    assert.equal(a.unrecorded, null);
    for (const r of a.replies) assert.equal('site' in r, false, 'no site in the workflow history');

    await suspendSite(pool, { site: beta, durationMs: 600_000, rule: 'gmail-421-4.7.28', reply: RATE_LIMIT });
    ids.b = await storeMessage([at(beta, 'ok')]);
    const b = await runSend({ messageId: ids.b, attempt: 1, recipients: [at(beta, 'ok')] });
    assert.equal(b.replies[0].kind, 'soft');
    assert.match(b.replies[0].text, new RegExp(`^site ${beta} suspended until`));

    const log = await pool.query('SELECT recipient, site, error_code, kind FROM attempts WHERE message_id = ANY($1) ORDER BY recipient', [[ids.a, ids.b]]);
    assert.deepEqual(
      log.rows.map((r) => [r.recipient, r.site, r.error_code, r.kind]),
      [
        [at(alpha, 'full'), alpha, null, 'soft'],
        [at(alpha, 'ok'), alpha, null, 'delivered'],
        [at(beta, 'ok'), beta, 'ESITESUSPENDED', 'soft'],
        [at(alpha, 'unknown'), alpha, null, 'hard'],
      ].sort((x, y) => String(x[0]).localeCompare(String(y[0]))),
    );
    // Only one SMTP transaction reached the simulator: the held-back recipient got none.
    assert.equal(sink.deliveries((await pool.query('SELECT message_id_header FROM messages WHERE id = $1', [ids.b])).rows[0].message_id_header, at(beta, 'ok')), 0);

    // A recipient delivered on its second attempt and one that expired are not queued.
    ids.c = await storeMessage([at(alpha, 'soft-1'), at(alpha, 'full')]);
    await runSend({ messageId: ids.c, attempt: 1, recipients: [at(alpha, 'soft-1'), at(alpha, 'full')] });
    await runSend({ messageId: ids.c, attempt: 2, recipients: [at(alpha, 'soft-1')] });
    await recordDeliveryState(pool, { messageId: ids.c, state: null, expired: [{ address: at(alpha, 'full'), reply: classifyReply({ code: 452, enhanced: '4.2.2', text: 'full' }) }] });
    // A finished message's recipients are not queued either.
    ids.d = await storeMessage([at(alpha, 'full')]);
    await runSend({ messageId: ids.d, attempt: 1, recipients: [at(alpha, 'full')] });
    await recordDeliveryState(pool, { messageId: ids.d, state: 'cancelled' });
  });

  test('the read model: state, limits, the suspension with its reply, the queue of deferred recipients, the last hour', async () => {
    await pool.query(`INSERT INTO site_adjustments (scope, site, until, connections, messages_per_minute, rule, reply) VALUES ('site', $1, now() + interval '10 minutes', 3, 30, 'test-slow-down', '451 4.7.500 slow down')`, [alpha]);
    await suspendSite(pool, { scope: 'domain', site: domainOf(alpha), durationMs: 600_000, rule: 'manual', reply: 'this domain only' });
    await suspendSite(pool, { scope: 'domain', site: `never-seen-${tag}.test`, durationMs: 600_000, rule: 'manual', reply: null });

    const view = await rebound.sites.list();
    const of = (site: string) => view.sites.find((s) => s.site === site)!;

    const a = of(alpha);
    assert.equal(a.state, 'throttled');
    assert.deepEqual(a.limits, FALLBACK_SITE_LIMITS);
    assert.deepEqual(a.effectiveLimits, { ...FALLBACK_SITE_LIMITS, connections: 3, initialConnections: 3, messagesPerMinute: 30 });
    assert.deepEqual(a.adjustments.map((x) => [x.rule, x.connections, x.messagesPerMinute, x.reply]), [['test-slow-down', 3, 30, '451 4.7.500 slow down']]);
    assert.deepEqual(a.suspensions.map((x) => [x.scope, x.site, x.reply]), [['domain', domainOf(alpha), 'this domain only']], 'the domain suspension is shown at its site');
    assert.deepEqual(a.queue.recipients.map((q) => [q.recipient, q.messageId, q.attempt, q.heldBack, q.reply.code, q.category]), [[at(alpha, 'full'), ids.a, 1, false, 452, 'mailbox_full']]);
    assert.equal(a.queue.total, 1);
    assert.ok(a.lastHour.delivered >= 2 && a.lastHour.soft >= 4 && a.lastHour.hard >= 1, JSON.stringify(a.lastHour));
    assert.ok(a.lastAttemptAt !== null);

    const b = of(beta);
    assert.equal(b.state, 'suspended');
    assert.deepEqual(b.suspensions.map((x) => [x.scope, x.rule, x.reply]), [['site', 'gmail-421-4.7.28', RATE_LIMIT]]);
    assert.deepEqual(b.queue.recipients.map((q) => [q.recipient, q.heldBack]), [[at(beta, 'ok'), true]]);
    assert.deepEqual(b.lastHour, { delivered: 0, soft: 0, hard: 0, heldBack: 1 });

    const g = of(gamma);
    assert.deepEqual([g.state, g.configured, g.limits, g.queue, g.lastAttemptAt], ['open', true, GAMMA_LIMITS, { total: 0, recipients: [] }, null], 'a configured site is shown though quiet');

    assert.deepEqual(view.unplaced.suspensions.filter((s) => s.site.includes(tag)).map((s) => s.site), [`never-seen-${tag}.test`]);

    assert.deepEqual(await rebound.sites.get(beta), b);
    const unknown = await rebound.sites.get(`Quiet-${tag}.example`);
    assert.deepEqual([unknown.site, unknown.state, unknown.limits], [`quiet-${tag}.example`, 'open', FALLBACK_SITE_LIMITS]);
    assert.equal((await rebound.sites.list({ queueLimit: 0 })).sites.find((s) => s.site === alpha)!.queue.total, 1, 'the total without the list');
    await pool.query('DELETE FROM site_adjustments WHERE site = $1', [alpha]);
  });

  test('the API: list, one site, suspend and resume with admin, field errors by name', async () => {
    const app: FastifyInstance = await buildApiServer({ rebound, pool, config: loadConfig(), logger: logger.child({}, { level: 'warn' }) });
    try {
      const base = await app.listen({ host: '127.0.0.1', port: 0 });
      const read = (await createApiKey(pool, { name: `sites-read-${tag}`, scope: 'read' })).key;
      const admin = (await createApiKey(pool, { name: `sites-admin-${tag}`, scope: 'admin' })).key;
      const call = async (method: string, p: string, key: string, body?: unknown) => {
        const res = await fetch(`${base}${p}`, { method, headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body) });
        return { status: res.status, type: res.headers.get("content-type"), body: (await res.json()) as any };
      };

      const list = await call('GET', '/v1/sites', read);
      assert.equal(list.status, 200);
      const b = (list.body as SitesView).sites.find((s) => s.site === beta)!;
      assert.equal(b.state, 'suspended');
      assert.equal(b.suspensions[0].reply, RATE_LIMIT);
      assert.equal(b.queue.recipients[0].recipient, at(beta, 'ok'));
      assert.equal(b.queue.recipients[0].heldBack, true);
      assert.deepEqual((await call('GET', `/v1/sites/${beta}`, read)).body, b);

      const field = async (body: unknown, name: string) => {
        const res = await call('POST', `/v1/sites/${gamma}/suspend`, admin, body);
        assert.equal(res.status, 422, JSON.stringify(res.body));
        assert.match(res.type ?? '', /^application\/problem\+json/);
        assert.equal(res.body.errors[0].field, name, JSON.stringify(res.body));
      };
      await field({}, 'minutes');
      await field({ minutes: 0 }, 'minutes');
      await field({ minutes: 1.5 }, 'minutes');
      await field({ minutes: 43_201 }, 'minutes');
      await field({ minutes: 'ten' }, 'minutes');
      await field({ minutes: 5, scope: 'mx' }, 'scope');
      await field({ minutes: 5, note: 'x'.repeat(501) }, 'note');
      await field({ minutes: 5, minute: 5 }, 'minute');
      await field([5], 'body');
      const badQueue = await call('GET', '/v1/sites?queue=lots', read);
      assert.equal(badQueue.status, 422);
      assert.equal(badQueue.body.errors[0].field, 'queue');

      assert.equal((await call('POST', `/v1/sites/${gamma}/suspend`, read, { minutes: 5 })).status, 403);
      const s = await call('POST', `/v1/sites/${gamma}/suspend`, admin, { minutes: 5 });
      assert.equal(s.status, 200, JSON.stringify(s.body));
      assert.deepEqual([s.body.site, s.body.scope, s.body.rule, s.body.reply], [gamma, 'site', 'manual', `suspended by api:sites-admin-${tag}`]);
      assert.ok(Math.abs(Date.parse(s.body.until) - Date.now() - 300_000) < 30_000);
      assert.equal((await call('GET', `/v1/sites/${gamma}`, read)).body.state, 'suspended');

      assert.equal((await call('POST', `/v1/sites/${gamma}/resume`, read, {})).status, 403);
      assert.deepEqual((await call('POST', `/v1/sites/${gamma}/resume`, admin, {})).body, { site: gamma, scope: 'site', resumed: true });
      assert.deepEqual((await call('POST', `/v1/sites/${gamma}/resume`, admin)).body, { site: gamma, scope: 'site', resumed: false });
      const domain = await call('POST', `/v1/sites/${domainOf(gamma)}/suspend`, admin, { minutes: 5, scope: 'domain', note: 'one domain' });
      assert.deepEqual([domain.body.scope, domain.body.site, domain.body.reply], ['domain', domainOf(gamma), 'one domain']);
      assert.deepEqual((await call('POST', `/v1/sites/${domainOf(gamma)}/resume`, admin, { scope: 'domain' })).body, { site: domainOf(gamma), scope: 'domain', resumed: true });
    } finally {
      await app.close();
    }
  });

  test('rebound sites prints the read model; suspend and resume take --scope; a bad option is named', async () => {
    const main = path.resolve(__dirname, '../../src/cli/main.js');
    const cli = (args: string[]) =>
      promisify(execFile)(process.execPath, ['-e', `require(${JSON.stringify(main)}).main(process.argv)`, 'rebound', 'sites', ...args], {
        env: { ...process.env, DATABASE_URL: TEST_DATABASE_URL, REBOUND_LOG_LEVEL: 'silent' },
      });
    const text = (await cli([])).stdout;
    assert.match(text, new RegExp(`^${beta}  SUSPENDED  conn 5→20, 100/conn, no rate cap$`, 'm'));
    assert.match(text, new RegExp(`^  suspended until \\S+ by gmail-421-4\\.7\\.28: 421 4\\.7\\.28 `, 'm'));
    assert.match(text, /^ {2}queue: 1 recipient deferred$/m);
    assert.ok(text.includes(at(beta, 'ok')), 'the queued recipient is listed');

    const json = JSON.parse((await cli(['--json'])).stdout) as SitesView;
    assert.equal(json.sites.find((s) => s.site === beta)!.queue.total, 1);

    const s = JSON.parse((await cli(['suspend', domainOf(beta), '--minutes', '3', '--scope', 'domain', '--json'])).stdout);
    assert.deepEqual([s.scope, s.site, s.rule], ['domain', domainOf(beta), 'manual']);
    assert.deepEqual(JSON.parse((await cli(['resume', domainOf(beta), '--scope', 'domain', '--json'])).stdout), { site: domainOf(beta), scope: 'domain', resumed: true });
    await assert.rejects(cli(['suspend', beta, '--minutes', '3', '--scope', 'planet', '--json']), (err: { code: number; stdout: string }) => {
      assert.equal(err.code, 2);
      assert.equal(JSON.parse(err.stdout).field, 'scope');
      return true;
    });
  });

  test('the expiry sweeper marks an expired suspension told once and sets the site gauges; sites are counted in /metrics', async () => {
    const short = `short-${tag}`;
    await suspendSite(pool, { site: short, durationMs: 50, rule: 'test-short', reply: null });
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.ok((await sweepExpiredSuspensions({ pool })) >= 1);
    const row = await pool.query('SELECT resumed_at FROM site_suspensions WHERE site = $1', [short]);
    assert.ok(row.rows[0].resumed_at, 'told');
    await sweepExpiredSuspensions({ pool });
    assert.equal((await pool.query('SELECT resumed_at FROM site_suspensions WHERE site = $1', [short])).rows[0].resumed_at.getTime(), row.rows[0].resumed_at.getTime(), 'told once');

    const suspended = await samples('rebound_site_suspended');
    assert.ok(suspended.some((x) => x.labels.site === beta && x.labels.scope === 'site' && x.value === 1), JSON.stringify(suspended));
    assert.ok(!suspended.some((x) => x.labels.site === short), 'a reopened site leaves the gauge');
    assert.ok((await samples('rebound_sites_suspended')).some((x) => x.labels.scope === 'site' && x.value >= 1));

    // A site gets its own label after 10 replies (README "Metrics"); before, it counts as other.
    const many = Array.from({ length: 10 }, (_, i) => at(alpha, `ok${i}`));
    ids.e = await storeMessage(many);
    await runSend({ messageId: ids.e, attempt: 1, recipients: many });
    const attempts = await samples('rebound_site_attempts_total');
    assert.ok(attempts.some((x) => x.labels.site === alpha && x.labels.kind === 'delivered' && x.value >= 1), JSON.stringify(attempts));
    assert.ok(attempts.some((x) => x.labels.site === 'other' && x.labels.kind === 'hard'), 'the first replies of a site as other');
    const held = await samples('rebound_site_deferrals_held_total');
    assert.ok(held.some((x) => x.labels.site === 'other' && x.labels.reason === 'suspended' && x.value >= 1), JSON.stringify(held));
    for (const x of [...attempts, ...held]) assert.doesNotMatch(Object.values(x.labels).join(' '), /@/, 'no address in a label');
  });
});
