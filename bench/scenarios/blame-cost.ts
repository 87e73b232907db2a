// What scope-aware reputation costs (README "Reputation and suppression", "Performance"): the
// blame rules are pure code in the reputation workflow and need neither a history event nor a
// database statement of their own, so their whole cost is CPU in the worker. Measured here, in
// this process: each outcome of a mixed set of real replies applied under the scope rules
// (applyOutcome, which derives a scope when a signal carries none) and under the rules before
// scopes (applyLegacyOutcome), microseconds per outcome, after a warm-up pass.
import { classifyLine } from '../../src/delivery/classify';
import { applyLegacyOutcome, applyOutcome, initialReputationState } from '../../src/reputation/policy';
import type { ReputationEventType, ReputationSignal } from '../../src/reputation/contract';
import { round } from '../measure';

export interface BlameCost {
  outcomes: number;
  /** Microseconds per outcome, scope rules / rules before scopes, and the difference. */
  microsPerOutcome: { scoped: number | null; legacy: number | null; added: number | null };
}

/** Replies a reputation workflow hears, from the receivers' side of real transactions. */
const LINES = [
  '250 2.0.0 OK queued as 4Y2k1',
  '452 4.2.2 The email account that you tried to reach is over quota',
  '451 4.7.1 Greylisted, please try again in 300 seconds',
  '421 4.7.0 Try again later, closing connection',
  '550 5.1.1 The email account that you tried to reach does not exist',
  '554 5.7.1 Service unavailable; Client host blocked using zen.spamhaus.org',
  '550 5.7.26 This mail is unauthenticated, which poses a security risk',
  '451 4.3.0 Temporary local problem, please try later',
];

const EVENT: Record<string, ReputationEventType> = { delivered: 'delivered', soft: 'softBounced', hard: 'hardBounced' };

export function measureBlameCost(n = 20_000): BlameCost {
  const replies = LINES.map((line) => classifyLine(line));
  const settings = { softBounceThreshold: 5, suppressionDays: 180 };
  const run = (apply: typeof applyOutcome, count: number, withScope: boolean): number => {
    // A state per address, as each reputation workflow holds one; a few outcomes each.
    let state = initialReputationState(0);
    const t0 = performance.now();
    for (let i = 0; i < count; i++) {
      if (i % 16 === 0) state = initialReputationState(i);
      const r = replies[i % replies.length]!;
      // Expiries carry the deciding reply's scope; a hard bounce's signal may come without one.
      const signal: ReputationSignal = { messageId: `m${i}`, category: r.category, ...(withScope && r.kind !== 'hard' ? { scope: r.scope } : {}), reply: r, at: '2026-12-01T00:00:00.000Z' };
      apply(state, EVENT[r.kind]!, signal, settings, i * 1000);
    }
    return ((performance.now() - t0) * 1000) / count;
  };
  run(applyOutcome, 2_000, true);
  run(applyLegacyOutcome, 2_000, true);
  const scoped = run(applyOutcome, n, true);
  const legacy = run(applyLegacyOutcome, n, true);
  return { outcomes: n, microsPerOutcome: { scoped: round(scoped, 2), legacy: round(legacy, 2), added: round(scoped - legacy, 2) } };
}
