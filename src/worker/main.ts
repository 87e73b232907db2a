// `rebound worker`: one worker process until SIGINT/SIGTERM (the SDK shuts down gracefully,
// letting running activities finish).
import type { ReboundConfig } from '../config';
import { freeLoopbackAddress } from '../metrics/sdk-metrics';
import { createReboundWorker, installJsonRuntimeLogger } from './worker';

export async function runWorkerProcess(config: ReboundConfig): Promise<void> {
  // With /metrics on, the SDK's core exports its own metrics on a loopback port that /metrics
  // appends (README "Metrics").
  installJsonRuntimeLogger(config.metricsListen ? { sdkMetricsAddress: await freeLoopbackAddress() } : {});
  const worker = await createReboundWorker({ config });
  await worker.run();
}
