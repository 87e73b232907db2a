// The faults: what each one does to the stack, when it starts and when the service is back.
//
// Faults run one after the other with a random pause between them, so each has a clear
// interval and the messages it overlapped can be named. Three of them aim at an SMTP
// transaction instead of a random moment, because that is where a fault can lose or double a
// message: the fault sends a probe message whose RCPT the sink holds back (`slow-MS`), waits
// until a worker has started its send activity (the Temporal server names the worker), and
// strikes while the sink is still holding the reply:
//   kill-worker    kill -9 of the worker running the probe's attempt, restarted after a pause;
//   stop-postgres  PostgreSQL stopped with -m immediate before the probe's 250 arrives, so the
//                  attempt has been accepted by the server and cannot be recorded;
//   pause-worker   SIGSTOP of the worker running the probe's attempt for 40 s, then SIGCONT.
// The others strike at a random moment of the traffic: kill -9 of every worker, kill -9 of the
// Temporal server (restarted on the same SQLite file and port), the relay stopped (connection
// refused), the relay replaced by a black hole.
// Four reach the surfaces beside the workers (each runs only when planned, see surfaces.ts):
//   kill-api                kill -9 of `rebound api` while a burst of posts is in flight, restarted;
//                           the client posts again with the same Idempotency-Key;
//   webhook-down            the suite's webhook receiver closed (refused connections) for a minute;
//   inbound-db-down         PostgreSQL stopped while the sink mails delayed DSNs to `rebound inbound`:
//                           the listener answers 451, the sink retries as an MTA does;
//   pause-worker-suspended  a worker stopped inside the probe's transaction, then the relay's site
//                           suspended; the worker continued while it is still suspended, then the
//                           site resumed.
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { deliveryWorkflowId } from '../../src/delivery/contract';
import type { Say } from '../../src/dev/cleanup';
import type { Pool } from 'pg';
import { resumeSite, suspendSite } from '../../src/sites/store';
import type { PrivateCluster } from './cluster';
import type { Surfaces } from './surfaces';
import type { Peer } from './peer';
import type { Prng } from './prng';
import type { TemporalServer } from './temporal';
import { batchMessage, probeMessage, type PlannedMessage, type Schedule, type Traffic } from './traffic';
import type { Workers } from './workers';

