// The messages the suite sends, each planned in advance with what must become of every
// recipient, and the steady stream that submits them through the SDK while faults land.
//
// Every message has its own id (an idempotency key: a submit that failed halfway is simply
// repeated) and its own `+tag`, so each recipient address is used by exactly one message and
// the sink's per-address state (greylisting, soft-K) and Rebound's per-address reputation never
// mix two messages. The local part picks the sink's answer (README "The bounce simulator").
import type { ReboundClient } from '../../src/client/rebound-client';
import { ValidationError } from '../../src/errors';
import type { MessageState } from '../../src/delivery/contract';
import type { Say } from '../../src/dev/cleanup';
import type { Prng } from './prng';

export type RecipientOutcome = 'delivered' | 'bounced' | 'expired';

export interface Schedule {
  /** As sent with each message. */
  delays: string[];
  delaysMs: number[];
  deadline: string;
  deadlineMs: number;
}

export function compressedSchedule(deadlineSeconds: number): Schedule {
  return { delays: ['1s', '2s', '4s'], delaysMs: [1000, 2000, 4000], deadline: `${deadlineSeconds}s`, deadlineMs: deadlineSeconds * 1000 };
}

export interface PlannedRecipient {
  address: string;
  /** The sink scenario (local part without the tag). */
  scenario: string;
  expect: RecipientOutcome;
  /** When it is final without faults, from the workflow's start (the schedule's own time). */
  naturalMs: number;
}

export interface PlannedMessage {
  id: string;
  index: number;
  /** Which mix it was drawn from ('plain', 'slow-1500', 'ok+unknown', ...). */
  mix: string;
  /** Set for the messages a fault sends to aim itself at an SMTP transaction. */
  probeOf: number | null;
  recipients: PlannedRecipient[];
  expectState: MessageState;
  naturalMs: number;
  firstTryAt: number | null;
  /** When send() first returned. */
  submittedAt: number | null;
  submitTries: number;
  submitError: string | null;
  /** How it is submitted: the SDK, or `POST /v1/messages` on the suite's `rebound api` (the kill-api fault's traffic). */
  via: 'sdk' | 'api';
  /** The API's answers, by status ("connection error" when there was none), for the report. */
  apiAnswers: Record<string, number>;
}

/** What a scenario does to a recipient on the compressed schedule. */
function outcomeOf(scenario: string, schedule: Schedule): { expect: RecipientOutcome; naturalMs: number } {
  let m: RegExpMatchArray | null;
  if (scenario === 'ok') return { expect: 'delivered', naturalMs: 0 };
  if ((m = scenario.match(/^slow-(\d+)$/))) return { expect: 'delivered', naturalMs: Number(m[1]) };
  // The hint plus the workflow's margin (10 %, at least 1 s).
  if ((m = scenario.match(/^greylist-(\d+)$/))) return { expect: 'delivered', naturalMs: Number(m[1]) * 1000 + Math.max(1000, Number(m[1]) * 100) };
  if ((m = scenario.match(/^soft-(\d+)$/))) {
    // K failed attempts, each followed by its delay (+10 % jitter at most).
    let ms = 0;
    for (let i = 0; i < Number(m[1]); i++) ms += 1.1 * schedule.delaysMs[Math.min(i, schedule.delaysMs.length - 1)]!;
    return { expect: 'delivered', naturalMs: Math.round(ms) };
  }
  // Accepted like ok; the sink mails a delayed DSN about it S seconds later (the inbound-db-down fault's reports).
  if (/^delaylater-\d+$/.test(scenario)) return { expect: 'delivered', naturalMs: 0 };
  if (scenario === 'unknown') return { expect: 'bounced', naturalMs: 0 };
  // Soft until the deadline, then expired: the last attempt is made at the deadline.
  if (scenario === 'full') return { expect: 'expired', naturalMs: schedule.deadlineMs };
  throw new Error(`no planned outcome for scenario ${scenario}`);
}

