// Tells the end of expired suspensions (README "Traffic shaping", visibility): a suspension
// simply stops being in force at its `until`, and nobody writes anything then, so each worker
// sweeps for expired rows not yet told, marks them and writes their `site.resumed` webhook event
// (resumedBy expired) in the same statement, once per suspension. Each round also sets the site
// gauges of /metrics from what is in force (README "Metrics").
import type { Pool } from 'pg';
import type { Logger } from '../log';
import { setSiteGauges } from '../metrics/registry';
import { startSweeping } from '../sweeper';
import type { WebhookDispatcher } from '../webhooks/dispatch';
import { tellExpiredSuspensions } from './store';

/** How often a worker looks: a site.resumed event follows the reopening within this (plus its delivery). */
export const SITE_EXPIRY_SWEEP_INTERVAL_MS = 5_000;
const BATCH = 500;

export interface SiteExpirySweeperDeps {
  pool: Pool;
  logger: Logger;
  /** Starts the events' deliveries at once; without it the webhook sweeper starts them. */
  webhooks?: Pick<WebhookDispatcher, 'dispatchSoon'>;
  intervalMs?: number;
}

/** One round: tells what expired (in batches) and sets the gauges; returns how many it told. */
export async function sweepExpiredSuspensions({ pool, webhooks }: Pick<SiteExpirySweeperDeps, 'pool' | 'webhooks'>, stopped: () => boolean = () => false): Promise<number> {
  let told = 0;
  for (let more = true; more && !stopped(); ) {
    const round = await tellExpiredSuspensions(pool, BATCH);
    told += round.told;
    webhooks?.dispatchSoon(round.eventIds);
    setSiteGauges(round.suspended, round.throttled);
    more = round.told === BATCH;
  }
  return told;
}

/** Sweeps until the returned function is called; that function waits for a round in progress. */
export function startSiteExpirySweeper(deps: SiteExpirySweeperDeps): () => Promise<void> {
  return startSweeping({
    name: 'site expiry sweeper',
    intervalMs: deps.intervalMs ?? SITE_EXPIRY_SWEEP_INTERVAL_MS,
    logger: deps.logger,
    failing: 'site expiry sweeper cannot read site_suspensions; site.resumed events and the site gauges wait until PostgreSQL answers',
    async run(stopped) {
      const told = await sweepExpiredSuspensions(deps, stopped);
      if (told > 0) deps.logger.info({ told }, 'expired site suspensions told (site.resumed)');
    },
  });
}
