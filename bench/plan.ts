// Sizes of one persistence mode's scenarios. The sizes (2000 delivered, 20000 sleeping)
// need a few hundred messages per second to fit in the 10-minute budget; on a slower machine
// (or a slower pipeline) the default sizes shrink to what fits, and the report says so. Sizes
// given on the command line are run as given.
//
// Two steps: the delivered and mixed runs are sized from the warm-up's rate (discounted: a
// short warm-up overstates the sustained rate); the sleepers are sized last, from the rate of a
// small calibration batch of sleepers and the time actually left.
import type { BenchOptions } from './args';

export interface ScenarioSizes {
  messages: number;
  sleeping: number;
  mix: number;
  /** Scenario 7: messages in each of its two batches (webhooks off, on); 0 when this mode does not run it. */
  webhooks: number;
  /** Scenario 8: messages that bounce after their 250 (one DSN each); 0 when this mode does not run it. */
  late: number;
  /** Scenario 9: messages in each of its two batches (relay, direct); 0 when this mode does not run it. */
  direct: number;
  /** Scenario 10: the pg-boss peer's messages, as many as scenario 2's; 0 when this mode does not run it. */
  peer: number;
  /** Messages per second measured on the warm-up batch. */
  warmupPerSecond: number;
  /** Sleepers per second in the calibration batch (set when the sleepers are planned). */
  sleeperCalibrationPerSecond?: number;
  /** Seconds this mode had when its scenarios were planned. */
  budgetSeconds: number;
  reduced: boolean;
}

const MIN = { messages: 20, sleeping: 50, mix: 50, webhooks: 50, late: 30, direct: 20 };
/** A short warm-up (measured until the worker is idle again) runs a little faster than a long run. */
const WARMUP_DISCOUNT = 0.8;

const fit = (wanted: number, min: number, rate: number, seconds: number, explicit: boolean): number =>
  explicit ? wanted : Math.max(min, Math.min(wanted, Math.floor(rate * Math.max(0, seconds))));

/** Whether any default size was cut below what was asked. */
const isReduced = (opts: BenchOptions, s: { messages: number; sleeping: number; mix: number }): boolean =>
  s.messages < opts.messages || s.sleeping < opts.sleeping || s.mix < opts.mix;

/** Seconds the sleeping scenario needs besides submitting and first attempts. */
function sleepingOverheadSeconds(opts: BenchOptions): number {
  // waiting for the worker to go quiet, the samples, stopping the worker and the server
  return 3 + (opts.sleepSamples - 1) * opts.sleepSampleIntervalSeconds + 6;
}

/** Scenario 7 besides its two batches: the wait past the workers' cache of subscribed types, two drains, history reads. */
const WEBHOOKS_FIXED_SECONDS = 6 + 2 * 3 + 3;
/** Scenario 7's batches: 50 each way in --quick, else up to 300, each taking at most this long at the warm-up's rate. */
const WEBHOOKS_SECONDS_PER_BATCH = 20;
/** Scenario 8 besides its batch: the report sweeper's second, the drain, the history reads. */
const LATE_FIXED_SECONDS = 2 + 3 + 3;
/** Scenario 8's batch: 30 in --quick, else up to 300, taking at most this long at the warm-up's rate. */
const LATE_SECONDS_PER_BATCH = 20;

/** Scenario 9 besides its two batches: two drains and the statement counts. */
const DIRECT_FIXED_SECONDS = 2 * 3;
/** Scenario 9's batches: 20 each in --quick, else up to 200, each taking at most this long at the warm-up's rate. */
const DIRECT_SECONDS_PER_BATCH = 10;

/**
 * Scenario 10 besides its batch: starting the peer, its warm-up, its idle check and its soft/hard
 * check batch (1 s + 2 s of retry delays). Its batch, as big as scenario 2's, takes its time
 * from the sleepers, which are sized last from the time actually left.
 */
const PEER_FIXED_SECONDS = 10;

/** `withWebhooks`: this mode runs scenarios 7 to 10 (one mode of the run does). */
export function planSizes(opts: BenchOptions, warmupPerSecond: number, budgetSeconds: number, withWebhooks = false): ScenarioSizes {
  const rate = Math.max(1, warmupPerSecond * WARMUP_DISCOUNT);
  // Time that does not depend on the sizes: the paced run and its drain, history reads, the
  // cost scenario, and the sleeping scenario's own overhead.
  // (+ 8 s: the sleepers' calibration batch)
  const fixed = opts.pacedSeconds + 4 + 2 + 2 + 3 + 8 + sleepingOverheadSeconds(opts);
  const mix = fit(opts.mix, MIN.mix, rate, 15, opts.explicit.mix);
  const webhooks = !withWebhooks ? 0 : opts.quick ? MIN.webhooks : fit(300, MIN.webhooks, rate, WEBHOOKS_SECONDS_PER_BATCH, false);
  const webhooksSeconds = withWebhooks ? WEBHOOKS_FIXED_SECONDS + (2 * webhooks) / rate : 0;
  const late = !withWebhooks ? 0 : opts.quick ? MIN.late : fit(300, MIN.late, rate, LATE_SECONDS_PER_BATCH, false);
  const lateSeconds = withWebhooks ? LATE_FIXED_SECONDS + late / rate : 0;
  const direct = !withWebhooks ? 0 : opts.quick ? MIN.direct : fit(200, MIN.direct, rate, DIRECT_SECONDS_PER_BATCH, false);
  const directSeconds = withWebhooks ? DIRECT_FIXED_SECONDS + (2 * direct) / rate : 0;
  // The mix ends about two retry delays (1 s + 2 s) and some slack after its last message.
  const peerSeconds = withWebhooks ? PEER_FIXED_SECONDS : 0;
  const work = budgetSeconds - fixed - (mix / rate + 6) - webhooksSeconds - lateSeconds - directSeconds - peerSeconds;
  // 35 % of what is left to the delivered run; the sleepers get the rest (sized later, at their
  // own rate: here only a first guess for the log, at half the delivered rate).
  const messages = fit(opts.messages, MIN.messages, rate, work * 0.35, opts.explicit.messages);
  const sleeping = fit(opts.sleeping, MIN.sleeping, rate / 2, work * 0.65, opts.explicit.sleeping);
  return { messages, sleeping, mix, webhooks, late, direct, peer: withWebhooks ? messages : 0, warmupPerSecond, budgetSeconds, reduced: isReduced(opts, { messages, sleeping, mix }) };
}

/** The sleepers, once a small batch of them has shown their rate: what fits in the time left. */
export function planSleeping(opts: BenchOptions, sizes: ScenarioSizes, sleepersPerSecond: number, secondsLeft: number): ScenarioSizes {
  const sleeping = fit(opts.sleeping, MIN.sleeping, Math.max(1, sleepersPerSecond * 0.9), secondsLeft - sleepingOverheadSeconds(opts), opts.explicit.sleeping);
  return { ...sizes, sleeping, sleeperCalibrationPerSecond: sleepersPerSecond, reduced: isReduced(opts, { ...sizes, sleeping }) };
}
