// Counting a rule's matches within its window across every worker (README "Traffic shaping",
// Rules: thresholds), in PostgreSQL's site_rule_hits. One statement per match: it drops the
// times older than the window, appends now() and returns how many remain, under the row's lock,
// so concurrent matches in two workers are both counted.
import type { Pool } from 'pg';
import type { RuleScope } from './contract';

/** Records a match of `rule` for `key` and returns the matches within the window, this one included. */
export async function countHit(pool: Pool, rule: string, scope: RuleScope, key: string, windowMs: number, keep: number): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(
    `INSERT INTO site_rule_hits AS h (rule, scope, key, hits) VALUES ($1, $2, $3, ARRAY[now()])
     ON CONFLICT (rule, scope, key) DO UPDATE SET hits = (
       SELECT coalesce(array_agg(t ORDER BY t), '{}') FROM (
         SELECT t FROM unnest(h.hits) AS t WHERE t > now() - $4 * interval '1 millisecond' ORDER BY t DESC LIMIT $5 - 1
       ) AS recent(t)
     ) || now()
     RETURNING cardinality(hits) AS n`,
    [rule, scope, key, windowMs, Math.max(1, keep)],
  );
  return rows[0].n;
}
