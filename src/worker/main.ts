// `rebound worker`: one worker process until SIGINT/SIGTERM (the SDK shuts down gracefully,
// letting running activities finish).
import type { ReboundConfig } from '../config';
import { createReboundWorker, installJsonRuntimeLogger } from './worker';

export async function runWorkerProcess(config: ReboundConfig): Promise<void> {
  installJsonRuntimeLogger();
  const worker = await createReboundWorker({ config });
  await worker.run();
}
