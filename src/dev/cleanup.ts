// What a tool that starts a stack of its own (the bench, the fault suite) must undo, newest
// first: processes, databases, temp dirs. Steps run on success, on error and on Ctrl-C; each is
// bounded in time so a wedged service cannot keep the tool from exiting, and the synchronous
// hooks registered with `onExitSync` still catch what a step left behind.

export type Say = (msg: string) => void;

export class Cleanup {
  private readonly steps: { name: string; fn: () => Promise<void> }[] = [];
  private readonly syncSteps: (() => void)[] = [];
  private running: Promise<void> | null = null;

  /** `stepTimeoutMs`: how long one step may take before the next one runs. */
  constructor(private readonly stepTimeoutMs = 30_000) {
    process.on('exit', () => {
      for (const fn of this.syncSteps.splice(0).reverse()) {
        try {
          fn();
        } catch {
          // best effort: the process is going away
        }
      }
    });
  }

  /** Registers an async step; returns a function that runs it now (and only once). */
  add(name: string, fn: () => Promise<void>): () => Promise<void> {
    const step = { name, fn };
    this.steps.push(step);
    return async () => {
      const i = this.steps.indexOf(step);
      if (i < 0) return;
      this.steps.splice(i, 1);
      await fn();
    };
  }

  /** A synchronous step for process exit, when no async step could run (an uncaught crash). */
  onExitSync(fn: () => void): () => void {
    this.syncSteps.push(fn);
    return () => {
      const i = this.syncSteps.indexOf(fn);
      if (i >= 0) this.syncSteps.splice(i, 1);
    };
  }

  /** Runs every step, newest first; a second call returns the first one's promise. */
  run(say: Say): Promise<void> {
    this.running ??= (async () => {
      while (this.steps.length > 0) {
        const step = this.steps.pop()!;
        let timer: NodeJS.Timeout | undefined;
        try {
          await Promise.race([
            step.fn(),
            new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${this.stepTimeoutMs / 1000} s`)), this.stepTimeoutMs))),
          ]);
        } catch (err) {
          say(`cleanup: ${step.name} failed: ${(err as Error).message}`);
        } finally {
          clearTimeout(timer);
        }
      }
    })();
    return this.running;
  }

  /**
   * Ctrl-C and SIGTERM: clean up, then exit 130. If cleanup hangs, a second signal exits at
   * once (the exit hooks still run).
   */
  installSignalHandlers(say: Say): () => void {
    let seen = false;
    const handler = (signal: NodeJS.Signals) => {
      if (seen) process.exit(130);
      seen = true;
      say(`${signal}: stopping everything that was started`);
      void this.run(say).finally(() => process.exit(130));
    };
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
    return () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    };
  }
}