export const FAULT_KINDS = [
  'kill-worker',
  'kill-all-workers',
  'kill-temporal',
  'stop-postgres',
  'relay-down',
  'relay-blackhole',
  'pause-worker',
  'kill-api',
  'webhook-down',
  'inbound-db-down',
  'pause-worker-suspended',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** The order extra faults go to when the count is not a multiple of the kinds: the likeliest to hurt first. */
const PRIORITY: readonly FaultKind[] = [
  'kill-worker',
  'stop-postgres',
  'kill-temporal',
  'kill-all-workers',
  'relay-blackhole',
  'pause-worker',
  'relay-down',
  'kill-api',
  'inbound-db-down',
  'pause-worker-suspended',
  'webhook-down',
];

/** Kinds that need the private PostgreSQL cluster (skipped on the shared server). */
export const POSTGRES_KINDS: readonly FaultKind[] = ['stop-postgres', 'inbound-db-down'];

/** The three that matter most, for --quick. */
export const QUICK_KINDS: readonly FaultKind[] = ['kill-worker', 'stop-postgres', 'kill-temporal'];

export interface FaultPlan {
  kind: FaultKind;
  /** Pause before the fault, after the previous one ended. */
  gapMs: number;
  /** How long the service stays away (down, paused, or dead before its restart begins). */
  holdMs: number;
}

export interface FaultRecord {
  id: number;
  kind: FaultKind;
  /** The moment the fault struck (kill sent, stop begun, relay closed, SIGSTOP). */
  startedAt: number;
  /** The moment the service was back (restarted and serving, SIGCONT). */
  endedAt: number;
  detail: string;
  /**
   * Worker processes silenced mid-work and when: killed with -9, or stopped (SIGSTOP) past the
   * send activity's heartbeat timeout, which to Temporal is the same. The duplicates' window is
   * judged from these.
   */
  silenced: { pid: number; at: number; how: 'killed' | 'paused' }[];
  /** The probe message the fault aimed at, if any. */
  probe: string | null;
  /** When the probe's send activity was seen running, before the fault struck. */
  probeActivityAt: number | null;
  /** The messages of the fault's own batch (kill-api's posts, inbound-db-down's reports). */
  batch: string[];
  /** pause-worker-suspended: the site and when its suspension was written and lifted. */
  suspension: { site: string; from: number; to: number } | null;
}

function holdFor(kind: FaultKind, prng: Prng, quick: boolean): number {
  switch (kind) {
    case 'kill-worker':
    case 'kill-all-workers':
      return quick ? 2000 : prng.int(2000, 5000);
    case 'kill-temporal':
      return quick ? 2000 : prng.int(1000, 4000);
    case 'stop-postgres':
      return quick ? 5000 : prng.int(5000, 20_000);
    case 'relay-down':
      return prng.int(3000, 8000);
    case 'relay-blackhole':
      return prng.int(4000, 10_000);
    case 'pause-worker':
      // Past the workflow task timeout (10 s) and the sticky queue's, well short of the
      // activity's start-to-close and the sink's idle timeout.
      return 40_000;
    case 'kill-api':
      return quick ? 1500 : prng.int(1000, 4000);
    case 'webhook-down':
      // About a minute: past the first two tries of the events it meets (at once, 5 s later).
      return quick ? 20_000 : prng.int(55_000, 65_000);
    case 'inbound-db-down':
      return quick ? 8000 : prng.int(8000, 20_000);
    case 'pause-worker-suspended':
      // As pause-worker: past the heartbeat timeout, so the attempt is retried (and held) meanwhile.
      return 40_000;
  }
}

/**
 * `count` faults over `kinds`: every kind as evenly as the count allows (extra ones to the
 * likeliest to hurt), in a random order that avoids the same kind twice in a row.
 */
export function planFaults(kinds: readonly FaultKind[], count: number, prng: Prng, quick: boolean): FaultPlan[] {
  const order = PRIORITY.filter((k) => kinds.includes(k));
  const chosen: FaultKind[] = [];
  for (let i = 0; i < count; i++) chosen.push(order[i % order.length]!);
  prng.shuffle(chosen);
  for (let i = 1; i < chosen.length; i++) {
    if (chosen[i] !== chosen[i - 1]) continue;
    const j = chosen.findIndex((k, n) => n > i && k !== chosen[i]);
    if (j > 0) [chosen[i], chosen[j]] = [chosen[j]!, chosen[i]!];
  }
  return chosen.map((kind) => ({
    kind,
    gapMs: quick ? prng.int(4000, 7000) : prng.int(8000, 20_000),
    holdMs: holdFor(kind, prng, quick),
  }));
}

/** A rough length of a plan, for pacing the traffic over it (restarts take a few seconds each). */
export function estimatePlanMs(plan: FaultPlan[]): number {
  const restart: Record<FaultKind, number> = {
    'kill-worker': 9000,
    'kill-all-workers': 11_000,
    'kill-temporal': 4000,
    'stop-postgres': 2000,
    'relay-down': 1000,
    'relay-blackhole': 1000,
    'pause-worker': 2000,
    'kill-api': 4000,
    'webhook-down': 1000,
    'inbound-db-down': 6000,
    'pause-worker-suspended': 6000,
  };
  return plan.reduce((ms, f) => ms + f.gapMs + f.holdMs + restart[f.kind], 0);
}

export interface InjectorContext {
  temporal: TemporalServer;
  /** Null when the suite runs on the shared server: no PostgreSQL faults then. */
  cluster: PrivateCluster | null;
  workers: Workers;
  peer: Peer;
  client: Client;
  traffic: Traffic;
  messages: PlannedMessage[];
  schedule: Schedule;
  runTag: string;
  prng: Prng;
  say: Say;
  /** The API, webhook receiver and inbound listener, those the plan needs. */
  surfaces: Surfaces;
  /** For the site suspensions (the store functions `rebound sites suspend|resume` use). */
  pool: Pool;
  /** Elapsed time for log lines. */
  clock: (at: number) => string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class Injector {
  readonly faults: FaultRecord[] = [];

  constructor(private readonly ctx: InjectorContext) {}

  async run(plan: FaultPlan[], stopped: () => boolean): Promise<void> {
    for (const item of plan) {
      await sleep(item.gapMs);
      if (stopped()) return;
      const fault: FaultRecord = { id: this.faults.length + 1, kind: item.kind, startedAt: 0, endedAt: 0, detail: '', silenced: [], probe: null, probeActivityAt: null, batch: [], suspension: null };
      await this.inject(fault, item.holdMs);
      this.faults.push(fault);
      const c = this.ctx.clock;
      this.ctx.say(`fault #${fault.id} ${fault.kind}: ${c(fault.startedAt)} .. ${c(fault.endedAt)} (${((fault.endedAt - fault.startedAt) / 1000).toFixed(1)} s) ${fault.detail}`);
    }
  }

  private async inject(fault: FaultRecord, holdMs: number): Promise<void> {
    const { workers, temporal: server, cluster, peer, prng } = this.ctx;
    switch (fault.kind) {
      case 'kill-worker': {
        const target = await this.probe(fault, 'slow-3000', 1000);
        const slot = target ?? prng.int(0, workers.count - 1);
        fault.startedAt = Date.now();
        const pid = await workers.kill9(slot);
        if (pid !== null) fault.silenced.push({ pid, at: fault.startedAt, how: 'killed' });
        fault.detail = `worker ${slot + 1} (pid ${pid}) killed ${target !== null ? "in the probe's SMTP transaction" : 'at a random moment (the probe was not seen running)'}`;
        await sleep(holdMs);
        await workers.start(slot);
        break;
      }
      case 'kill-all-workers': {
        fault.startedAt = Date.now();
        const killed = await Promise.all(Array.from({ length: workers.count }, (_, slot) => workers.kill9(slot)));
        for (const pid of killed) if (pid !== null) fault.silenced.push({ pid, at: fault.startedAt, how: 'killed' });
        fault.detail = `${fault.silenced.length} workers killed (pids ${fault.silenced.map((k) => k.pid).join(', ')})`;
        await sleep(holdMs);
        await workers.startAll();
        break;
      }
      case 'kill-temporal': {
        fault.startedAt = Date.now();
        const pid = server.pid;
        await server.kill9();
        fault.detail = `server pid ${pid} killed, restarted on ${server.address} after ${(holdMs / 1000).toFixed(1)} s`;
        await sleep(holdMs);
        await server.start();
        break;
      }
      case 'stop-postgres': {
        if (!cluster) throw new Error('stop-postgres planned without a private cluster');
        await this.probe(fault, 'slow-2000', 700);
        fault.startedAt = Date.now();
        await cluster.stopImmediate();
        fault.detail = `stopped -m immediate for ${(holdMs / 1000).toFixed(1)} s${fault.probeActivityAt ? " inside the probe's SMTP transaction" : ''}`;
        await sleep(Math.max(0, fault.startedAt + holdMs - Date.now()));
        await cluster.start();
        break;
      }
      case 'relay-down': {
        fault.startedAt = Date.now();
        await peer.stop();
        fault.detail = `sink stopped (connection refused) for ${(holdMs / 1000).toFixed(1)} s`;
        await sleep(Math.max(0, fault.startedAt + holdMs - Date.now()));
        await peer.start();
        break;
      }
      case 'relay-blackhole': {
        fault.startedAt = Date.now();
        await peer.stop();
        await peer.blackHoleOn();
        await sleep(Math.max(0, fault.startedAt + holdMs - Date.now()));
        const swallowed = peer.swallowedConnections;
        await peer.blackHoleOff();
        await peer.start();
        fault.detail = `black hole for ${(holdMs / 1000).toFixed(1)} s, ${swallowed} connections swallowed`;
        break;
      }
      case 'pause-worker': {
        const target = await this.probe(fault, 'slow-1500', 500);
        const slot = target ?? prng.int(0, workers.count - 1);
        fault.startedAt = Date.now();
        const pid = workers.pause(slot);
        if (pid !== null) fault.silenced.push({ pid, at: fault.startedAt, how: 'paused' });
        fault.detail = `worker ${slot + 1} (pid ${pid}) stopped for ${(holdMs / 1000).toFixed(0)} s ${target !== null ? "in the probe's SMTP transaction" : 'at a random moment'}`;
        await sleep(holdMs);
        workers.resume(slot);
        break;
      }
      case 'kill-api': {
        const api = this.ctx.surfaces.api;
        if (!api) throw new Error('kill-api planned without the API process');
        // A burst of posts, so that some are inside the API (stored, workflow not yet started,
        // answer not yet sent) when it dies; their clients post again with the same key.
        const burst = this.batch(fault, 6, 'ok', 'api');
        await sleep(prng.int(10, 60));
        fault.startedAt = Date.now();
        const inFlight = burst.filter((m) => m.submittedAt === null).length;
        const pid = await api.kill9();
        fault.detail = `API (pid ${pid}) killed with ${inFlight}/${burst.length} of its burst's posts unanswered, restarted after ${(holdMs / 1000).toFixed(1)} s`;
        await sleep(holdMs);
        await api.start();
        break;
      }
      case 'webhook-down': {
        const receiver = this.ctx.surfaces.webhooks;
        if (!receiver) throw new Error('webhook-down planned without the webhook receiver');
        fault.startedAt = Date.now();
        const before = receiver.cut;
        await receiver.down();
        await sleep(Math.max(0, fault.startedAt + holdMs - Date.now()));
        await receiver.up();
        fault.detail = `webhook receiver closed for ${(holdMs / 1000).toFixed(1)} s (connections refused; ${receiver.cut - before} open connections cut)`;
        break;
      }
      case 'inbound-db-down': {
        if (!cluster) throw new Error('inbound-db-down planned without a private cluster');
        if (!this.ctx.surfaces.inbound) throw new Error('inbound-db-down planned without the inbound listener');
        // Messages whose delayed DSN the sink mails 2 s after its 250: PostgreSQL is stopped as
        // soon as the sink has accepted them, so the reports arrive while it is down.
        const batch = this.batch(fault, 3, 'delaylater-2', 'sdk');
        const addresses = batch.map((m) => m.recipients[0]!.address.toLowerCase());
        const until = Date.now() + 30_000;
        while (Date.now() < until && !addresses.every((a) => peer.transactions.some((t) => (t.accepted ?? []).some((r) => r.toLowerCase() === a)))) await sleep(50);
        fault.startedAt = Date.now();
        await cluster.stopImmediate();
        const accepted = addresses.filter((a) => peer.transactions.some((t) => (t.accepted ?? []).some((r) => r.toLowerCase() === a))).length;
        fault.detail = `PostgreSQL stopped -m immediate for ${(holdMs / 1000).toFixed(1)} s, ${accepted}/${batch.length} reported messages accepted by the sink (reports due 2 s later)`;
        await sleep(Math.max(0, fault.startedAt + holdMs - Date.now()));
        await cluster.start();
        break;
      }
      case 'pause-worker-suspended': {
        const site = this.ctx.surfaces.relaySite;
        const target = await this.probe(fault, 'slow-1500', 500);
        const slot = target ?? prng.int(0, workers.count - 1);
        fault.startedAt = Date.now();
        const pid = workers.pause(slot);
        if (pid !== null) fault.silenced.push({ pid, at: fault.startedAt, how: 'paused' });
        // The suspension outlasts the resume below by a little: resuming lifts it early, as an operator would.
        const suspended = await suspendSite(this.ctx.pool, { site, durationMs: holdMs + 10_000, rule: 'manual', reply: 'suspended by the fault suite' });
        const from = Date.now();
        await sleep(holdMs);
        workers.resume(slot);
        // The worker runs again while the site is still suspended: whatever it held must not go out now.
        await sleep(5000);
        await resumeSite(this.ctx.pool, site);
        const to = Date.now();
        fault.suspension = { site, from, to };
        fault.detail = `worker ${slot + 1} (pid ${pid}) stopped ${target !== null ? "in the probe's SMTP transaction" : 'at a random moment'}, site ${site} suspended (until ${suspended.until.toISOString()}) ${((to - from) / 1000).toFixed(0)} s, the worker continued 5 s before the site resumed`;
        break;
      }
    }
    fault.endedAt = Date.now();
  }

  /** The fault's own messages, submitted at once (not waited for). */
  private batch(fault: FaultRecord, count: number, scenario: string, via: 'sdk' | 'api'): PlannedMessage[] {
    const { traffic, messages, schedule, runTag } = this.ctx;
    const out: PlannedMessage[] = [];
    for (let n = 0; n < count; n++) {
      const m = batchMessage(runTag, messages.length, fault.id, n, scenario, schedule, via);
      messages.push(m);
      fault.batch.push(m.id);
      out.push(m);
      void traffic.submit(m);
    }
    return out;
  }

  /**
   * Sends a probe to `scenario` and waits until a worker runs its send activity, then `settleMs`
   * more (into the held-back RCPT). Returns the slot of that worker, or null if it was not seen.
   */
  private async probe(fault: FaultRecord, scenario: string, settleMs: number): Promise<number | null> {
    const { client, traffic, messages, schedule, runTag, workers } = this.ctx;
    const m = probeMessage(runTag, messages.length, fault.id, scenario, schedule);
    messages.push(m);
    fault.probe = m.id;
    void traffic.submit(m);
    const handle = client.workflow.getHandle(deliveryWorkflowId(m.id));
    const until = Date.now() + 20_000;
    while (Date.now() < until) {
      const pid = (await this.activityPid(handle).catch(() => null)) ?? (await this.leaseHolderPid(m.id).catch(() => null));
      if (pid !== null) {
        fault.probeActivityAt = Date.now();
        await sleep(settleMs);
        return workers.slotOfPid(pid);
      }
      await sleep(40);
    }
    return null;
  }

  /** The worker running the probe's send activity task, as the server names it (`${pid}@${hostname}`). */
  private async activityPid(handle: ReturnType<Client['workflow']['getHandle']>): Promise<number | null> {
    const described = await handle.describe();
    const running = described.raw.pendingActivities?.find(
      (a) => a.activityType?.name === 'sendAttempt' && a.state === temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED,
    );
    return running ? Number(/^(\d+)@/.exec(running.lastWorkerIdentity ?? '')?.[1]) : null;
  }

  /**
   * The worker running the probe's local-activity attempt, which the server does not see: its
   * send lease names the process (src/delivery/leases.ts, `${hostname}:${pid}/...`).
   */
  private async leaseHolderPid(messageId: string): Promise<number | null> {
    const r = await this.ctx.pool.query<{ holder: string }>('SELECT holder FROM send_leases WHERE message_id = $1', [messageId]);
    const pid = /:(\d+)\//.exec(r.rows[0]?.holder ?? '')?.[1];
    return pid ? Number(pid) : null;
  }
}
