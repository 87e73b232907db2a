// The inbound listener's Prometheus counters (README "Metrics" and "Late outcomes"), on the
// process's one registry: reports stored (new or a repeat) or not stored (PostgreSQL could
// not take them: the sender was told 451 and retries), and refusals by reason. Labels come
// from fixed vocabularies; no address or content.
import { Counter } from 'prom-client';
import { processMetrics } from '../metrics/registry';
import { REFUSAL_REASONS, type RefusalReason } from './refusals';

export const INBOUND_METRIC = {
  reports: 'rebound_inbound_reports_total',
  refusals: 'rebound_inbound_refusals_total',
} as const;

export const STORE_RESULTS = ['stored', 'duplicate', 'failed'] as const;
export type StoreResult = (typeof STORE_RESULTS)[number];

function build() {
  const registers = [processMetrics().registry];
  const reports = new Counter({
    name: INBOUND_METRIC.reports,
    help: 'Mails taken by rebound inbound, by result: "stored" (a new report, answered 250), "duplicate" (one already stored, answered 250), "failed" (PostgreSQL could not take it, answered 451: the sender retries)',
    labelNames: ['result'] as const,
    registers,
  });
  const refusals = new Counter({ name: INBOUND_METRIC.refusals, help: 'SMTP commands and connections rebound inbound refused, by reason', labelNames: ['reason'] as const, registers });
  // Series that exist from the start, so that rate() and absent() see zeros rather than nothing.
  for (const result of STORE_RESULTS) reports.inc({ result }, 0);
  for (const reason of REFUSAL_REASONS) refusals.inc({ reason }, 0);
  return { reports, refusals };
}

let current: ReturnType<typeof build> | undefined;
const metrics = () => (current ??= build());

export function countInboundReport(result: StoreResult): void {
  metrics().reports.inc({ result });
}

export function countInboundRefusal(reason: RefusalReason): void {
  metrics().refusals.inc({ reason });
}
