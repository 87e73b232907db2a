// The fault suite as one function: start the isolated stack, stream the traffic while the
// faults land, wait until every message is final, count, stop everything. run.ts is its
// command line; test/integration/faults.test.ts runs the quick form. One function on purpose:
// the order of start, traffic, faults, drain and teardown is the suite.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { Client as PgClient, type Pool } from 'pg';
import { randomBytes } from 'node:crypto';
import { ReboundClient } from '../../src/client/rebound-client';
import { dataConverterOption } from '../../src/codec/data-converter';
import { parsePayloadKeys } from '../../src/codec/keyring';
import { createPool } from '../../src/db/pool';
import { prepareDatabase } from '../../src/db/setup';
import { freePort } from '../../src/dev/temporal-server';
import { FINAL_MESSAGE_STATES, deliveryWorkflowId, type DeliveryStatus, type MessageState, statusQuery } from '../../src/delivery/contract';
import { Cleanup, type Say } from '../../src/dev/cleanup';
import { PrivateCluster } from './cluster';
import { judge, type DbSnapshot, type Verdict } from './count';
import { judgeSurfaces, type SurfaceObservations, type SurfaceVerdict } from './count-surfaces';
import { estimatePlanMs, FAULT_KINDS, Injector, planFaults, POSTGRES_KINDS, QUICK_KINDS, type FaultKind, type FaultRecord } from './inject';
import { Peer, type PeerReport } from './peer';
import { prepareSurfaces, startApi, stopSurfaces, type Surfaces } from './surfaces';
import { liveGroups } from './processes';
import { Prng } from './prng';
import { jsonReport, renderReport, type RunInfo } from './report';
import { TemporalServer } from './temporal';
import { compressedSchedule, planMessages, Traffic, type PlannedMessage } from './traffic';
import { Workers } from './workers';

export interface SuiteOptions {
  quick: boolean;
  messages: number;
  faults: number;
  seed: number;
  workers: number;
  /** Fault kinds to draw from; the quick run's three by default with --quick, all otherwise. */
  kinds: FaultKind[];
  deadlineSeconds: number;
  /** How long after the first 250 a worker kill still explains a duplicate. */
  windowMs: number;
  /** Longest wait for messages to become final after the last fault and submit. */
  drainSeconds: number;
  keep: boolean;
  /** Use a database on the shared server instead of a private cluster (no PostgreSQL faults). */
  sharedDatabase: boolean;
  say: Say;
}

export function suiteOptions(partial: Partial<SuiteOptions> & { quick?: boolean } = {}): SuiteOptions {
  const quick = partial.quick ?? false;
  return {
    quick,
    messages: partial.messages ?? (quick ? 48 : 300),
    faults: partial.faults ?? (quick ? QUICK_KINDS.length : 16),
    seed: partial.seed ?? Math.floor(Math.random() * 1_000_000),
    workers: partial.workers ?? 2,
    kinds: partial.kinds ?? [...(quick ? QUICK_KINDS : FAULT_KINDS)],
    deadlineSeconds: partial.deadlineSeconds ?? (quick ? 60 : 90),
    windowMs: partial.windowMs ?? 1000,
    // The quick run must end within 3 minutes; the full run waits out a 5-minute activity timeout.
    drainSeconds: partial.drainSeconds ?? (quick ? 40 : 330),
    keep: partial.keep ?? false,
    sharedDatabase: partial.sharedDatabase ?? false,
    say: partial.say ?? ((msg) => process.stderr.write(`[faults] ${msg}\n`)),
  };
}