/** The outcomes the suite covers, with how often each is drawn. Most messages are plain. */
export const MIXES: readonly { name: string; weight: number; scenarios: string[] }[] = [
  { name: 'plain', weight: 55, scenarios: ['ok'] },
  { name: 'slow-250', weight: 8, scenarios: ['slow-250'] },
  { name: 'slow-1500', weight: 7, scenarios: ['slow-1500'] },
  { name: 'greylist-1', weight: 6, scenarios: ['greylist-1'] },
  { name: 'soft-2', weight: 6, scenarios: ['soft-2'] },
  { name: 'unknown', weight: 5, scenarios: ['unknown'] },
  { name: 'full', weight: 4, scenarios: ['full'] },
  { name: 'ok+unknown', weight: 3, scenarios: ['ok', 'unknown'] },
  { name: 'ok+soft-2+full', weight: 3, scenarios: ['ok', 'soft-2', 'full'] },
  { name: 'slow-250+greylist-1+ok', weight: 3, scenarios: ['slow-250', 'greylist-1', 'ok'] },
];

function expectedState(recipients: PlannedRecipient[]): MessageState {
  const delivered = recipients.filter((r) => r.expect === 'delivered').length;
  if (delivered === recipients.length) return 'delivered';
  return delivered > 0 ? 'partially_delivered' : 'failed';
}

function makeMessage(id: string, index: number, mix: string, scenarios: string[], tag: string, schedule: Schedule, probeOf: number | null): PlannedMessage {
  const recipients = scenarios.map((scenario) => ({ address: `${scenario}+${tag}@example.test`, scenario, ...outcomeOf(scenario, schedule) }));
  return {
    id,
    index,
    mix,
    probeOf,
    recipients,
    expectState: expectedState(recipients),
    naturalMs: Math.max(...recipients.map((r) => r.naturalMs)),
    firstTryAt: null,
    submittedAt: null,
    submitTries: 0,
    submitError: null,
    via: 'sdk',
    apiAnswers: {},
  };
}

/** `count` messages: one of every mix first (so even a short run covers them all), the rest drawn by weight, in random order. */
export function planMessages(count: number, prng: Prng, runTag: string, schedule: Schedule): PlannedMessage[] {
  const mixes = MIXES.slice(0, Math.min(count, MIXES.length)).map((m) => m);
  while (mixes.length < count) mixes.push(prng.weighted(MIXES.map((m) => ({ weight: m.weight, value: m }))));
  prng.shuffle(mixes);
  return mixes.map((mix, index) => makeMessage(`faults-${runTag}-${index}`, index, mix.name, mix.scenarios, `m${index}r${runTag}`, schedule, null));
}

/** A message a fault sends to itself: one recipient whose RCPT is held back, so the fault can land inside its transaction. */
export function probeMessage(runTag: string, index: number, faultId: number, scenario: string, schedule: Schedule): PlannedMessage {
  return makeMessage(`faults-${runTag}-probe${faultId}`, index, `probe ${scenario}`, [scenario], `p${faultId}r${runTag}`, schedule, faultId);
}

/** The suite's `rebound api`: where to post, with which key (scope send). */
export interface ApiTarget {
  url: string;
  key: string;
}

/** The n-th message of a fault's own batch (a burst of posts to kill the API under, the reports of the inbound outage). */
export function batchMessage(runTag: string, index: number, faultId: number, n: number, scenario: string, schedule: Schedule, via: 'sdk' | 'api'): PlannedMessage {
  const m = makeMessage(`faults-${runTag}-f${faultId}b${n}`, index, `fault batch ${scenario}`, [scenario], `f${faultId}b${n}r${runTag}`, schedule, faultId);
  m.via = via;
  return m;
}

export class Traffic {
  readonly pending = new Set<Promise<void>>();
  /** Set when the suite runs `rebound api`: messages with `via: 'api'` are posted there. */
  api: ApiTarget | null = null;

  constructor(
    private readonly rebound: ReboundClient,
    private readonly schedule: Schedule,
    private readonly say: Say,
    /** A submit still failing after this long is given up (and reported). */
    private readonly giveUpMs = 180_000,
  ) {}

