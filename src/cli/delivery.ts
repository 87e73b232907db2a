// The delivery commands of `rebound` (README "The `rebound` command"): `send`, then `status`,
// `wait`, `cancel` and `retry-now` on one message, and `classify` for SMTP replies (README
// "Behaviour"). main.ts passes its withClient, so errors print and exit as every command's do.
import { createInterface } from 'node:readline';
import { Option, type Command } from 'commander';
import { classifyLine } from '../delivery/classify';
import { parseDuration } from '../delivery/duration';
import { PROFILE_NAMES, type ProfileName } from '../delivery/contract';
import type { WithClient } from './main';
import { formatStatus, printJson } from './output';

const list = (value: string): string[] => value.split(',').map((v) => v.trim()).filter(Boolean);

/** send, status, wait, cancel, retry-now and classify, in the order `rebound --help` lists them. */
export function addDeliveryCommands(program: Command, withClient: WithClient): void {
  addSendCommand(program, withClient);
  addStatusCommands(program, withClient);
  addClassifyCommand(program);
}

function addSendCommand(program: Command, withClient: WithClient): void {
  program
    .command('send')
    .description('validate, store and start the delivery of one message')
    .requiredOption('--from <address>', 'sender (envelope and From header)')
    .requiredOption('--to <addresses>', 'recipients, comma-separated', list)
    .option('--cc <addresses>', 'copy recipients, comma-separated', list)
    .option('--bcc <addresses>', 'blind copy recipients, comma-separated', list)
    .requiredOption('--subject <subject>', 'subject line')
    .option('--text <text>', 'plain-text body')
    .option('--html <html>', 'HTML body')
    .option('--id <id>', 'message id, also the idempotency key: the same id never delivers twice')
    .addOption(new Option('--profile <profile>', 'retry profile').choices(PROFILE_NAMES as string[]))
    .option('--delays <list>', 'custom delays between attempts, e.g. 2s,4s,8s (the last repeats)', list)
    .option('--deadline <duration>', 'custom deadline from now, e.g. 30s, 15m, 72h')
    .option('--json', 'print JSON')
    .action(async (o) => {
      await withClient(!!o.json, async (client) => {
        const receipt = await client.send({
          id: o.id,
          from: o.from,
          to: o.to,
          cc: o.cc,
          bcc: o.bcc,
          subject: o.subject,
          text: o.text,
          html: o.html,
          profile: o.profile as ProfileName | undefined,
          delays: o.delays,
          deadline: o.deadline,
        });
        if (o.json) printJson(receipt);
        else process.stdout.write(`${receipt.created ? 'started' : 'already known, not sent again:'} ${receipt.messageId} (workflow ${receipt.workflowId})\n`);
      });
    });
}

function addStatusCommands(program: Command, withClient: WithClient): void {
  program
    .command('status <id>')
    .description('show the delivery status of a message (the workflow\'s status query)')
    .option('--json', 'print JSON')
    .action(async (id: string, o) => {
      await withClient(!!o.json, async (client) => {
        const status = await client.status(id);
        if (o.json) printJson(status);
        else process.stdout.write(`${formatStatus(status)}\n`);
      });
    });

  program
    .command('wait <id>')
    .description('wait until the delivery of a message is final, then show its status')
    .option('--timeout <duration>', 'give up after this long (exit code 3)', '5m')
    .option('--json', 'print JSON')
    .action(async (id: string, o) => {
      await withClient(!!o.json, async (client) => {
        const timeoutMs = parseDuration(o.timeout, 'timeout');
        let timer: NodeJS.Timeout | undefined;
        const timedOut = new Promise<'timeout'>((resolve) => {
          timer = setTimeout(() => resolve('timeout'), timeoutMs);
        });
        const outcome = await Promise.race([client.result(id), timedOut]);
        clearTimeout(timer);
        if (outcome === 'timeout') {
          const status = await client.status(id);
          if (o.json) printJson({ timeout: true, ...status });
          else process.stdout.write(`still ${status.state} after ${o.timeout}\n${formatStatus(status)}\n`);
          process.exitCode = 3;
          return;
        }
        if (o.json) printJson(outcome);
        else process.stdout.write(`${formatStatus(outcome)}\n`);
      });
    });

  program
    .command('cancel <id>')
    .description('cancel a delivery: open recipients end cancelled')
    .option('--json', 'print JSON')
    .action(async (id: string, o) => {
      await withClient(!!o.json, async (client) => {
        await client.cancel(id);
        if (o.json) printJson({ messageId: id, cancelRequested: true });
        else process.stdout.write(`cancellation requested for ${id}\n`);
      });
    });

  program
    .command('retry-now <id>')
    .description('end the current wait of a delivery and attempt its pending recipients at once')
    .option('--json', 'print JSON')
    .action(async (id: string, o) => {
      await withClient(!!o.json, async (client) => {
        await client.retryNow(id);
        if (o.json) printJson({ messageId: id, retryNowSent: true });
        else process.stdout.write(`retryNow sent to ${id}\n`);
      });
    });
}

function addClassifyCommand(program: Command): void {
  program
    .command('classify [reply...]')
    .description('classify SMTP replies; without arguments, one reply per line from stdin')
    .option('--json', 'print JSON (always one object per line)')
    .action(async (replies: string[]) => {
      const print = (line: string) => {
        const { kind, category, scope, code, enhanced, retryAfterMs } = classifyLine(line);
        printJson({ kind, category, scope, code, enhanced, retryAfterMs });
      };
      if (replies.length > 0) {
        replies.forEach(print);
        return;
      }
      for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
        if (line.trim()) print(line);
      }
    });
}
