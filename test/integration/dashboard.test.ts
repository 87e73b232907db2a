// The dashboard at /ui in a real headless Chromium (Debian's package, driven by playwright-core;
// no browser is downloaded), in front of the dev stack: the page loads under its CSP, shows the
// seeded domains and the retrying message with its Temporal UI link, and lifts a suppression
// (a read key sees the 403's detail, an admin key lifts it, PostgreSQL has the lift). A
// screenshot goes to test-output/dashboard.png.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { createApiKey } from '../../src/api/keys';
import { buildApiServer } from '../../src/api/server';
import { packageRoot } from '../../src/api/ui/routes';
import { logger } from '../../src/log';
import { startDevStack, type DevStack } from '../helpers/dev-stack';
import { testMessage, uid } from '../helpers/stack';
import { eventually } from '../helpers/wait';
import { activeSuspension, suspendSite } from '../../src/sites/store';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const TEMPORAL_UI = 'http://temporal-ui.invalid:8233';
const SCREENSHOT = path.join(packageRoot(), 'test-output', 'dashboard.png');

const tag = uid();
const domains = { retrying: `dash-full-${tag}.test`, delivered: `dash-ok-${tag}.test`, bounced: `dash-bad-${tag}.test` };
const retryingId = `dash-retry-${tag}`;
const retryingTo = `full+${tag}@${domains.retrying}`;
const suppressed = `lift-me+${tag}@dash-sup-${tag}.test`;

let stack: DevStack;
let app: FastifyInstance;
let base: string;
let readKey: string;
let adminKey: string;
let context: BrowserContext | undefined;
let userDataDir: string | undefined;

before(async () => {
  // Fail, not skip: the dashboard is untested without a browser.
  assert.ok(existsSync(CHROMIUM), `Debian's chromium is needed at ${CHROMIUM} for the dashboard test; install it with \`sudo apt-get install -y --no-install-recommends chromium\` (scripts/setup.sh does when run as root)`);
  stack = await startDevStack();
  app = await buildApiServer({ rebound: stack.rebound, pool: stack.pool, config: { ...stack.config, temporalUiUrl: TEMPORAL_UI }, logger: logger.child({}, { level: 'warn' }) });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
  readKey = (await createApiKey(stack.pool, { name: 'dashboard-read', scope: 'read' })).key;
  adminKey = (await createApiKey(stack.pool, { name: 'dashboard-admin', scope: 'admin' })).key;

  await stack.rebound.send({ ...testMessage([retryingTo]), id: retryingId });
  await stack.rebound.send({ ...testMessage([`ok+${tag}@${domains.delivered}`]), id: `dash-ok-${tag}` });
  await stack.rebound.send({ ...testMessage([`unknown+${tag}@${domains.bounced}`]), id: `dash-bad-${tag}` });
  await stack.rebound.suppressions.add(suppressed, { reason: 'manual', actor: 'dashboard-test' });
  // Seeded once the rollups have all three domains and visibility shows the retrying message.
  await eventually('domains rolled up', () => stack.rebound.domains.list({ limit: 10_000 }), (list) => Object.values(domains).every((d) => list.some((h) => h.domain === d)));
  await eventually(
    'retrying in visibility',
    async () => (await stack.rebound.status(retryingId)).state === 'retrying' && (await stack.rebound.domains.get(domains.retrying)).retrying?.length === 1,
    (ok) => ok,
  );

  userDataDir = await mkdtemp(path.join(os.tmpdir(), 'rebound-dashboard-'));
  context = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
});

after(async () => {
  await context?.close();
  if (userDataDir) await rm(userDataDir, { recursive: true, force: true });
  await app?.close();
  await stack?.teardown();
});

async function logIn(page: Page, key: string): Promise<void> {
  await page.locator('#key-input').fill(key);
  await page.locator('#key-form button[type=submit]').click();
  await page.locator('#app').waitFor({ state: 'visible' });
}

