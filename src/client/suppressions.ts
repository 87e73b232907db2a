// Operator and service controls over the suppression list (spec 5). Manual suppressions and
// lifts go through the address's reputation workflow when one runs, so the workflow and the
// table never disagree; otherwise they write the table, and a reputation workflow started
// later loads the row.
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Pool } from 'pg';
import { getActiveSuppression, importSuppressions, listSuppressions, markLifted, upsertSuppression, type ListFilter, type SuppressionRow } from '../db/suppressions';
import { ValidationError } from '../errors';
import { addressProblem } from '../message/validate';
import { DEFAULT_SUPPRESSION_DAYS } from '../policy/reputation';
import { parseSuppressionCsv, suppressionsToCsv } from '../suppressions/csv';
import { normaliseAddress, reputationWorkflowId, type SuppressionStatus } from '../types';
import { liftUpdate, reputationQuery, suppressUpdate, type ReputationView } from '../../workflows/definitions';

/** What `check` answers: the table's view, which senders act on. */
export type SuppressionCheckResult = SuppressionStatus;

export interface AddOptions {
  reason?: string;
  /** Days until it lifts itself; default 180. */
  days?: number;
  /** No expiry: only an operator lifts it. */
  forever?: boolean;
  actor?: string;
  note?: string;
}

export interface ImportResult {
  imported: number;
  skipped: number;
  errors: { line: number; message: string }[];
  elapsedMs: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;

function checkedAddress(address: string): string {
  const normalised = normaliseAddress(address);
  const problem = addressProblem(normalised);
  if (problem) throw new ValidationError('address', problem);
  return normalised;
}

export class Suppressions {
  constructor(private readonly client: Client, private readonly pool: Pool) {}

  /** What a sender would see for this address right now. */
  async check(address: string): Promise<SuppressionCheckResult> {
    const normalised = checkedAddress(address);
    const row = await getActiveSuppression(this.pool, normalised);
    return {
      address: normalised,
      suppressed: row !== null,
      reason: row?.reason ?? null,
      category: row?.category ?? null,
      source: row?.source ?? null,
      since: row?.since ?? null,
      until: row?.until ?? null,
    };
  }

  async list(filter: ListFilter = {}): Promise<SuppressionRow[]> {
    if (filter.limit !== undefined && !(Number.isInteger(filter.limit) && filter.limit > 0 && filter.limit <= 100_000)) {
      throw new ValidationError('limit', `must be an integer from 1 to 100000, got ${filter.limit}`);
    }
    return listSuppressions(this.pool, filter);
  }

  async add(address: string, opts: AddOptions = {}): Promise<SuppressionCheckResult> {
    const normalised = checkedAddress(address);
    if (opts.days !== undefined && opts.forever) throw new ValidationError('days', 'give either days or forever, not both');
    if (opts.days !== undefined && !(opts.days > 0 && opts.days <= 3650)) throw new ValidationError('days', `must be from 1 to 3650, got ${opts.days}`);
    const days = opts.forever ? null : (opts.days ?? DEFAULT_SUPPRESSION_DAYS);
    const request = { reason: opts.reason ?? 'manual', days, actor: opts.actor, note: opts.note };
    const viaWorkflow = await this.update(normalised, () => this.client.workflow.getHandle(reputationWorkflowId(normalised)).executeUpdate(suppressUpdate, { args: [request] }));
    if (!viaWorkflow) {
      const now = Date.now();
      await upsertSuppression(this.pool, normalised, {
        reason: request.reason,
        category: null,
        source: 'manual',
        messageId: null,
        reply: null,
        since: new Date(now).toISOString(),
        until: days === null ? null : new Date(now + days * DAY_MS).toISOString(),
        actor: opts.actor ?? null,
        note: opts.note ?? null,
      });
    }
    return this.check(normalised);
  }

  async lift(address: string, opts: { reason?: string; actor?: string } = {}): Promise<SuppressionCheckResult> {
    const normalised = checkedAddress(address);
    const request = { reason: opts.reason ?? 'manual', actor: opts.actor };
    const viaWorkflow = await this.update(normalised, () => this.client.workflow.getHandle(reputationWorkflowId(normalised)).executeUpdate(liftUpdate, { args: [request] }));
    if (!viaWorkflow) await markLifted(this.pool, normalised, new Date().toISOString(), opts.actor ?? null, request.reason);
    return this.check(normalised);
  }

  /**
   * Imports a CSV (header with at least `address`): every row validated, bad rows reported by
   * line number, good rows written in batches. Imports write the table directly: a reputation
   * workflow already running for an imported address keeps its own view until its next
   * decision, while senders see the row at once.
   */
  async importCsv(text: string, opts: { actor?: string; defaultDays?: number | null } = {}): Promise<ImportResult> {
    const started = Date.now();
    const parsed = parseSuppressionCsv(text, { nowMs: started, defaultDays: opts.defaultDays === undefined ? DEFAULT_SUPPRESSION_DAYS : opts.defaultDays });
    const imported = await importSuppressions(this.pool, parsed.rows, opts.actor ?? null);
    return { imported, skipped: parsed.skipped, errors: parsed.errors, elapsedMs: Date.now() - started };
  }

  async exportCsv(filter: ListFilter = {}): Promise<string> {
    return suppressionsToCsv(await listSuppressions(this.pool, { limit: 10_000_000, ...filter }));
  }

  /** The reputation workflow's view of an address, or null when none runs for it. */
  async reputation(address: string): Promise<ReputationView | null> {
    const normalised = checkedAddress(address);
    try {
      return await this.client.workflow.getHandle(reputationWorkflowId(normalised)).query(reputationQuery);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return null;
      throw err;
    }
  }

  /** Runs an update on the address's running reputation workflow; false when none runs. */
  private async update(address: string, run: () => Promise<unknown>): Promise<boolean> {
    const handle = this.client.workflow.getHandle(reputationWorkflowId(address));
    try {
      const { status } = await handle.describe();
      if (status.name !== 'RUNNING') return false;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return false;
      throw new Error(
        `cannot reach Temporal to route the change of ${address} through its reputation workflow (${(err as Error).message}); ` +
          'start Temporal (rebound dev) or check TEMPORAL_ADDRESS, then try again. Nothing was changed.',
      );
    }
    await run();
    return true;
  }
}
