// How the pg-boss peer is tuned (README "Performance", the peer): set once here so the
// scenario reports what it ran with. Chosen for a fair comparison with Rebound's worker at the
// bench's 64 submissions in flight: 64 jobs in flight in the worker (4 polling loops of 16 jobs,
// since pg-boss 10 runs one batch per loop and completes it as a whole), the SMTP pool's 5
// connections (Rebound's `pool=5` default), pg pools of 10 (Rebound's createPool default), and
// pg-boss's shortest polling interval.
export const PEER_TUNING = {
  workers: 4,
  batchSize: 16,
  pollingIntervalSeconds: 0.5,
  poolSize: 10,
} as const;

/** Jobs the peer's worker holds at once. */
export const peerConcurrency = (): number => PEER_TUNING.workers * PEER_TUNING.batchSize;
