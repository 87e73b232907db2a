// The late outcomes in PostgreSQL (README "Late outcomes"): what the report processor reads and
// writes, what status readers merge in, and the report list operators page through (orphans,
// forged, ignored). SQL only; the rules are in late.ts and correlate.ts.
import type { Pool, PoolClient } from 'pg';
import { SOFT_CATEGORIES, type BounceCategory, type ClassifiedReply, type LateOutcome, type ReplyKind } from '../delivery/contract';
import type { ProviderEvent, ReportSource } from './contract';
import { refusalCounts } from './refusals';

export type ReportOutcome = 'matched' | 'ignored' | 'orphan' | 'forged';
export const REPORT_OUTCOMES: readonly ReportOutcome[] = ['matched', 'ignored', 'orphan', 'forged'];

/** A stored report as the processor reads it. */
export interface StoredReport {
  id: string;
  source: ReportSource;
  envelopeTo: string | null;
  raw: Buffer | null;
  event: ProviderEvent | null;
  processedAt: string | null;
}

export async function loadReport(pool: Pool, id: string): Promise<StoredReport | null> {
  const res = await pool.query(`SELECT id, source, envelope_to, raw, event, processed_at FROM inbound_reports WHERE id = $1`, [id]);
  const r = res.rows[0];
  if (!r) return null;
  return { id: String(r.id), source: r.source, envelopeTo: r.envelope_to, raw: r.raw, event: r.event, processedAt: r.processed_at?.toISOString() ?? null };
}

/** A message a report may be about: its id and envelope recipients. */
export interface CandidateMessage {
  id: string;
  recipients: string[];
}

const toMessages = (rows: { id: string; recipients: string[] }[]): CandidateMessage[] => rows.map((r) => ({ id: r.id, recipients: r.recipients }));

export async function messagesByRef(pool: Pool, ref: string): Promise<CandidateMessage[]> {
  return toMessages((await pool.query(`SELECT id, recipients FROM messages WHERE bounce_ref(id) = $1 LIMIT 2`, [ref])).rows);
}

export async function messagesByMessageIdHeader(pool: Pool, header: string): Promise<CandidateMessage[]> {
  return toMessages((await pool.query(`SELECT id, recipients FROM messages WHERE message_id_header = $1 LIMIT 2`, [header])).rows);
}

/** The messages whose recipient the relay accepted under this queue id (its 250 reply). */
export async function messagesByQueueId(pool: Pool, queueId: string, recipient: string): Promise<CandidateMessage[]> {
  const res = await pool.query(
    `SELECT m.id, m.recipients FROM accepted_recipients a JOIN messages m ON m.id = a.message_id
      WHERE a.relay_queue_id = $1 ORDER BY (a.recipient = $2) DESC LIMIT 2`,
    [queueId, recipient],
  );
  return toMessages(res.rows);
}

export interface ReportVerdict {
  outcome: ReportOutcome;
  reportType: string | null;
  messageId: string | null;
  /** Why, in a few words (no personal data): "no message has this token", "auto-reply", ... */
  detail: string | null;
}

/**
 * Records what a report came to and the late outcomes it gives, in one transaction: each
 * (message, recipient, kind) once, whichever report said it first. Returns the outcomes this
 * report added (none when another report had said the same).
 */
export async function recordVerdict(tx: PoolClient, reportId: string, verdict: ReportVerdict, outcomes: LateOutcome[]): Promise<LateOutcome[]> {
  let added: LateOutcome[] = [];
  if (verdict.messageId && outcomes.length > 0) {
    const res = await tx.query(
      `INSERT INTO late_outcomes (message_id, recipient, kind, report_id, source, action, status, code, diagnostic, category, scope, feedback_type, at)
       SELECT $1, u.recipient, u.kind, $2, u.source, u.action, u.status, u.code, u.diagnostic, u.category, u.scope, u.feedback_type, u.at
         FROM jsonb_to_recordset($3::jsonb) AS u(recipient text, kind text, source text, action text, status text, code integer,
                                                 diagnostic text, category text, scope text, feedback_type text, at timestamptz)
       ON CONFLICT (message_id, recipient, kind) DO NOTHING
       RETURNING recipient, kind`,
      [verdict.messageId, reportId, JSON.stringify(outcomes.map(rowOf))],
    );
    const inserted = new Set(res.rows.map((r) => `${r.kind} ${r.recipient}`));
    added = outcomes.filter((o) => inserted.has(`${o.kind} ${o.recipient}`));
    if (added.some((o) => o.kind === 'bounced')) await tx.query(RECOUNT_FINAL_STATE, [verdict.messageId]);
  }
  await tx.query(
    `UPDATE inbound_reports SET processed_at = now(), outcome = $2, report_type = $3, message_id = $4, detail = $5 WHERE id = $1`,
    [reportId, verdict.outcome, verdict.reportType, verdict.messageId, verdict.detail?.slice(0, 300) ?? null],
  );
  return added;
}

/**
 * A finished message's recorded state once a delivered recipient bounced later, counted as the
 * status readers count it (mergeLateOutcomes): recipients the relay accepted and that did not
 * bounce afterwards are the delivered ones.
 */
