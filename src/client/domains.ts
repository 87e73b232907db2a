// Recipient-domain health for operators and services (README "Domain health"): the numbers come
// from PostgreSQL's hourly rollups and work while Temporal is down; only the messages retrying
// now come from Temporal visibility, and are null when it cannot be reached.
import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import type { DomainDetail, DomainHealth, DomainListOptions, RetryingMessage } from '../domains/contract';
import { checkedDomain, DEFAULT_WINDOW, domainHealth, listQuery, messageIdOfWorkflow, parseWindow, rankDomains, retryingQuery, zeroCounts } from '../domains/health';
import { domainCounts, topReplies } from '../domains/store';

/** How many retrying messages a domain's detail lists. */
export const RETRYING_LIMIT = 20;

export interface DomainsOptions {
  /**
   * How long `get` waits for Temporal visibility before answering with `retrying: null`
   * (default 3 s: an unreachable server is retried with backoff until then).
   */
  visibilityTimeoutMs?: number;
}

export class Domains {
  private readonly visibilityTimeoutMs: number;

  constructor(private readonly client: Client, private readonly pool: Pool, opts: DomainsOptions = {}) {
    this.visibilityTimeoutMs = opts.visibilityTimeoutMs ?? 3_000;
  }

  /** Every domain's health over the window, ranked (default: 24h, most attempts first, 100). */
  async list(opts: DomainListOptions = {}): Promise<DomainHealth[]> {
    const q = listQuery(opts);
    const counts = await domainCounts(this.pool, q.window.hours);
    return rankDomains(counts.map((c) => domainHealth(c, q.window.label)), q);
  }

  /** One domain's health, its top replies and the messages to it retrying now. */
  async get(domain: string, opts: { window?: string } = {}): Promise<DomainDetail> {
    const name = checkedDomain(domain);
    const window = parseWindow(opts.window ?? DEFAULT_WINDOW);
    const [counts, replies, retrying] = await Promise.all([
      domainCounts(this.pool, window.hours, name),
      topReplies(this.pool, name, window.hours),
      this.retrying(name),
    ]);
    return { ...domainHealth(counts[0] ?? zeroCounts(name), window.label), topReplies: replies, ...retrying };
  }

  private async retrying(domain: string): Promise<Pick<DomainDetail, 'retrying' | 'retryingError'>> {
    try {
      const found = await this.client.withDeadline(Date.now() + this.visibilityTimeoutMs, async () => {
        const out: RetryingMessage[] = [];
        for await (const wf of this.client.workflow.list({ query: retryingQuery(domain), pageSize: RETRYING_LIMIT })) {
          out.push({ messageId: messageIdOfWorkflow(wf.workflowId), workflowId: wf.workflowId });
          if (out.length >= RETRYING_LIMIT) break;
        }
        return out;
      });
      return { retrying: found, retryingError: null };
    } catch (err) {
      // The SDK's message ("Failed to list workflows") says what failed; its cause says why.
      const e = err as Error & { cause?: Error };
      const why = [e.message, e.cause?.message].filter(Boolean).join(': ');
      return { retrying: null, retryingError: `Temporal visibility could not be read: ${why}` };
    }
  }
}
