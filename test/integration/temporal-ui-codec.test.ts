// The Temporal UI reading encrypted runs through the API's codec server (README "Payload
// encryption"), in a real headless Chromium (Debian's, driven by playwright-core) against the
// dev server's own UI started with --ui-codec-endpoint, as `rebound dev` starts it. Without a
// key the UI shows ciphertext; after the operator enters a key in the dashboard (which sets the
// codec session cookie) and lets the UI include credentials, it shows the recipients.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { chromium, type BrowserContext } from 'playwright-core';
import { createApiKey } from '../../src/api/keys';
import { CODEC_COOKIE } from '../../src/api/routes/codec';
import { buildApiServer } from '../../src/api/server';
import { packageRoot } from '../../src/api/ui/routes';
import { freePort } from '../../src/dev/temporal-server';
import { logger } from '../../src/log';
import { TEST_PAYLOAD_KEYS } from '../helpers/codec';
import { startDevStack, type DevStack } from '../helpers/dev-stack';
import { testMessage, uid } from '../helpers/stack';

const CHROMIUM = '/usr/bin/chromium';
const FAILURE_SCREENSHOT = path.join(packageRoot(), 'test-output', 'temporal-ui-codec-failure.png');
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const tag = uid();
const recipient = `ok+${tag}@example.test`;
let stack: DevStack;
let app: FastifyInstance;
let api: string;
let ui: string;
let readKey: string;
let workflowUrl: string;
let context: BrowserContext | undefined;
let userDataDir: string | undefined;

before(async () => {
  assert.ok(existsSync(CHROMIUM), `Debian's chromium is needed at ${CHROMIUM}; install it with \`sudo apt-get install -y --no-install-recommends chromium\``);
  const [apiPort, uiPort] = [await freePort(), await freePort()];
  // localhost for both, as `rebound dev` has it: the session cookie is SameSite=Strict.
  api = `http://localhost:${apiPort}`;
  ui = `http://localhost:${uiPort}`;
  stack = await startDevStack({ payloadKeys: TEST_PAYLOAD_KEYS, codecCorsOrigins: [ui] }, { uiPort, codecEndpoint: `${api}/codec` });
  app = await buildApiServer({ rebound: stack.rebound, pool: stack.pool, config: stack.config, logger: logger.child({}, { level: 'warn' }) });
  await app.listen({ host: '127.0.0.1', port: apiPort });
  readKey = (await createApiKey(stack.pool, { name: 'temporal-ui-codec-read', scope: 'read' })).key;
  const { messageId, workflowId } = await stack.rebound.send(testMessage([recipient]));
  await stack.rebound.result(messageId);
  const { runId } = await stack.rebound.handle(messageId).describe();
  workflowUrl = `${ui}/namespaces/${stack.config.temporalNamespace}/workflows/${encodeURIComponent(workflowId)}/${runId}/history`;
  userDataDir = await mkdtemp(path.join(os.tmpdir(), 'rebound-temporal-ui-'));
  context = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
});

after(async () => {
  await context?.close();
  if (userDataDir) await rm(userDataDir, { recursive: true, force: true });
  await app?.close();
  await stack?.teardown();
});

/** Opens the run's history and collects the codec server's answers while it renders. */
async function openRun(): Promise<{ text: string; codecStatuses: number[] }> {
  const page = await context!.newPage();
  const codecStatuses: number[] = [];
  page.on('response', (r) => {
    if (r.url().startsWith(`${api}/codec/decode`) && r.request().method() === 'POST') codecStatuses.push(r.status());
  });
  await page.goto(workflowUrl);
  try {
    await page.getByText('Workflow Execution Started', { exact: false }).first().waitFor({ timeout: 30_000 });
  } catch (err) {
    await page.screenshot({ path: FAILURE_SCREENSHOT }).catch(() => undefined);
    throw new Error(`the Temporal UI did not show the run's history (screenshot: ${FAILURE_SCREENSHOT}): ${(err as Error).message}`);
  }
  // The input is decoded (or not) after the events render.
  const until = Date.now() + 15_000;
  let text = '';
  while (Date.now() < until) {
    text = await page.locator('body').innerText();
    if (text.includes(recipient) || codecStatuses.length > 0) break;
    await page.waitForTimeout(250);
  }
  await page.waitForTimeout(1000);
  text = await page.locator('body').innerText();
  await page.close();
  return { text, codecStatuses };
}

test('the Temporal UI shows ciphertext without a key, and the recipients with one', async () => {
  const before = await openRun();
  assert.ok(before.codecStatuses.length > 0, 'the UI called the codec server it was started with');
  assert.ok(before.codecStatuses.every((s) => s === 401), `without a key the codec server refused: ${before.codecStatuses}`);
  assert.ok(!before.text.includes(recipient), 'no recipient without a key');

  // The operator enters a key in the dashboard: it also starts the codec session (an HttpOnly cookie).
  const dashboard = await context!.newPage();
  await dashboard.goto(`${api}/ui`);
  await dashboard.locator('#key-input').fill(readKey);
  await dashboard.locator('#key-form button[type=submit]').click();
  await dashboard.locator('#app').waitFor({ state: 'visible' });
  const deadline = Date.now() + 10_000;
  while (!(await context!.cookies()).some((c) => c.name === CODEC_COOKIE) && Date.now() < deadline) await dashboard.waitForTimeout(100);
  const cookie = (await context!.cookies()).find((c) => c.name === CODEC_COOKIE);
  assert.ok(cookie && cookie.httpOnly && cookie.sameSite === 'Strict' && cookie.path === '/codec', JSON.stringify(cookie));
  await dashboard.close();

  // `temporal server start-dev` has no flag for it: the UI includes credentials once the operator
  // ticks it in its Codec Server settings, which the UI keeps in localStorage as set here.
  await context!.addInitScript({
    content: `localStorage.setItem('endpoint', ${JSON.stringify(JSON.stringify(`${api}/codec`))}); localStorage.setItem('includeCredentials', 'true'); localStorage.setItem('overrideRemoteCodecConfiguration', 'true');`,
  });
  const after = await openRun();
  assert.ok(after.codecStatuses.length > 0 && after.codecStatuses.every((s) => s === 200), `with the session the codec server decoded: ${after.codecStatuses}`);
  assert.ok(after.text.includes(recipient), `the UI shows the decoded input:\n${after.text.slice(0, 2000)}`);
});
