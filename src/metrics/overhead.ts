// What the metrics interceptor costs per send activity (README "Metrics"): its execute() around
// a send that returns at once with a typical result, timed in this process. A figure for the
// benchmark's report, not a test: it depends on the machine.
import type { Context } from '@temporalio/activity';
import type { SendAttemptResult } from '../delivery/contract';
import { metricsInterceptor } from './interceptor';

const RESULT: SendAttemptResult = {
  replies: ['a@gmail.test', 'b@yahoo.test', 'c@example.test'].map((address) => ({ address, kind: 'delivered', category: 'delivered', scope: 'recipient', code: 250, enhanced: '2.0.0', text: 'OK', retryAfterMs: null })),
  suppressed: [],
  unreported: [],
  finalState: 'delivered',
  unrecorded: null,
};

/** Microseconds the interceptor adds to one send activity of three recipients (mean over `calls`). */
export async function interceptorMicrosPerAttempt(calls = 20_000): Promise<number> {
  const ctx = { info: { activityType: 'sendAttempt' } } as unknown as Context;
  const next = async () => RESULT;
  const bare = async (): Promise<number> => {
    const t = process.hrtime.bigint();
    for (let i = 0; i < calls; i++) await next();
    return Number(process.hrtime.bigint() - t);
  };
  const wrapped = async (): Promise<number> => {
    const { execute } = metricsInterceptor()(ctx).inbound!;
    const t = process.hrtime.bigint();
    for (let i = 0; i < calls; i++) await execute!({ args: [], headers: {} }, next);
    return Number(process.hrtime.bigint() - t);
  };
  await wrapped(); // warm-up: the JIT, and the registry's series made once
  const [withIt, without] = [await wrapped(), await bare()];
  return Math.max(0, withIt - without) / calls / 1000;
}
