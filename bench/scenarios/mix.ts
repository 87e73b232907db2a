// Scenario 3: a realistic mix on a compressed schedule (1 s, 2 s between attempts; 30 s
// deadline): 90 % accepted, 5 % greylisted once, 3 % soft twice then accepted, 2 % hard.
// Measures the time until every message is final and compares the SMTP attempts the simulator
// saw per address with what the retry model expects.
import type { SendRequest } from '../../src/message/validate';
import { countFinished, finalStates, request, snapshot, submit, untilFinished, type ModeContext } from '../context';
import { cpuBetween, type CpuUse } from '../measure';

interface MixClass {
  name: string;
  share: number;
  local: string;
  expectedAttempts: number;
  expectedState: string;
}

const MIX: MixClass[] = [
  { name: 'accepted', share: 0.9, local: 'mix', expectedAttempts: 1, expectedState: 'delivered' },
  { name: 'greylisted once', share: 0.05, local: 'greylist-1', expectedAttempts: 2, expectedState: 'delivered' },
  { name: 'soft twice', share: 0.03, local: 'soft-2', expectedAttempts: 3, expectedState: 'delivered' },
  { name: 'hard', share: 0.02, local: 'unknown', expectedAttempts: 1, expectedState: 'failed' },
];

export interface MixClassResult {
  class: string;
  messages: number;
  attempts: number;
  expectedAttempts: number;
  wrongState: number;
}

export interface MixResult {
  n: number;
  seconds: number;
  attempts: number;
  expectedAttempts: number;
  /** Addresses whose attempt count differs from the model. */
  attemptMismatches: number;
  lost: number;
  byClass: MixClassResult[];
  cpu: CpuUse;
}

export async function runMix(ctx: ModeContext, n: number, concurrency: number): Promise<MixResult> {
  ctx.log(`[${ctx.mode}] scenario 3: mix of ${n} messages`);
  // Exact counts per class: the minor classes are rounded, "accepted" takes the rest.
  const counts = MIX.map((c) => Math.round(n * c.share));
  counts[0] = n - counts.slice(1).reduce((a, b) => a + b, 0);
  const items: { req: SendRequest; cls: MixClass; address: string }[] = [];
  MIX.forEach((cls, k) => {
    for (let i = 0; i < counts[k]!; i++) {
      const id = `${ctx.tag}-m${k}-${i}`;
      const address = `${cls.local}+${ctx.tag}m${k}x${i}@example.test`;
      items.push({ req: request(id, address, { delays: ['1s', '2s'], deadline: '30s' }), cls, address });
    }
  });
  // Interleave the classes as real traffic would.
  items.sort((a, b) => (a.req.id! < b.req.id! ? -1 : 1));
  const ids = items.map((x) => x.req.id!);

  const before = snapshot(ctx);
  const submitted = await submit(ctx, items.map((x) => x.req), { concurrency });
  const firstSubmit = Math.min(...submitted.map((s) => s.t0));
  const done = await untilFinished(ctx, ids, 90_000);
  const after = snapshot(ctx);
  if (!done) ctx.log(`[${ctx.mode}]   only ${await countFinished(ctx.pool, ids)} of ${n} final after 90 s`);
  const states = await finalStates(ctx.pool, ids);
  const lastFinished = Math.max(...[...states.values()].map((s) => s.finishedAt?.getTime() ?? 0));

  const seen = new Map<string, number>();
  for (const tx of await ctx.sink.transactions()) {
    for (const r of tx.rcpt) seen.set(r.address.toLowerCase(), (seen.get(r.address.toLowerCase()) ?? 0) + 1);
  }
  let attempts = 0;
  let expectedAttempts = 0;
  let attemptMismatches = 0;
  let lost = 0;
  const byClass = new Map<string, MixClassResult>(MIX.map((c) => [c.name, { class: c.name, messages: 0, attempts: 0, expectedAttempts: 0, wrongState: 0 }]));
  for (const x of items) {
    const got = seen.get(x.address.toLowerCase()) ?? 0;
    const row = byClass.get(x.cls.name)!;
    row.messages++;
    row.attempts += got;
    row.expectedAttempts += x.cls.expectedAttempts;
    attempts += got;
    expectedAttempts += x.cls.expectedAttempts;
    if (got !== x.cls.expectedAttempts) attemptMismatches++;
    if (states.get(x.req.id!)?.state !== x.cls.expectedState) {
      row.wrongState++;
      lost++;
    }
  }
  const seconds = (lastFinished - firstSubmit) / 1000;
  ctx.log(`[${ctx.mode}]   all final after ${seconds.toFixed(1)} s; attempts ${attempts} (model ${expectedAttempts}); lost ${lost}`);
  return { n, seconds, attempts, expectedAttempts, attemptMismatches, lost, byClass: [...byClass.values()], cpu: cpuBetween(before, after) };
}
