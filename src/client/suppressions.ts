// Operator and service controls over the suppression list (README "Reputation and suppression"). Manual suppressions and
// lifts go through the address's reputation workflow when one runs, so the workflow and the
// table never disagree; otherwise they write the table, and a reputation workflow started
// later loads the row.
import { WorkflowNotFoundError, type Client, type WorkflowHandle } from '@temporalio/client';
import type { Pool } from 'pg';
import { getActiveSuppression, importSuppressions, listSuppressions, markLifted, upsertSuppression, type ListFilter, type SuppressionRow } from '../reputation/store';
import { ValidationError } from '../errors';
import { DEFAULT_SUPPRESSION_DAYS, MAX_SUPPRESSION_DAYS, manualSuppression, suppressionStatus, validSuppressionDays } from '../reputation/policy';
import { parseSuppressionCsv, suppressionsToCsv } from '../reputation/csv';
import { addressProblem, normaliseAddress } from '../message/address';
import { addressWorkflowId } from '../reputation/address-id';
import { type SuppressionStatus, liftUpdate, reputationQuery, suppressUpdate, type ReputationView } from '../reputation/contract';

export interface AddOptions {
  reason?: string;
  /** Days until it lifts itself; default 180. */
  days?: number;
  /** No expiry: only an operator lifts it. */
  forever?: boolean;
  actor?: string;
  note?: string;
  /** `auto` when Rebound suppresses on its own (a complaint); default `manual`. */
  source?: 'auto' | 'manual';
  messageId?: string;
}

export interface ImportResult {
  imported: number;
  skipped: number;
  errors: { line: number; message: string }[];
  elapsedMs: number;
}

function checkedAddress(address: string): string {
  const normalised = normaliseAddress(address);
  const problem = addressProblem(normalised);
  if (problem) throw new ValidationError('address', problem);
  return normalised;
}

export class Suppressions {
  /** `addressIdKey`: REBOUND_ADDRESS_ID_KEY, the key of the reputation workflows' ids (README "Security"); null: ids hold the address. */
  constructor(private readonly client: Client, private readonly pool: Pool, private readonly addressIdKey: string | null = null) {}

  /** What a sender would see for this address right now: the table's view. */
  async check(address: string): Promise<SuppressionStatus> {
    const normalised = checkedAddress(address);
    return suppressionStatus(normalised, await getActiveSuppression(this.pool, normalised));
  }

  async list(filter: ListFilter = {}): Promise<SuppressionRow[]> {
    if (filter.limit !== undefined && !(Number.isInteger(filter.limit) && filter.limit > 0 && filter.limit <= 100_000)) {
      throw new ValidationError('limit', `must be an integer from 1 to 100000, got ${filter.limit}`);
    }
    return listSuppressions(this.pool, filter);
  }

  async add(address: string, opts: AddOptions = {}): Promise<SuppressionStatus> {
    const normalised = checkedAddress(address);
    if (opts.days !== undefined && opts.forever) throw new ValidationError('days', 'give either days or forever, not both');
    if (opts.days !== undefined && !validSuppressionDays(opts.days)) throw new ValidationError('days', `must be from 1 to ${MAX_SUPPRESSION_DAYS}, got ${opts.days}`);
    const days = opts.forever ? null : (opts.days ?? DEFAULT_SUPPRESSION_DAYS);
    const request = { reason: opts.reason ?? 'manual', days, actor: opts.actor, note: opts.note, ...(opts.source ? { source: opts.source } : {}), ...(opts.messageId ? { messageId: opts.messageId } : {}) };
    const viaWorkflow = await this.update(normalised, (handle) => handle.executeUpdate(suppressUpdate, { args: [request] }));
    if (!viaWorkflow) await upsertSuppression(this.pool, normalised, manualSuppression(request, days, Date.now()));
    return this.check(normalised);
  }

  async lift(address: string, opts: { reason?: string; actor?: string } = {}): Promise<SuppressionStatus> {
    const normalised = checkedAddress(address);
    const request = { reason: opts.reason ?? 'manual', actor: opts.actor };
    const viaWorkflow = await this.update(normalised, (handle) => handle.executeUpdate(liftUpdate, { args: [request] }));
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
    const parsed = parseSuppressionCsv(text, { nowMs: started, defaultDays: opts.defaultDays });
    const imported = await importSuppressions(this.pool, parsed.rows, opts.actor ?? null);
    return { imported, skipped: parsed.skipped, errors: parsed.errors, elapsedMs: Date.now() - started };
  }

  /** The suppressions as CSV, and how many rows it holds. */
  async export(filter: ListFilter = {}): Promise<{ csv: string; rows: number }> {
    const rows = await listSuppressions(this.pool, { limit: 10_000_000, ...filter });
    return { csv: suppressionsToCsv(rows), rows: rows.length };
  }

  async exportCsv(filter: ListFilter = {}): Promise<string> {
    return (await this.export(filter)).csv;
  }

  /** The reputation workflow's view of an address, or null when none runs for it. */
  async reputation(address: string): Promise<ReputationView | null> {
    const normalised = checkedAddress(address);
    try {
      return await this.client.workflow.getHandle(addressWorkflowId(normalised, this.addressIdKey)).query(reputationQuery);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return null;
      throw err;
    }
  }

  /** Runs an update on the address's running reputation workflow; false when none runs. */
  private async update(address: string, run: (handle: WorkflowHandle) => Promise<unknown>): Promise<boolean> {
    const handle = this.client.workflow.getHandle(addressWorkflowId(address, this.addressIdKey));
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
    await run(handle);
    return true;
  }
}
