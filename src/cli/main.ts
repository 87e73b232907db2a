// The `rebound` command line (README "The `rebound` command"). Every command takes --json for
// machine-readable output. This file builds the program and holds what its commands share: the
// client wrapper that reports a failure and exits with its code. The commands live by group:
// delivery.ts (send, status, wait, cancel, retry-now, classify), suppressions.ts (suppressions,
// address), domains.ts (domains, domain), stack.ts (config check, worker, sink, dev, demo),
// api.ts (api, api-keys), mcp.ts (mcp), inbound.ts (inbound), bounces.ts (bounces) and sites.ts (sites).
import { Command } from 'commander';
import { ReboundClient } from '../client/rebound-client';
import { configHelp } from '../config';
import { FINAL_MESSAGE_STATES } from '../delivery/contract';
import { addApiCommands } from './api';
import { addBounceCommands } from './bounces';
import { addDeliveryCommands } from './delivery';
import { addDomainCommands } from './domains';
import { addMcpCommand } from './mcp';
import { addInboundCommand } from './inbound';
import { exitCodeFor, reportFailure } from './output';
import { addSiteCommands } from './sites';
import { addConfigCommand, addStackCommands } from './stack';
import { addSuppressionCommands } from './suppressions';

/** Runs fn with a connected client; a failure prints (as JSON with --json) and exits with its code. */
export type WithClient = (json: boolean, fn: (c: ReboundClient) => Promise<void>) => Promise<void>;

const withClient: WithClient = async (json, fn) => {
  let client: ReboundClient | undefined;
  try {
    client = await ReboundClient.connect();
    await fn(client);
  } catch (err) {
    await client?.close().catch(() => undefined);
    reportFailure(err, json);
    process.exit(exitCodeFor(err));
  }
  await client.close();
};

export function buildProgram(): Command {
  const program = new Command('rebound')
    .description('Durable email delivery on Temporal: soft bounces retried, hard bounces stopped, failing addresses suppressed.')
    .addHelpText('after', `\n${configHelp()}\n\nFinal message states: ${FINAL_MESSAGE_STATES.join(', ')}`)
    .showHelpAfterError();
  // The operator's login name, recorded as the actor of suppression changes.
  const actor = process.env.USER ? `cli:${process.env.USER}` : 'cli';
  addDeliveryCommands(program, withClient);
  addSuppressionCommands(program, withClient, actor);
  addDomainCommands(program, withClient);
  addConfigCommand(program);
  addStackCommands(program);
  addInboundCommand(program);
  addApiCommands(program, withClient);
  addMcpCommand(program);
  addBounceCommands(program, withClient);
  addSiteCommands(program, withClient);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  await buildProgram().parseAsync(argv);
}