export interface SuiteResult {
  verdict: Verdict;
  surfaces: SurfaceVerdict;
  faults: FaultRecord[];
  info: RunInfo;
  report: string;
  json: object;
  /** Processes of the suite still alive after cleanup: must be empty. */
  leftover: string[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A process that still runs; a zombie waiting for init to reap it (the postmaster's fate) does not. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** The fallback database when no private cluster can be made: its own database on the shared server. */
function sharedFallbackUrl(): string {
  const u = new URL(process.env.REBOUND_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/rebound_test');
  u.pathname = `/rebound_faults_${process.pid}`;
  return u.toString();
}

async function dropDatabase(url: string): Promise<void> {
  const u = new URL(url);
  const name = u.pathname.slice(1);
  u.pathname = '/postgres';
  const client = new PgClient({ connectionString: u.toString() });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

async function finalStates(pool: Pool, ids: string[]): Promise<Map<string, MessageState>> {
  const res = await pool.query('SELECT id, state FROM messages WHERE id = ANY($1)', [ids]);
  return new Map(res.rows.map((r) => [r.id as string, r.state as MessageState]));
}

async function snapshot(pool: Pool, ids: string[]): Promise<DbSnapshot> {
  const [messages, accepted, expired, attempts] = await Promise.all([
    pool.query(`SELECT id, state, (extract(epoch FROM finished_at) * 1000)::float8 AS finished_ms, message_id_header FROM messages WHERE id = ANY($1)`, [ids]),
    pool.query('SELECT message_id, recipient FROM accepted_recipients WHERE message_id = ANY($1)', [ids]),
    pool.query('SELECT message_id, recipient FROM expirations WHERE message_id = ANY($1)', [ids]),
    pool.query(`SELECT message_id, recipient, kind, (extract(epoch FROM at) * 1000)::float8 AS at_ms FROM attempts WHERE message_id = ANY($1)`, [ids]),
  ]);
  const k = (r: { message_id: string; recipient: string }) => `${r.message_id} ${r.recipient.toLowerCase()}`;
  const attemptTimes = new Map<string, number[]>();
  for (const r of attempts.rows) attemptTimes.set(r.message_id, [...(attemptTimes.get(r.message_id) ?? []), Number(r.at_ms)]);
  return {
    messages: new Map(messages.rows.map((r) => [r.id, { state: r.state, finishedAt: r.finished_ms === null ? null : Number(r.finished_ms), header: r.message_id_header }])),
    accepted: new Set(accepted.rows.map(k)),
    expired: new Set(expired.rows.map(k)),
    hardBounced: new Set(attempts.rows.filter((r) => r.kind === 'hard').map(k)),
    attemptTimes,
  };
}

async function statuses(client: Client, ids: string[]): Promise<Map<string, DeliveryStatus | { error: string }>> {
  const out = new Map<string, DeliveryStatus | { error: string }>();
  const queue = [...ids];
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
        let last = '';
        for (let attempt = 0; attempt < 3; attempt++) {
          try {
            out.set(id, await client.workflow.getHandle(deliveryWorkflowId(id)).query(statusQuery));
            last = '';
            break;
          } catch (err) {
            last = (err as Error).message;
            await sleep(500);
          }
        }
        if (last) out.set(id, { error: last });
      }
    }),
  );
  return out;
}

/** The webhook outage's end to the last redelivery of its events: the 5 s and 5 min steps, and a margin. */
const WEBHOOK_REDELIVERY_MS = 340_000;

const batchIds = (faults: FaultRecord[], kind: FaultKind) => faults.filter((f) => f.kind === kind).flatMap((f) => f.batch);

/** Every outbox event processed by the receiver, every reported message with its late outcome. */
async function surfacesSettled(pool: Pool, s: Surfaces, faults: FaultRecord[]): Promise<boolean> {
  if (s.webhooks) {
    const res = await pool.query('SELECT id FROM webhook_events');
    if (!res.rows.every((r) => s.webhooks!.processed.has(r.id))) return false;
  }
  if (s.inbound) {
    const ids = batchIds(faults, 'inbound-db-down');
    const res = await pool.query('SELECT count(DISTINCT message_id)::int AS n FROM late_outcomes WHERE message_id = ANY($1)', [ids]);
    if (res.rows[0].n < ids.length) return false;
  }
  return true;
}

async function observeSurfaces(
  pool: Pool,
  s: Surfaces,
  o: Pick<SurfaceObservations, 'messages' | 'verdicts' | 'faults' | 'transactions'> & { reports: PeerReport[]; db: DbSnapshot },
): Promise<SurfaceObservations> {
  const headers = new Map([...o.db.messages].map(([id, m]) => [id, m.header.trim().replace(/^<(.*)>$/, '$1').toLowerCase()]));
  let webhooks: SurfaceObservations['webhooks'] = null;
  if (s.webhooks) {
    const res = await pool.query(`SELECT id, type, (extract(epoch FROM created_at) * 1000)::float8 AS at FROM webhook_events ORDER BY created_at`);
    webhooks = { outbox: res.rows.map((r) => ({ id: r.id, type: r.type, createdAt: Number(r.at) })), processed: s.webhooks.processed, rejected: s.webhooks.rejected, requests: s.webhooks.requests };
  }
  let reports: SurfaceObservations['reports'] = null;
  if (s.inbound) {
    const ids = batchIds(o.faults, 'inbound-db-down');
    const rows: NonNullable<SurfaceObservations['reports']>['rows'] = new Map(ids.map((id) => [id, { reports: [], lateOutcomes: 0 }]));
    // A report is found by the message it was matched to, and, not yet processed, by the token of its envelope.
    const [reps, late] = await Promise.all([
      pool.query('SELECT id::text, message_id, processed_at IS NOT NULL AS processed, outcome FROM inbound_reports WHERE message_id = ANY($1)', [ids]),
      pool.query('SELECT message_id, count(*)::int AS n FROM late_outcomes WHERE message_id = ANY($1) GROUP BY message_id', [ids]),
    ]);
    for (const r of reps.rows) rows.get(r.message_id)?.reports.push({ id: r.id, processed: r.processed, outcome: r.outcome });
    for (const r of late.rows) rows.get(r.message_id)!.lateOutcomes = r.n;
    reports = { tries: o.reports, rows };
  }
  const held = await pool.query(`SELECT count(*)::int AS n FROM attempts WHERE error_code = 'ESITESUSPENDED'`);
  return { messages: o.messages, verdicts: o.verdicts, faults: o.faults, transactions: o.transactions, headers, api: s.api !== null, webhooks, reports, heldBySuspension: held.rows[0].n };
}

export async function runFaultSuite(opts: SuiteOptions): Promise<SuiteResult> {
  const { say } = opts;
  const startedAt = Date.now();
  const cleanup = new Cleanup();
  const unhook = cleanup.installSignalHandlers(say);
  // The suite runs with the payload codec on, as the demo does (README "Payload encryption"):
  // every process it starts inherits the key, and its own client reads with it.
  const keysBefore = process.env.REBOUND_PAYLOAD_KEYS;
  process.env.REBOUND_PAYLOAD_KEYS = keysBefore ?? `faults:${randomBytes(32).toString('base64')}`;
  const payloadKeys = parsePayloadKeys(process.env.REBOUND_PAYLOAD_KEYS);
  cleanup.add('payload keys', async () => {
    if (keysBefore === undefined) delete process.env.REBOUND_PAYLOAD_KEYS;
    else process.env.REBOUND_PAYLOAD_KEYS = keysBefore;
  });
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'rebound-faults-'));
  if (!opts.keep) {
    cleanup.add('temp dir', async () => rmSync(tmp, { recursive: true, force: true }));
    cleanup.onExitSync(() => rmSync(tmp, { recursive: true, force: true }));
  }
  let trafficStartedAt = startedAt;
  const clock = (t: number) => `+${((t - trafficStartedAt) / 1000).toFixed(1)} s`;
  try {
    say(`seed ${opts.seed}; temp dir ${tmp}`);
    // PostgreSQL: a private cluster, or the shared server without its faults.
    let kinds = opts.kinds;
    let skipped: string | null = null;
    let cluster: PrivateCluster | null = null;
    let databaseUrl: string;
    const made = opts.sharedDatabase ? { cluster: null, reason: '--shared-db was given' } : await PrivateCluster.create(path.join(tmp, 'pg'));
    if (made.cluster) {
      cluster = made.cluster;
      cleanup.onExitSync(() => cluster!.stopSync());
      cleanup.add('postgres', () => cluster!.stop());
      await cluster.start();
      databaseUrl = cluster.url;
      say(`private PostgreSQL on port ${cluster.port}`);
    } else {
      databaseUrl = sharedFallbackUrl();
      skipped = `no private PostgreSQL cluster (${made.reason}): using the shared server's database ${new URL(databaseUrl).pathname.slice(1)}, PostgreSQL faults skipped`;
      say(skipped);
      kinds = kinds.filter((k) => !POSTGRES_KINDS.includes(k));
      cleanup.add('shared fallback database', () => dropDatabase(databaseUrl));
    }
    await prepareDatabase(databaseUrl);

    // The plan: the same seed gives the same messages and the same faults. Made before the
    // stack starts: the surfaces the faults reach decide what runs (surfaces.ts).
    const prng = new Prng(opts.seed);
    const schedule = compressedSchedule(opts.deadlineSeconds);
    const runTag = `${opts.seed.toString(36)}${Date.now().toString(36).slice(-5)}`;
    const messages: PlannedMessage[] = planMessages(opts.messages, prng, runTag, schedule);
    if (kinds.length === 0) throw new Error('no fault kinds left to inject');
    const plan = planFaults(kinds, opts.faults, prng, opts.quick);
    const spanMs = estimatePlanMs(plan);
    const intervalMs = Math.max(50, Math.round(spanMs / opts.messages));
    const planned = [...new Set(plan.map((p) => p.kind))];
    // With the API in the stack, every third message is posted through it (the rest by the SDK).
    if (planned.includes('kill-api')) for (const m of messages) if (m.index % 3 === 1) m.via = 'api';
    say(`${opts.messages} messages, one every ${intervalMs} ms; ${plan.length} faults: ${plan.map((p) => p.kind).join(', ')}`);

    const [temporalPort, sinkPort, controlPort] = [await freePort(), await freePort(), await freePort()];
    const server = new TemporalServer(tmp, temporalPort);
    cleanup.add('temporal', () => server.stop());
    await server.start();
    say(`Temporal dev server on ${server.address} (${server.dbFile})`);

    const smtpUrl = `smtp://127.0.0.1:${sinkPort}`;
    const surfacesPool = createPool(databaseUrl, { max: 2 });
    cleanup.add('surfaces pool', () => surfacesPool.end());
    const surfaces: Surfaces = await prepareSurfaces(planned, { dir: tmp, databaseUrl, pool: surfacesPool, smtpUrl, runTag, say });
    cleanup.add('surfaces', () => stopSurfaces(surfaces));

    const peer = new Peer(tmp, sinkPort, controlPort, surfaces.inboundAddress);
    cleanup.add('sink', () => peer.dispose());
    await peer.start();

    const taskQueue = `faults-${opts.seed}-${process.pid}`;
    const workers = new Workers(tmp, opts.workers, { temporalAddress: server.address, databaseUrl, smtpUrl: peer.url, taskQueue, logLevel: 'info', extra: surfaces.workerEnv }, say);
    cleanup.add('workers', () => workers.stopAll());
    await workers.startAll();
    say(`${opts.workers} workers ready on task queue ${taskQueue}`);
    await startApi(surfaces, planned, { dir: tmp, databaseUrl, pool: surfacesPool, temporalAddress: server.address, taskQueue, smtpUrl: peer.url, say });

    const connection = await Connection.connect({ address: server.address });
    const client = new Client({ connection, ...dataConverterOption(payloadKeys) });
    const clientPool = createPool(databaseUrl, { max: 8 });
    const rebound = new ReboundClient({ client, pool: clientPool, taskQueue, domains: [] });
    const observer = createPool(databaseUrl, { max: 2 });
    cleanup.add('client', async () => {
      await rebound.close();
      await clientPool.end();
      await observer.end();
      await connection.close();
    });


    const traffic = new Traffic(rebound, schedule, say);
    if (surfaces.apiUrl && surfaces.apiKey) traffic.api = { url: surfaces.apiUrl, key: surfaces.apiKey };
    const injector = new Injector({ temporal: server, cluster, workers, peer, client, traffic, messages, schedule, runTag, prng, say, clock, surfaces, pool: observer });
    trafficStartedAt = Date.now();
    let stop = false;
    const streaming = traffic.stream(messages, intervalMs);
    const injecting = injector.run(plan, () => stop);

    // Progress, and the finality the drain waits for, from the messages table.
    const final = new Map<string, MessageState>();
    const poll = async () => {
      const states = await finalStates(observer, messages.map((m) => m.id)).catch(() => null);
      if (states) for (const [id, st] of states) if (FINAL_MESSAGE_STATES.includes(st)) final.set(id, st);
    };
    let lastProgress = 0;
    const progress = () => {
      if (Date.now() - lastProgress < 15_000) return;
      lastProgress = Date.now();
      const submitted = messages.filter((m) => m.submittedAt !== null).length;
      say(`${clock(Date.now())}: ${submitted}/${messages.length} submitted, ${final.size} final, ${injector.faults.length}/${plan.length} faults done`);
    };
    let injectError: unknown = null;
    const injected = injecting.catch((err) => {
      injectError = err;
      stop = true;
    });
    let done = false;
    const injectedAndStreamed = Promise.all([streaming, injected]).then(() => (done = true));
    while (!done) {
      await Promise.race([injectedAndStreamed, sleep(2000)]);
      await poll();
      progress();
    }
    if (injectError) throw injectError;
    await traffic.settle();
    const lastSubmit = Math.max(...messages.map((m) => m.submittedAt ?? 0));
    const lastFaultEnd = Math.max(0, ...injector.faults.map((f) => f.endedAt));
    // Every message has its deadline; past that, only a stuck one is still open.
    let drainUntil = Math.max(lastSubmit + schedule.deadlineMs + 15_000, lastFaultEnd + opts.drainSeconds * 1000);
    // An event whose first two tries (at once, 5 s later) met the receiver down is tried again
    // 5 minutes later (README "Webhooks", retries; src/webhooks/schedule.ts): the drain waits
    // for that try, whatever --drain says.
    const webhookDownEnd = Math.max(0, ...injector.faults.filter((f) => f.kind === 'webhook-down').map((f) => f.endedAt));
    if (webhookDownEnd > 0 && webhookDownEnd + WEBHOOK_REDELIVERY_MS > drainUntil) {
      drainUntil = webhookDownEnd + WEBHOOK_REDELIVERY_MS;
      say(`the drain is extended to ${(WEBHOOK_REDELIVERY_MS / 1000).toFixed(0)} s after the webhook outage: its events' third try is 5 min after their second`);
    }
    say(`${clock(Date.now())}: traffic and faults done; waiting up to ${((drainUntil - Date.now()) / 1000).toFixed(0)} s for every message to be final`);
    const submittedIds = () => messages.filter((m) => m.submittedAt !== null).map((m) => m.id);
    for (;;) {
      await poll();
      progress();
      if (submittedIds().every((id) => final.has(id)) || Date.now() > drainUntil) break;
      await sleep(2000);
    }
    const endedAt = Date.now();
    const open = submittedIds().filter((id) => !final.has(id));
    say(`${clock(endedAt)}: ${final.size}/${messages.length} final${open.length ? `; still open: ${open.slice(0, 5).join(', ')}${open.length > 5 ? ', ...' : ''}` : ''}`);

    // The surfaces' own drain: every outbox event at the receiver, every report processed.
    if (surfaces.webhooks || surfaces.inbound) {
      let settled = false;
      for (;;) {
        settled = await surfacesSettled(observer, surfaces, injector.faults).catch(() => false);
        if (settled || Date.now() > drainUntil) break;
        progress();
        await sleep(2000);
      }
      say(`${clock(Date.now())}: surfaces ${settled ? 'settled' : 'NOT settled when the drain ended'}`);
    }

    // Let the last log lines of the sink arrive, then read everything back.
    await sleep(1000);
    const ids = messages.map((m) => m.id);
    const status = await statuses(client, ids);
    const db = await snapshot(observer, ids);
    const verdict = judge({ messages, faults: injector.faults, transactions: peer.transactions, db, status, endedAt, windowMs: opts.windowMs });
    const surfaceVerdict = judgeSurfaces(await observeSurfaces(observer, surfaces, { messages, verdicts: verdict.messages, faults: injector.faults, transactions: peer.transactions, reports: peer.reports, db }));

    say('stopping the stack');
    await cleanup.run(say);
    const leftover = liveGroups().map((g) => `${g.name} (pid ${g.pid})`);
    if (cluster?.postmasterPid && alive(cluster.postmasterPid)) leftover.push(`postgres (postmaster pid ${cluster.postmasterPid})`);
    if (!opts.keep && existsSync(tmp)) leftover.push(`temp dir ${tmp}`);
    const info: RunInfo = {
      seed: opts.seed,
      quick: opts.quick,
      workers: opts.workers,
      deadline: schedule.deadline,
      delays: schedule.delays,
      windowMs: opts.windowMs,
      startedAt,
      trafficStartedAt,
      finishedAt: Date.now(),
      skipped,
      unexpectedWorkerExits: workers.unexpectedExits,
      tempDir: opts.keep ? tmp : null,
    };
    return {
      verdict,
      surfaces: surfaceVerdict,
      faults: injector.faults,
      info,
      report: renderReport(verdict, surfaceVerdict, injector.faults, info),
      json: jsonReport(verdict, surfaceVerdict, injector.faults, info),
      leftover,
    };
  } finally {
    await cleanup.run(say);
    unhook();
  }
}
