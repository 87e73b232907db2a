// What shaping costs (README "Traffic shaping", Limits: cost): every statement the gate and the
// connection leases run is counted with its time, so the benchmark can print round trips and
// milliseconds per attempt.
export interface ShapingStats {
  /** Statements run against PostgreSQL. */
  queries: number;
  /** Their total time, wall clock. */
  ms: number;
}

export class QueryMeter {
  private queries = 0;
  private ms = 0;

  async timed<T>(run: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await run();
    } finally {
      this.queries += 1;
      this.ms += performance.now() - started;
    }
  }

  stats(): ShapingStats {
    return { queries: this.queries, ms: Math.round(this.ms * 1000) / 1000 };
  }
}
