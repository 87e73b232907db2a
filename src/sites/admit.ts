// The one statement a transaction costs before it starts (README "Traffic shaping", Limits:
// "what shaping costs"): the suspensions in force for the site and its recipient domains, the
// adjustments in force, and a pace slot at the rate in force (GCRA on site_pacing), all in one
// round trip. The slot is only taken when nothing is suspended and it is at most `maxWaitMs`
// away; the caller waits for it, or defers the recipients when it is further.
import type { Pool } from 'pg';
import type { Site, SiteAdjustment, SiteSuspension } from './contract';
import { adjustmentFromRow } from './adjustments';

export interface PaceGrant {
  scope: 'site' | 'domain';
  key: string;
  messagesPerMinute: number;
  /** How long until the slot (0: now). */
  waitMs: number;
}

export interface PaceRefusal {
  scope: 'site' | 'domain';
  key: string;
  messagesPerMinute: number;
  /** How long until the next slot would be. */
  backlogMs: number;
}

export interface AdmitResult {
  suspensions: SiteSuspension[];
  adjustments: SiteAdjustment[];
  granted: PaceGrant[];
  refused: PaceRefusal[];
}

const ADMIT_SQL = `
WITH
susp AS (
  SELECT scope, site, until, rule, reply, created_at FROM site_suspensions
   WHERE until > now() AND ((scope = 'site' AND site = $1) OR (scope = 'domain' AND site = ANY($2::text[])))
),
adj AS (
  SELECT scope, site, until, connections, messages_per_minute, rule, reply, created_at FROM site_adjustments
   WHERE until > now() AND ((scope = 'site' AND site = $1) OR (scope = 'domain' AND site = ANY($2::text[])))
),
want AS (
  SELECT 'site'::text AS scope, $1::text AS key,
         least($3::integer, (SELECT min(messages_per_minute) FROM adj WHERE scope = 'site')) AS per_minute
  UNION ALL
  SELECT 'domain', site, messages_per_minute FROM adj WHERE scope = 'domain' AND messages_per_minute IS NOT NULL
),
paced AS (
  INSERT INTO site_pacing AS p (scope, key, tat, interval_ms)
  SELECT scope, key, now() + (60000.0 / per_minute) * interval '1 millisecond', 60000.0 / per_minute
    FROM want WHERE per_minute IS NOT NULL AND NOT EXISTS (SELECT 1 FROM susp)
  ON CONFLICT (scope, key) DO UPDATE
     SET tat = greatest(p.tat, now()) + EXCLUDED.interval_ms * interval '1 millisecond', interval_ms = EXCLUDED.interval_ms
   WHERE p.tat <= now() + $4 * interval '1 millisecond'
  RETURNING scope, key, extract(epoch FROM (tat - now())) * 1000 - interval_ms AS wait_ms
)
SELECT
  (SELECT coalesce(json_agg(susp ORDER BY until DESC), '[]') FROM susp) AS suspensions,
  (SELECT coalesce(json_agg(adj), '[]') FROM adj) AS adjustments,
  (SELECT coalesce(json_agg(json_build_object('scope', w.scope, 'key', w.key, 'perMinute', w.per_minute,
           'waitMs', (SELECT wait_ms FROM paced WHERE paced.scope = w.scope AND paced.key = w.key),
           'backlogMs', (SELECT extract(epoch FROM (s.tat - now())) * 1000 FROM site_pacing s WHERE s.scope = w.scope AND s.key = w.key))), '[]')
     FROM want w WHERE w.per_minute IS NOT NULL) AS pace
`;

interface PaceRow {
  scope: 'site' | 'domain';
  key: string;
  perMinute: number;
  waitMs: number | null;
  backlogMs: number | null;
}

/**
 * One round trip: what holds the site or these domains back, and a pace slot. `messagesPerMinute`
 * is the configured rate (null: none); an adjustment in force lowers it in the statement itself.
 */
export async function admit(pool: Pool, site: Site, domains: readonly string[], messagesPerMinute: number | null, maxWaitMs: number): Promise<AdmitResult> {
  const { rows } = await pool.query(ADMIT_SQL, [site, domains, messagesPerMinute, maxWaitMs]);
  const row = rows[0] as { suspensions: any[]; adjustments: any[]; pace: PaceRow[] };
  const suspensions: SiteSuspension[] = row.suspensions.map((s) => ({ scope: s.scope, site: s.site, until: new Date(s.until), rule: s.rule, reply: s.reply, createdAt: new Date(s.created_at) }));
  const suspended = suspensions.length > 0;
  const granted: PaceGrant[] = [];
  const refused: PaceRefusal[] = [];
  for (const p of row.pace) {
    if (p.waitMs !== null) granted.push({ scope: p.scope, key: p.key, messagesPerMinute: p.perMinute, waitMs: Math.max(0, p.waitMs) });
    // Under a suspension no slot is asked for: that is no refusal.
    else if (!suspended) refused.push({ scope: p.scope, key: p.key, messagesPerMinute: p.perMinute, backlogMs: Math.max(0, p.backlogMs ?? 0) });
  }
  return { suspensions, adjustments: row.adjustments.map(adjustmentFromRow), granted, refused };
}
