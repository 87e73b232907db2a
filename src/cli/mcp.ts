// `rebound mcp` (README "For AI agents: rebound mcp"): the Model Context Protocol server over
// stdio, for an agent's MCP client to start as a child process. Stdout carries the protocol
// alone, so the logs go to stderr. It runs until the client closes stdin, or SIGINT/SIGTERM.
import type { Command } from 'commander';
import { ReboundClient } from '../client/rebound-client';
import { exitCodeFor, reportFailure } from './output';

export function addMcpCommand(program: Command): void {
  program
    .command('mcp')
    .description('serve Rebound to AI agents as MCP tools over stdio (logs on stderr): send_message, get_delivery_status, wait_for_outcome, check_suppression, lift_suppression, get_domain_health, list_retrying')
    .action(async () => {
      // First, before anything logs: a line on stdout would break the protocol.
      const { logger, logToStderr } = await import('../log.js');
      logToStderr();
      const [{ serveStdio }, { untilSignal }] = await Promise.all([import('../mcp/server.js'), import('../dev/stack.js')]);
      let rebound: ReboundClient | undefined;
      try {
        rebound = await ReboundClient.connect();
        const served = await serveStdio({ rebound });
        logger.info({ pid: process.pid }, 'mcp ready on stdio');
        const why = await Promise.race([served.closed.then(() => 'stdin closed'), untilSignal()]);
        logger.info({ why }, 'mcp stopping');
        await served.close();
        await rebound.close();
      } catch (err) {
        await rebound?.close().catch(() => undefined);
        // stderr: stdout is the protocol's.
        reportFailure(err, false);
        process.exit(exitCodeFor(err));
      }
    });
}
