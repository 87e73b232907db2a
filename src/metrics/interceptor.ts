// The worker's metrics come from an activity inbound interceptor (README "Metrics"): it sees
// every activity's type, arguments and result and times the send activity, so the delivery code
// stays as it is and an activity added later is one case in ./observations.ts. Counting never
// fails an activity: a mistake here is logged and the result returned.
import { log } from '@temporalio/activity';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { observeActivity } from './observations';
import { applyIncrements, domainLabel, observeAttemptDuration } from './registry';

/** The activities whose duration is the attempt histogram. */
const TIMED = new Set(['sendAttempt']);

export function metricsInterceptor(): ActivityInterceptorsFactory {
  return (ctx) => ({
    inbound: {
      async execute(input, next) {
        const type = ctx.info.activityType;
        const started = TIMED.has(type) ? process.hrtime.bigint() : null;
        const seconds = () => Number(process.hrtime.bigint() - started!) / 1e9;
        let result: unknown;
        try {
          result = await next(input);
        } catch (err) {
          if (started !== null) observeAttemptDuration(seconds(), 'failed');
          throw err;
        }
        if (started !== null) observeAttemptDuration(seconds(), 'completed');
        try {
          applyIncrements(observeActivity(type, input.args, result, domainLabel));
        } catch (err) {
          log.warn('metrics: could not count an activity result; the activity is unaffected', { activity: type, error: (err as Error).message });
        }
        return result;
      },
    },
  });
}
