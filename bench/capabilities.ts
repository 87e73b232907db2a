// What each capability added since the first benchmark costs a delivered message, off and on,
// in one table (README "Performance"): history events, PostgreSQL statements the worker sends,
// and CPU. Pure: read from the scenarios that measure them in the same run. Where a capability
// cannot be switched off (the blame rules, the rollups live in the attempt's own statement),
// "off" is what the same work cost without it, and `measuredBy` says how.
import type { AttemptFormResult } from './scenarios/attempt-form';
import type { BlameCost } from './scenarios/blame-cost';
import type { DirectResult } from './scenarios/direct';
import type { DomainsResult } from './scenarios/domains';
import type { LateResult } from './scenarios/late';
import type { WebhooksResult } from './scenarios/webhooks';

interface Cpu {
  server: number | null;
  worker: number | null;
  postgres: number | null;
}

export interface CapabilityCost {
  capability: string;
  measuredBy: string;
  /** History events per message (every workflow the message runs), off -> on. */
  historyEvents: { off: number | null; on: number | null };
  /** Statements the worker sends to PostgreSQL per message, off -> on. */
  statements: { off: number | null; on: number | null };
  /** CPU ms per message, off -> on. */
  cpuMs: { off: Cpu | null; on: Cpu | null };
  /** What the figures above cannot show, in a few words. */
  note: string;
}

const sum = (...xs: (number | null | undefined)[]): number | null => (xs.some((x) => x === null || x === undefined) ? null : Math.round(xs.reduce<number>((a, x) => a + x!, 0) * 100) / 100);
const cpu = (c: { server: number; worker: number; postgres: number }): Cpu => ({ server: c.server, worker: c.worker, postgres: c.postgres });

export function capabilityCosts(r: { attemptForm: AttemptFormResult; webhooks: WebhooksResult; late: LateResult; direct: DirectResult; domains: DomainsResult; blame: BlameCost }): CapabilityCost[] {
  const { attemptForm: a, webhooks: w, late: l, direct: d, domains, blame } = r;
  const reportEvents = sum(l.reportHistoryEvents, l.reputationHistoryEvents, l.deliveryHistoryEventsAdded);
  return [
    {
      capability: 'local-activity attempt (off: activity task)',
      measuredBy: `scenario 11, ${a.activity.messages} + ${a.local.messages} delivered messages, batches alternated`,
      historyEvents: { off: a.activity.delivery.events, on: a.local.delivery.events },
      statements: { off: a.activity.statementsPerMessage, on: a.local.statementsPerMessage },
      cpuMs: { off: cpu(a.activity.cpuMsPerMessage), on: cpu(a.local.cpuMsPerMessage) },
      note: 'a saving: one workflow task and no activity task per attempt',
    },
    {
      capability: 'scope-aware reputation (off: the rules before scopes)',
      measuredBy: `the blame rules alone, ${blame.outcomes} outcomes of real replies, in the bench process`,
      historyEvents: { off: 0, on: 0 },
      statements: { off: 0, on: 0 },
      cpuMs: {
        off: { server: 0, worker: blame.microsPerOutcome.legacy === null ? null : blame.microsPerOutcome.legacy / 1000, postgres: 0 },
        on: { server: 0, worker: blame.microsPerOutcome.scoped === null ? null : blame.microsPerOutcome.scoped / 1000, postgres: 0 },
      },
      note: `${blame.microsPerOutcome.legacy ?? '-'} -> ${blame.microsPerOutcome.scoped ?? '-'} µs per outcome; pure code in the reputation workflow, one patch marker per reputation run, not per message`,
    },
    {
      capability: 'per-domain rollup (off: the attempt statement before rollups)',
      measuredBy: `scenario 6, ${domains.recordAttempts} recordAttempt calls each way, interleaved`,
      historyEvents: { off: 0, on: 0 },
      statements: { off: 1, on: 1 },
      cpuMs: { off: { server: 0, worker: null, postgres: domains.recordAttemptMsPerAttemptBefore }, on: { server: 0, worker: null, postgres: domains.recordAttemptMsPerAttempt } },
      note: 'written by the attempt log\'s own statement: no round trip of its own; figures are the statement\'s wall time',
    },
    {
      capability: 'webhooks (off: no endpoint; on: one endpoint, every event)',
      measuredBy: `scenario 7, ${w.messages} delivered messages each way`,
      historyEvents: { off: w.deliveryHistoryEvents.off, on: sum(w.deliveryHistoryEvents.on, w.historyEventsPerMessage) },
      statements: w.statementsPerMessage,
      cpuMs: { off: cpu(w.cpuMsPerMessage.off), on: cpu(w.cpuMsPerMessage.on) },
      note: 'on: one webhook workflow per event and endpoint; the delivery workflow is unchanged',
    },
    {
      capability: 'late-bounce intake (off: delivered, no report; on: one DSN after the 250)',
      measuredBy: `scenario 8, ${l.messages} messages bouncing after their 250, against ${l.baseline.from}`,
      historyEvents: { off: w.deliveryHistoryEvents.off, on: sum(w.deliveryHistoryEvents.off, reportEvents) },
      statements: { off: l.baseline.statementsPerMessage ?? null, on: l.statementsPerMessage },
      cpuMs: { off: cpu(l.baseline.cpuMsPerMessage), on: cpu(l.cpuMsPerMessage) },
      note: 'on: the report workflow, the reputation workflow the hard bounce starts, the signal to an open delivery; the SMTP listener runs in the bench process (its CPU is not in these columns)',
    },
    {
      capability: 'shaping, direct delivery (off: through the relay; on: to the MX, with site limits)',
      measuredBy: `scenario 9, ${d.messages} messages each way`,
      historyEvents: { off: null, on: null },
      statements: { off: sum(d.perAttempt.relay.statements), on: sum(d.perAttempt.direct.statements) },
      cpuMs: { off: cpu(d.cpuMsPerMessage.relay), on: cpu(d.cpuMsPerMessage.direct) },
      note: `shaping's own share: ${d.perAttempt.direct.siteStatements ?? '-'} statements and ${d.perAttempt.direct.siteMs ?? '-'} ms per attempt on the site tables; the rest of "on" is direct delivery (MX lookup, a connection per domain); history unchanged`,
    },
  ];
}
