// Sites as operators see and steer them (README "Traffic shaping", visibility): the read model
// of src/sites/view.ts, and an operator's suspend and resume, with every input checked here so
// the CLI, the HTTP API and the dashboard name a bad field alike.
import type { Pool } from 'pg';
import { ValidationError, quoteValue } from '../errors';
import type { RuleScope, Site } from '../sites/contract';
import { MAX_SUSPENSION_MS, resumeSite, suspendSite } from '../sites/store';
import { checkedSiteName, FALLBACK_SITE_DIRECTORY, sitesView, type SiteDirectory, type SiteSuspensionView, type SitesView, type SiteView } from '../sites/view';

/** The longest manual suspension, in minutes (30 days, the store's limit). */
export const MAX_SUSPENSION_MINUTES = MAX_SUSPENSION_MS / 60_000;
const MAX_NOTE = 500;

export interface SuspendRequest {
  /** How long, in whole minutes (1 to 43200). */
  minutes: number;
  /** Kept as the suspension's reply: why an operator suspended it. */
  note?: string;
  /** The whole site (default), or one recipient domain (then `site` is the domain). */
  scope?: RuleScope;
}

export interface ResumeResult {
  site: Site;
  scope: RuleScope;
  /** False when nothing was in force (resuming an open site changes nothing). */
  resumed: boolean;
}

/** A scope given by a caller, or a ValidationError naming `scope`. */
export function checkedScope(value: unknown): RuleScope {
  if (value === undefined || value === null) return 'site';
  if (value !== 'site' && value !== 'domain') throw new ValidationError('scope', `must be "site" or "domain"; got ${quoteValue(String(value))}`);
  return value;
}

/** Whole minutes from 1 to 43200, or a ValidationError naming `minutes`. */
export function checkedMinutes(value: unknown): number {
  const n = typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : value;
  if (!(typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= MAX_SUSPENSION_MINUTES)) {
    throw new ValidationError('minutes', `must be a whole number of minutes from 1 to ${MAX_SUSPENSION_MINUTES} (30 days); got ${JSON.stringify(value) ?? 'nothing'}`);
  }
  return n;
}

export class Sites {
  constructor(
    private readonly pool: Pool,
    private readonly directory: SiteDirectory = FALLBACK_SITE_DIRECTORY,
  ) {}

  /** Every site to show: suspended or throttled now, configured, or attempted in the last 24 h. */
  async list(opts: { queueLimit?: number } = {}): Promise<SitesView> {
    return sitesView(this.pool, this.directory, { queueLimit: opts.queueLimit });
  }

  /** One site, also when nothing is known of it (then open, with its configured limits). */
  async get(site: Site, opts: { queueLimit?: number } = {}): Promise<SiteView> {
    const view = await sitesView(this.pool, this.directory, { site: checkedSiteName(site), queueLimit: opts.queueLimit });
    return view.sites[0];
  }

  /**
   * Suspends a site (or a domain) by hand: rule `manual`, the note as its reply. Extends one in
   * force, never shortens it. Writes `site.suspended` when subscribed (README "Webhooks").
   */
  async suspend(site: Site, request: SuspendRequest, actor = 'an operator'): Promise<SiteSuspensionView> {
    const name = checkedSiteName(site);
    const minutes = checkedMinutes(request?.minutes);
    const scope = checkedScope(request?.scope);
    if (request.note !== undefined && (typeof request.note !== 'string' || request.note.length > MAX_NOTE)) throw new ValidationError('note', `must be text of at most ${MAX_NOTE} characters`);
    const note = request.note?.trim() || `suspended by ${actor}`;
    const s = await suspendSite(this.pool, { site: name, scope, durationMs: minutes * 60_000, rule: 'manual', reply: note });
    return { scope: s.scope, site: s.site, until: s.until.toISOString(), rule: s.rule, reply: s.reply, since: s.createdAt.toISOString() };
  }

  /** Lifts a site's (or a domain's) suspension now. Writes `site.resumed` (resumedBy manual) when one was in force. */
  async resume(site: Site, opts: { scope?: RuleScope } = {}): Promise<ResumeResult> {
    const name = checkedSiteName(site);
    const scope = checkedScope(opts.scope);
    return { site: name, scope, resumed: await resumeSite(this.pool, name, scope) };
  }
}