test('the dashboard shows domains, the retrying message and lifts a suppression', async () => {
  const page = await context!.newPage();
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    // A refused /v1 call (the 403 below) is logged by the browser; CSP violations and script errors are not expected.
    if (msg.type() === 'error' && !/status of 403/.test(msg.text())) problems.push(`console: ${msg.text()}`);
  });

  const res = await page.goto(`${base}/ui`);
  assert.equal(res?.status(), 200);
  assert.match(res!.headers()['content-security-policy'] ?? '', /script-src 'self'/);
  await page.locator('#login').waitFor({ state: 'visible' });

  // A read key: everything shows, the lift is refused with the 403's detail.
  await logIn(page, readKey);
  for (const d of Object.values(domains)) await page.locator(`#domains-table tbody tr[data-domain="${d}"]`).waitFor();
  assert.equal(await page.locator(`#domains-table tbody tr[data-domain="${domains.bounced}"] td`).last().textContent(), 'bad');

  const retryRow = page.locator(`#retrying-table tbody tr[data-message-id="${retryingId}"]`);
  await retryRow.waitFor();
  const cells = await retryRow.locator('td').allTextContents();
  assert.equal(cells[1], retryingTo);
  assert.ok(Number(cells[2]) >= 1, `attempts: ${cells[2]}`);
  assert.notEqual(cells[3], '', 'next attempt shown');
  // The SMTP reply, with the address in angle brackets, shown as text, not markup.
  assert.match(cells[4], new RegExp(`^452 4\\.2\\.2 <${retryingTo.replace(/[.+]/g, '\\$&')}>: mailbox full`));
  assert.equal(await retryRow.locator('a.temporal-link').getAttribute('href'), `${TEMPORAL_UI}/namespaces/${stack.config.temporalNamespace}/workflows/${encodeURIComponent(`delivery:${retryingId}`)}`);

  // The chart of one domain.
  await page.locator(`#domains-table button[data-domain="${domains.retrying}"]`).click();
  await page.locator(`#domain-detail[data-loaded="${domains.retrying}"]`).waitFor();

  // Search by domain, then lift.
  await page.locator('#search-by').selectOption('domain');
  await page.locator('#search-input').fill(suppressed.split('@')[1]);
  await page.locator('#suppression-search button[type=submit]').click();
  const supRow = page.locator(`#suppressions-table tbody tr[data-address="${suppressed}"]`);
  // The unfiltered list may hold the row already: wait for the search's answer to replace it.
  await supRow.waitFor();
  await eventually('only the domain\'s suppression listed', () => page.locator('#suppressions-table tbody tr').count(), (n) => n === 1, 10_000);
  await supRow.locator('button.lift').click();
  await page.locator('#status.error').waitFor();
  assert.match((await page.locator('#status').textContent()) ?? '', /needs a key of scope "admin"/);
  assert.equal((await stack.rebound.suppressions.check(suppressed)).suppressed, true);

  // An admin key lifts it: the row goes, and PostgreSQL has the lift.
  await page.locator('#forget-key').click();
  await page.locator('#login').waitFor({ state: 'visible' });
  await logIn(page, adminKey);
  await page.locator('#search-by').selectOption('prefix');
  await page.locator('#search-input').fill(suppressed.slice(0, 12));
  await page.locator('#suppression-search button[type=submit]').click();
  await supRow.waitFor();
  await supRow.locator('button.lift').click();
  await supRow.waitFor({ state: 'detached' });
  const row = await stack.pool.query('SELECT lifted_at, lifted_by FROM suppressions WHERE address = $1', [suppressed]);
  assert.ok(row.rows[0].lifted_at, 'lifted_at set');
  assert.equal(row.rows[0].lifted_by, 'api:dashboard-admin');

  await page.locator(`#domains-table button[data-domain="${domains.retrying}"]`).click();
  await page.locator(`#domain-detail[data-loaded="${domains.retrying}"]`).waitFor();
  await mkdir(path.dirname(SCREENSHOT), { recursive: true });
  await page.screenshot({ path: SCREENSHOT, fullPage: true });
  assert.deepEqual(problems, []);
});

