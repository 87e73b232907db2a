// A periodic job that never overlaps itself and logs an outage once, not every interval: the
// webhook sweeper and the report sweeper (README "Webhooks", "Late outcomes") run on it.
import type { Logger } from './log';

export interface Sweep {
  /** What the job is, in log lines: "webhook sweeper". */
  name: string;
  intervalMs: number;
  logger: Logger;
  /** One round; `stopped()` tells a round that loops over batches to end early. */
  run(stopped: () => boolean): Promise<void>;
  /** The warning logged when a round fails after one that did not. */
  failing: string;
}

/** Sweeps until the returned function is called; that function waits for a round in progress. */
export function startSweeping(sweep: Sweep): () => Promise<void> {
  let stopped = false;
  let failing = false;
  let busy = false;
  let running: Promise<void> = Promise.resolve();
  const round = async () => {
    try {
      await sweep.run(() => stopped);
      if (failing) sweep.logger.info({}, `${sweep.name} works again`);
      failing = false;
    } catch (err) {
      if (!failing) sweep.logger.warn({ err: (err as Error).message }, sweep.failing);
      failing = true;
    }
  };
  const timer = setInterval(() => {
    if (busy) return; // a slow round is not stacked on
    busy = true;
    running = round().finally(() => {
      busy = false;
    });
  }, sweep.intervalMs);
  timer.unref();
  return async () => {
    stopped = true;
    clearInterval(timer);
    await running;
  };
}
