// A worker for the ceiling workflows in a process of its own, with Rebound's worker settings,
// so that its CPU is measured like the Rebound worker's. Prints one JSON line when it polls,
// then runs until SIGTERM or until the bench closes its stdin.
import { NativeConnection, Runtime, Worker, DefaultLogger } from '@temporalio/worker';
import { WORKER_TUNING } from '../src/worker/worker';

export const ceilingActivities = {
  async noop(): Promise<void> {},
};

async function main(): Promise<void> {
  const [address, taskQueue] = process.argv.slice(2);
  if (!address || !taskQueue) throw new Error('usage: ceiling-child <temporal address> <task queue>');
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const connection = await NativeConnection.connect({ address });
  const worker = await Worker.create({
    connection,
    taskQueue,
    workflowsPath: require.resolve('./ceiling-workflows'),
    activities: ceilingActivities,
    maxCachedWorkflows: 300,
    ...WORKER_TUNING,
  });
  const stop = (): void => worker.shutdown();
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stdin.on('end', stop);
  process.stdin.on('error', stop);
  process.stdin.resume();
  const running = worker.run();
  process.stdout.write(JSON.stringify({ ready: true }) + '\n');
  await running;
  await connection.close();
  process.exit(0);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}
