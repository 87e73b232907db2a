// The report processor (README "Late outcomes"): one stored report in, its verdict and late
// outcomes recorded, and then told to whoever must hear them — the address's reputation
// workflow (under the blame rules), the suppression list (a complaint), the delivery workflow
// when it is still open, and webhook receivers (through the outbox, in the same transaction as
// the outcome). Each step can be repeated: outcomes are recorded once per (message, recipient,
// kind), and telling is marked done only after it succeeded, so a crash in between tells again
// rather than never.
import type { Pool } from 'pg';
import type { LateOutcome } from '../delivery/contract';
import { lateEvents } from '../webhooks/events';
import { insertMessageEvents } from '../webhooks/outbox-write';
import type { ParsedReport, ProviderEvent, ReportProcessing } from './contract';
import { correlate, matchRecipients, type Clues, type Correlation } from './correlate';
import { candidateOfEvent, candidatesOfReport, isComplaint, type LateCandidate } from './late';
import { loadReport, markTold, messagesByMessageIdHeader, messagesByQueueId, messagesByRef, recordVerdict, untoldOutcomes, type ReportVerdict, type StoredReport } from './store';
import { tokenOfAddress } from './verp';

export interface ProcessorDeps {
  pool: Pool;
  parse: (raw: Buffer) => Promise<ParsedReport>;
  /** The return path's domain and key (null: tokens and refs are not trusted). */
  bounceDomain: string | null;
  bounceSecret: string | null;
}

/** What the processor tells once an outcome is recorded; the worker wires these to Temporal and the suppression list. */
export interface Tellers {
  /** Started deliveries of webhook events now rather than at the next sweep. */
  dispatchEvents(ids: string[]): void;
  tellReputation(messageId: string, outcome: LateOutcome): Promise<void>;
  suppressForComplaint(messageId: string, outcome: LateOutcome): Promise<void>;
  tellDeliveryWorkflow(messageId: string, outcome: LateOutcome): Promise<void>;
}


/** What a report says, whatever the path it came by. */
interface Reading {
  reportType: string;
  candidates: LateCandidate[];
  clues: Clues;
  /** Why the report gives no outcome (auto-reply, not a bounce, a delivered notice). */
  ignoredBecause: string | null;
}

async function read(deps: ProcessorDeps, report: StoredReport): Promise<Reading> {
  if (report.event) return readEvent(report.event);
  const parsed = await deps.parse(report.raw ?? Buffer.alloc(0));
  const token = report.envelopeTo && deps.bounceDomain ? tokenOfAddress(report.envelopeTo, deps.bounceDomain) : null;
  const candidates = candidatesOfReport(parsed);
  // A complaint that names nobody (redacted) is still a complaint about the message.
  if (parsed.type === 'complaint' && candidates.length === 0 && isComplaint(parsed.feedbackType)) candidates.push({ recipient: '', kind: 'complained', reply: null, feedbackType: parsed.feedbackType });
  const ignoredBecause =
    candidates.length > 0
      ? null
      : parsed.type === 'dsn'
        ? 'a notice of delivery, relay or expansion: nothing failed'
        : parsed.type === 'complaint'
          ? `feedback of type ${parsed.feedbackType}: not a complaint`
          : parsed.reason ?? parsed.type.replace('_', ' ');
  return {
    reportType: parsed.type,
    candidates,
    clues: { token, reboundRef: parsed.reboundRef, messageIdHeader: parsed.originalMessageId, queueId: null, recipient: null },
    ignoredBecause,
  };
}

function readEvent(e: ProviderEvent): Reading {
  const candidate = candidateOfEvent(e);
  return {
    reportType: `${e.provider}:${e.type}`,
    candidates: candidate ? [candidate] : [],
    clues: { token: null, reboundRef: e.reboundRef, messageIdHeader: e.messageIdHeader, queueId: e.queueId, recipient: e.recipient },
    ignoredBecause: candidate ? null : `feedback of type ${e.feedbackType}: not a complaint`,
  };
}

function verdictOf(reading: Reading, found: Correlation, matched: LateCandidate[]): ReportVerdict {
  const reportType = reading.reportType;
  if (reading.ignoredBecause) return { outcome: 'ignored', reportType, messageId: found.found ? found.message.id : null, detail: reading.ignoredBecause };
  if (!found.found) return { outcome: found.outcome, reportType, messageId: null, detail: found.detail };
  if (matched.length === 0) return { outcome: 'orphan', reportType, messageId: found.message.id, detail: 'the message was not sent to the recipients the report names' };
  return { outcome: 'matched', reportType, messageId: found.message.id, detail: `found by ${found.by}` };
}

/** Reads, correlates and records one report; then tells what it recorded (also what an earlier, interrupted run recorded). */
export async function processReport(deps: ProcessorDeps, tellers: Tellers, reportId: string): Promise<ReportProcessing> {
  const report = await loadReport(deps.pool, reportId);
  if (!report) return { outcome: 'gone', recorded: 0, told: 0 };
  let recorded = 0;
  let outcome: ReportProcessing['outcome'] = 'matched';
  if (!report.processedAt) {
    const reading = await read(deps, report);
    const found = await correlate(reading.clues, deps.bounceSecret, {
      byRef: (ref) => messagesByRef(deps.pool, ref),
      byMessageIdHeader: (h) => messagesByMessageIdHeader(deps.pool, h),
      byQueueId: (q, r) => messagesByQueueId(deps.pool, q, r),
    });
    const matched = found.found && !reading.ignoredBecause ? matchRecipients(reading.candidates, found.message) : [];
    const verdict = verdictOf(reading, found, matched);
    outcome = verdict.outcome;
    // When it happened: the provider's time where it gives one, else when Rebound heard it.
    const at = report.event && !Number.isNaN(Date.parse(report.event.at)) ? new Date(report.event.at).toISOString() : new Date().toISOString();
    const outcomes: LateOutcome[] = verdict.outcome === 'matched' ? matched.map((c) => ({ ...c, source: report.source, at })) : [];
    const eventIds = await inTransaction(deps.pool, async (tx) => {
      const added = await recordVerdict(tx, reportId, verdict, outcomes);
      recorded = added.length;
      return added.length > 0 ? insertMessageEvents(tx as unknown as Pool, verdict.messageId!, lateEvents(verdict.messageId!, added)) : [];
    });
    tellers.dispatchEvents(eventIds);
  }
  const told = await tell(deps.pool, tellers, reportId);
  return { outcome, recorded, told };
}

async function tell(pool: Pool, tellers: Tellers, reportId: string): Promise<number> {
  const untold = await untoldOutcomes(pool, reportId);
  for (const { messageId, outcome } of untold) {
    if (outcome.kind === 'bounced') await tellers.tellReputation(messageId, outcome);
    if (outcome.kind === 'complained') await tellers.suppressForComplaint(messageId, outcome);
    await tellers.tellDeliveryWorkflow(messageId, outcome);
  }
  if (untold.length > 0) await markTold(pool, reportId);
  return untold.length;
}

async function inTransaction<T>(pool: Pool, fn: (tx: import('pg').PoolClient) => Promise<T>): Promise<T> {
  const tx = await pool.connect();
  try {
    await tx.query('BEGIN');
    const result = await fn(tx);
    await tx.query('COMMIT');
    return result;
  } catch (err) {
    await tx.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    tx.release();
  }
}