const RECOUNT_FINAL_STATE = `
  UPDATE messages m
     SET state = CASE WHEN d.n = 0 THEN 'failed' WHEN d.n < cardinality(m.recipients) THEN 'partially_delivered' ELSE 'delivered' END
    FROM (SELECT count(*) AS n FROM accepted_recipients a
           WHERE a.message_id = $1
             AND NOT EXISTS (SELECT 1 FROM late_outcomes l WHERE l.message_id = a.message_id AND l.recipient = a.recipient AND l.kind = 'bounced')) d
   WHERE m.id = $1 AND m.finished_at IS NOT NULL AND m.state IN ('delivered', 'partially_delivered')`;

function rowOf(o: LateOutcome) {
  return {
    recipient: o.recipient,
    kind: o.kind,
    source: o.source,
    action: o.kind === 'complained' ? null : o.kind === 'delayed' ? 'delayed' : 'failed',
    status: o.reply?.enhanced ?? null,
    code: o.reply?.code ?? null,
    diagnostic: o.reply?.text ?? null,
    category: o.reply?.category ?? 'complaint',
    scope: o.reply?.scope ?? null,
    feedback_type: o.feedbackType,
    at: o.at,
  };
}

function outcomeOf(r: Record<string, any>): LateOutcome {
  const reply: ClassifiedReply | null =
    r.kind === 'complained' ? null : { code: r.code, enhanced: r.status, text: r.diagnostic ?? '', kind: kindOfCategory(r.category), category: r.category, scope: r.scope, retryAfterMs: null };
  return { recipient: r.recipient, kind: r.kind, source: r.source, at: r.at.toISOString(), reply, feedbackType: r.feedback_type };
}

/** The reply kind a stored category stands for (the row keeps the category; the kind follows from it). */
function kindOfCategory(category: BounceCategory): ReplyKind {
  if (category === 'delivered') return 'delivered';
  return (SOFT_CATEGORIES as readonly string[]).includes(category) ? 'soft' : 'hard';
}

/** A message's late outcomes, oldest first: what status readers merge in. */
export async function lateOutcomesOf(pool: Pool, messageId: string): Promise<LateOutcome[]> {
  const res = await pool.query(`SELECT * FROM late_outcomes WHERE message_id = $1 ORDER BY at, recipient, kind`, [messageId]);
  return res.rows.map(outcomeOf);
}

/** The late outcomes of a report not yet told to workflows (a crash between recording and telling). */
export async function untoldOutcomes(pool: Pool, reportId: string): Promise<{ messageId: string; outcome: LateOutcome }[]> {
  const res = await pool.query(`SELECT * FROM late_outcomes WHERE report_id = $1 AND told_at IS NULL ORDER BY recipient, kind`, [reportId]);
  return res.rows.map((r) => ({ messageId: r.message_id, outcome: outcomeOf(r) }));
}

export async function markTold(pool: Pool, reportId: string): Promise<void> {
  await pool.query(`UPDATE late_outcomes SET told_at = now() WHERE report_id = $1 AND told_at IS NULL`, [reportId]);
}

/** One report as operators list it: never its content. */
export interface ReportSummary {
  id: string;
  source: ReportSource;
  receivedAt: string;
  processedAt: string | null;
  outcome: ReportOutcome | null;
  reportType: string | null;
  messageId: string | null;
  detail: string | null;
}

export async function listReports(pool: Pool, f: { outcome?: ReportOutcome; limit?: number; before?: string } = {}): Promise<ReportSummary[]> {
  const res = await pool.query(
    `SELECT id, source, received_at, processed_at, outcome, report_type, message_id, detail FROM inbound_reports
      WHERE ($1::text IS NULL OR outcome = $1) AND ($2::bigint IS NULL OR id < $2)
      ORDER BY id DESC LIMIT $3`,
    [f.outcome ?? null, f.before ?? null, f.limit ?? 100],
  );
  return res.rows.map((r) => ({
    id: String(r.id),
    source: r.source,
    receivedAt: r.received_at.toISOString(),
    processedAt: r.processed_at?.toISOString() ?? null,
    outcome: r.outcome,
    reportType: r.report_type,
    messageId: r.message_id,
    detail: r.detail,
  }));
}

/** Reports by outcome (null: not processed yet) and refusals by reason, over the last `days` days. */
export async function intakeCounts(pool: Pool, days = 7): Promise<{ reports: Record<string, number>; refused: Record<string, number> }> {
  const res = await pool.query(
    `SELECT coalesce(outcome, 'unprocessed') AS key, count(*)::int AS n FROM inbound_reports
      WHERE received_at > now() - make_interval(days => $1) GROUP BY 1`,
    [days],
  );
  const reports = Object.fromEntries(res.rows.map((r) => [r.key, r.n]));
  const refused: Record<string, number> = {};
  for (const r of await refusalCounts(pool, days)) refused[r.reason] = (refused[r.reason] ?? 0) + r.count;
  return { reports, refused };
}

/** Reports no workflow was started for yet, oldest first (the sweeper's query). */
export async function unstartedReports(pool: Pool, minAgeMs: number, limit: number): Promise<string[]> {
  const res = await pool.query(
    `SELECT id FROM inbound_reports WHERE started_at IS NULL AND received_at < now() - make_interval(secs => $1) ORDER BY received_at LIMIT $2`,
    [minAgeMs / 1000, limit],
  );
  return res.rows.map((r) => String(r.id));
}

export async function markStarted(pool: Pool, ids: string[]): Promise<void> {
  if (ids.length > 0) await pool.query(`UPDATE inbound_reports SET started_at = now() WHERE id = ANY($1::bigint[]) AND started_at IS NULL`, [ids]);
}