test('the Sites panel shows a suspended site with its reply and its queue; a read key cannot resume it, an admin key can, and suspends one from the form', async () => {
  const site = `dash-site-${tag}`;
  const reply = `421 4.7.28 <${retryingTo}> unusual rate of mail`;
  await suspendSite(stack.pool, { site, durationMs: 600_000, rule: 'gmail-421-4.7.28', reply });
  // The retrying message's attempts named at this site: what a sender that knows its site records
  // (direct delivery's; the relay's once shaping covers relay mode), so the queue has one recipient.
  await stack.pool.query('UPDATE attempts SET site = $2 WHERE message_id = $1', [retryingId, site]);

  const page = await context!.newPage();
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !/status of 403/.test(msg.text())) problems.push(`console: ${msg.text()}`);
  });
  await page.goto(`${base}/ui`);
  await logIn(page, readKey);
  const siteRow = page.locator(`#sites-table tbody tr[data-site="${site}"]`);
  await siteRow.waitFor();
  const cells = await siteRow.locator('td').allTextContents();
  assert.equal(cells[1], 'suspended');
  assert.equal(cells[2], 'conn 5→20, 100/conn, no rate cap');
  assert.match(cells[3], /suspended until .* by gmail-421-4\.7\.28/);
  // The reply is set as text: the address in angle brackets is not markup.
  assert.equal(await siteRow.locator('li.held-suspension .reply').textContent(), reply);
  assert.equal(await siteRow.locator(`td.queue li[data-recipient="${retryingTo}"]`).count(), 1);
  assert.match(cells[4], /^1 deferred/);

  await siteRow.locator('button.resume').click();
  await page.locator('#status.error').waitFor();
  assert.match((await page.locator('#status').textContent()) ?? '', /needs a key of scope "admin"/);
  assert.ok(await activeSuspension(stack.pool, site), 'still suspended');

  await page.locator('#forget-key').click();
  await logIn(page, adminKey);
  await siteRow.waitFor();
  await siteRow.locator('button.resume').click();
  await eventually('resumed', async () => (await siteRow.locator('td').nth(1).textContent()) ?? '', (state) => state === 'open');
  assert.equal(await activeSuspension(stack.pool, site), null);
  assert.equal((await page.locator('#status').textContent()) ?? '', `resumed site ${site}`);

  // An operator's suspension from the form: scope, minutes and note as the API takes them.
  await page.locator('#suspend-site').fill(site);
  await page.locator('#suspend-minutes').fill('15');
  await page.locator('#suspend-note').fill('<b>maintenance</b> at the receiver');
  await page.locator('#suspend-form button[type="submit"]').click();
  await eventually('suspended by hand', async () => (await siteRow.locator('td').nth(1).textContent()) ?? '', (state) => state === 'suspended');
  const manual = await activeSuspension(stack.pool, site);
  assert.equal(manual?.rule, 'manual');
  assert.equal(manual?.reply, '<b>maintenance</b> at the receiver');
  assert.ok(manual && manual.until.getTime() - Date.now() > 14 * 60_000, 'for the 15 minutes asked');
  assert.match((await page.locator('#status').textContent()) ?? '', new RegExp(`^suspended site ${site} until `));
  assert.equal(await siteRow.locator('li.held-suspension .reply').textContent(), '<b>maintenance</b> at the receiver');
  // A bad site name: the API's 422 names the field, nothing is suspended.
  await page.locator('#suspend-site').fill('not a site');
  await page.locator('#suspend-form button[type="submit"]').click();
  await eventually('refused', async () => (await page.locator('#status.error').count()) === 1 ? ((await page.locator('#status').textContent()) ?? '') : '', (t) => t !== '');
  assert.match((await page.locator('#status').textContent()) ?? '', /^could not suspend not a site: .*site/);
  assert.equal(await activeSuspension(stack.pool, 'not a site'), null);
  await siteRow.locator('button.resume').click();
  await eventually('resumed again', async () => (await siteRow.locator('td').nth(1).textContent()) ?? '', (state) => state === 'open');
  assert.deepEqual(problems.filter((p) => !/status of 422/.test(p)), []);
  await page.close();
});

test('the page and its assets need no key; the /v1 routes do', async () => {
  for (const asset of ['/ui/assets/app.js', '/ui/assets/app.css', '/ui/assets/chart.umd.js', '/ui/config.json']) {
    const res = await fetch(`${base}${asset}`);
    assert.equal(res.status, 200, asset);
    assert.match(res.headers.get('content-security-policy') ?? '', /script-src 'self'/);
  }
  assert.deepEqual(await (await fetch(`${base}/ui/config.json`)).json(), { temporalUiUrl: TEMPORAL_UI, namespace: stack.config.temporalNamespace });
  assert.equal((await fetch(`${base}/ui/assets/..%2f..%2fpackage.json`)).status, 404);
  assert.equal((await fetch(`${base}/v1/domains`)).status, 401);
});