  /**
   * Submits one message, repeating the same request until it is accepted: while PostgreSQL or
   * the Temporal server is down send() fails, and the id makes the repeat safe (a message
   * stored before the failure is found again, a workflow already started is returned).
   */
  submit(m: PlannedMessage): Promise<void> {
    const p = this.submitLoop(m).finally(() => this.pending.delete(p));
    this.pending.add(p);
    return p;
  }

  private async submitLoop(m: PlannedMessage): Promise<void> {
    m.firstTryAt ??= Date.now();
    const giveUpAt = m.firstTryAt + this.giveUpMs;
    for (;;) {
      m.submitTries += 1;
      if (m.via === 'api') {
        const done = await this.postOnce(m);
        if (done === 'accepted') {
          m.submittedAt ??= Date.now();
          m.submitError = null;
          return;
        }
        if (done === 'refused' || Date.now() > giveUpAt) {
          this.say(`giving up posting ${m.id} after ${m.submitTries} tries: ${m.submitError}`);
          return;
        }
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      try {
        await withTimeout(
          this.rebound.send({
            id: m.id,
            from: 'faults@rebound.test',
            to: m.recipients.map((r) => r.address),
            subject: `Fault suite ${m.id}`,
            text: `Message ${m.index} of the fault suite (${m.mix}).`,
            delays: this.schedule.delays,
            deadline: this.schedule.deadline,
          }),
          15_000,
        );
        m.submittedAt ??= Date.now();
        m.submitError = null;
        return;
      } catch (err) {
        m.submitError = (err as Error).message;
        // The request itself is wrong: repeating cannot help (reported as a suite error).
        if (err instanceof ValidationError || Date.now() > giveUpAt) {
          this.say(`giving up submitting ${m.id} after ${m.submitTries} tries: ${m.submitError}`);
          return;
        }
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  /**
   * One `POST /v1/messages` with the message's id as its Idempotency-Key, as a client that
   * retries does: a connection error, a timeout, a 5xx or a 429 is tried again with the same key
   * (the API answers 200 with the first delivery when it had stored it); another 4xx is final.
   */
  private async postOnce(m: PlannedMessage): Promise<'accepted' | 'retry' | 'refused'> {
    const api = this.api;
    if (!api) throw new Error(`${m.id} is to be posted through the API, but the suite runs none`);
    const body = {
      from: 'faults@rebound.test',
      to: m.recipients.map((r) => r.address),
      subject: `Fault suite ${m.id}`,
      text: `Message ${m.index} of the fault suite (${m.mix}).`,
      delays: this.schedule.delays,
      deadline: this.schedule.deadline,
    };
    let status: string;
    try {
      const res = await fetch(`${api.url}/v1/messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${api.key}`, 'content-type': 'application/json', 'idempotency-key': m.id },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(15_000),
      });
      status = String(res.status);
      const text = await res.text();
      m.apiAnswers[status] = (m.apiAnswers[status] ?? 0) + 1;
      if (res.status === 200 || res.status === 202) return 'accepted';
      m.submitError = `HTTP ${res.status}: ${text.slice(0, 300)}`;
      return res.status >= 500 || res.status === 429 ? 'retry' : 'refused';
    } catch (err) {
      m.apiAnswers['connection error'] = (m.apiAnswers['connection error'] ?? 0) + 1;
      m.submitError = `POST /v1/messages: ${(err as Error).message}${(err as { cause?: Error }).cause ? ` (${(err as { cause: Error }).cause.message})` : ''}`;
      return 'retry';
    }
  }

  /** Submits `messages` at a steady rate from now, without waiting for one submit before the next. */
  async stream(messages: readonly PlannedMessage[], intervalMs: number): Promise<void> {
    // A copy: the faults add their probes to the caller's list while this runs, and submit them themselves.
    const planned = [...messages];
    const start = Date.now();
    for (let i = 0; i < planned.length; i++) {
      const due = start + i * intervalMs;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      void this.submit(planned[i]!);
    }
  }

  async settle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms / 1000} s`)), ms))),
  ]);
}
