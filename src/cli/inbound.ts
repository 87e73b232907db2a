// `rebound inbound` (README "Late outcomes"): the SMTP listener the bounce domain's MX points
// at, and the poller of a bounce mailbox hosted elsewhere (REBOUND_IMAP_URL), until SIGINT or SIGTERM; then it stops taking connections, lets open sessions finish and
// exits. Loads the configuration itself and needs no Temporal client: what it takes is stored
// in PostgreSQL and processed by the workers.
import type { Command } from 'commander';
import { loadConfig, redactUrl } from '../config';
import { untilSignal } from '../signals';
import { createPool } from '../db/pool';
import { logger } from '../log';
import { exitCodeFor, reportFailure } from './output';

export function addInboundCommand(program: Command): void {
  program
    .command('inbound')
    .description('take bounce reports (DSNs) and complaints by SMTP for REBOUND_BOUNCE_DOMAIN on REBOUND_INBOUND_LISTEN; 250 only once stored')
    .action(async () => {
      const { startInboundListener } = await import('../bounces/listener.js');
      const config = loadConfig();
      const pool = createPool(config.databaseUrl);
      try {
        const listener = await startInboundListener({ pool, config: config.inbound });
        // Its counters (README "Metrics") on REBOUND_METRICS_LISTEN, as a worker serves its own.
        const { startMetricsServer } = await import('../metrics/server.js');
        const metrics = config.metricsListen ? await startMetricsServer(config.metricsListen) : null;
        const { maxBytes, maxConnections, ratePerMinute, bounceDomain, imap: mailbox } = config.inbound;
        const { startImapPoller } = await import('../bounces/imap.js');
        const imap = mailbox ? startImapPoller({ pool, imap: mailbox, logger, maxBytes, bounceDomain }) : null;
        logger.info({ listen: `${listener.host}:${listener.port}`, bounceDomain, maxBytes, maxConnections, ratePerMinute, imap: mailbox ? redactUrl(mailbox.url) : 'off', metrics: metrics?.url ?? null }, 'rebound inbound is listening; SIGINT or SIGTERM stops it');
        const signal = await untilSignal();
        logger.info({ signal }, 'rebound inbound is stopping: open sessions may finish');
        await listener.close();
        await imap?.stop();
        await metrics?.close();
      } catch (err) {
        await pool.end().catch(() => undefined);
        reportFailure(err, false);
        process.exit(exitCodeFor(err));
      }
      await pool.end();
    });
}
