// The reports Rebound heard after the relay's 250, as operators read them (README "Late
// outcomes"): the list (orphans, forged and ignored ones among them) and the counts by outcome
// and refusal reason. Never a report's content: an orphan's bytes stay in PostgreSQL.
import type { Pool } from 'pg';
import { ValidationError } from '../errors';
import { intakeCounts, listReports, REPORT_OUTCOMES, type ReportOutcome, type ReportSummary } from '../bounces/store';

export interface ReportFilter {
  outcome?: string;
  limit?: number;
  /** A report id: only older ones (the next page). */
  before?: string;
}

export class Reports {
  constructor(private readonly pool: Pool) {}

  async list(filter: ReportFilter = {}): Promise<ReportSummary[]> {
    if (filter.outcome !== undefined && !(REPORT_OUTCOMES as readonly string[]).includes(filter.outcome)) {
      throw new ValidationError('outcome', `must be one of ${REPORT_OUTCOMES.join(', ')}, got "${filter.outcome}"`);
    }
    if (filter.limit !== undefined && !(Number.isInteger(filter.limit) && filter.limit >= 1 && filter.limit <= 1000)) {
      throw new ValidationError('limit', `must be an integer from 1 to 1000, got ${filter.limit}`);
    }
    if (filter.before !== undefined && !/^\d{1,18}$/.test(filter.before)) throw new ValidationError('before', `must be a report id, got "${filter.before}"`);
    return listReports(this.pool, { outcome: filter.outcome as ReportOutcome | undefined, limit: filter.limit ?? 100, before: filter.before });
  }

  /** Reports by outcome and refusals by reason over the last `days` days (default 7). */
  async counts(days = 7): Promise<{ days: number; reports: Record<string, number>; refused: Record<string, number> }> {
    if (!(Number.isInteger(days) && days >= 1 && days <= 365)) throw new ValidationError('days', `must be an integer from 1 to 365, got ${days}`);
    return { days, ...(await intakeCounts(this.pool, days)) };
  }
}
