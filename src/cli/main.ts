// The `rebound` command line. Every command takes --json for machine-readable output.
import { readFile, writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { Command, Option } from 'commander';
import { ReboundClient } from '../client/rebound-client';
import { configHelp, loadConfig } from '../config';
import { classifyLine } from '../delivery/classify';
import { formatDuration, parseDuration } from '../delivery/duration';
import type { ReputationEntry } from '../reputation/policy';
import { ConfigFileError, formatIssue } from '../domains/config-file';
import { addDomainCommands } from './domains';
import { defineSinkCommand } from '../sink/main';
import { PROFILE_NAMES, FINAL_MESSAGE_STATES, type ProfileName } from '../delivery/contract';
import { type SuppressionStatus } from '../reputation/contract';
import { exitCodeFor, reportFailure, formatStatus, printJson, table } from './output';

const list = (value: string): string[] => value.split(',').map((v) => v.trim()).filter(Boolean);

async function withClient(json: boolean, fn: (c: ReboundClient) => Promise<void>): Promise<void> {
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
}

function addSendCommand(program: Command): void {
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

function addStatusCommands(program: Command): void {
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

function printCheck(c: SuppressionStatus, json: boolean): void {
  if (json) printJson(c);
  else process.stdout.write(c.suppressed ? `${c.address} is suppressed: ${c.reason} (${c.source}) since ${c.since}, until ${c.until ?? 'lifted by an operator'}\n` : `${c.address} is not suppressed\n`);
}

function addSuppressionCommands(program: Command): void {
  const sup = program.command('suppressions').description('the suppression list: list, check, add, lift, import, export');
  const actor = process.env.USER ? `cli:${process.env.USER}` : 'cli';

  sup
    .command('list')
    .description('active suppressions, newest first')
    .option('--domain <domain>', 'only this recipient domain')
    .option('--reason <reason>', 'only this reason (hard_bounce, soft_bounce_threshold, manual, import, ...)')
    .option('--limit <n>', 'at most this many', '100')
    .option('--all', 'include lifted and expired rows')
    .option('--json', 'print JSON')
    .action(async (o) => {
      await withClient(!!o.json, async (client) => {
        const rows = await client.suppressions.list({ domain: o.domain, reason: o.reason, limit: Number(o.limit), all: !!o.all });
        if (o.json) return printJson(rows);
        process.stdout.write(`${table([['ADDRESS', 'REASON', 'SOURCE', 'SINCE', 'UNTIL', 'LIFTED'], ...rows.map((r) => [r.address, r.reason, r.source, r.since, r.until ?? 'never', r.liftedAt ?? ''])])}\n`);
      });
    });

  sup
    .command('check <address>')
    .description('is this address suppressed right now?')
    .option('--json', 'print JSON')
    .action(async (address: string, o) => {
      await withClient(!!o.json, async (client) => printCheck(await client.suppressions.check(address), !!o.json));
    });

  sup
    .command('add <address>')
    .description('suppress an address (through its reputation workflow when one runs)')
    .option('--reason <reason>', 'why', 'manual')
    .option('--days <n>', 'lift it after this many days (default 180)')
    .option('--forever', 'no expiry: only an operator lifts it')
    .option('--note <text>', 'a note kept with the row')
    .option('--json', 'print JSON')
    .action(async (address: string, o) => {
      await withClient(!!o.json, async (client) => {
        const days = o.days === undefined ? undefined : Number(o.days);
        printCheck(await client.suppressions.add(address, { reason: o.reason, days, forever: !!o.forever, note: o.note, actor }), !!o.json);
      });
    });

  sup
    .command('lift <address>')
    .description('lift the suppression of an address')
    .option('--reason <reason>', 'why', 'manual')
    .option('--json', 'print JSON')
    .action(async (address: string, o) => {
      await withClient(!!o.json, async (client) => printCheck(await client.suppressions.lift(address, { reason: o.reason, actor }), !!o.json));
    });

  sup
    .command('import <file>')
    .description('import a CSV with a header (address[,reason,expires_at|days,note]); bad rows are reported by line')
    .option('--days <n>', 'expiry for rows without one (default 180)')
    .option('--forever', 'rows without an expiry never expire')
    .option('--json', 'print JSON')
    .action(async (file: string, o) => {
      await withClient(!!o.json, async (client) => {
        const text = await readFile(file, 'utf8');
        const defaultDays = o.forever ? null : o.days === undefined ? undefined : Number(o.days);
        const result = await client.suppressions.importCsv(text, { actor, defaultDays });
        if (o.json) return printJson(result);
        process.stdout.write(`imported ${result.imported} rows in ${result.elapsedMs} ms, ${result.errors.length} bad, ${result.skipped} skipped (lifted)\n`);
        for (const e of result.errors) process.stdout.write(`  line ${e.line}: ${e.message}\n`);
        if (result.errors.length > 0) process.exitCode = 4;
      });
    });

  sup
    .command('export [file]')
    .description('export the active suppressions as CSV (stdout without a file)')
    .option('--all', 'include lifted and expired rows')
    .option('--json', 'print a JSON summary instead of the CSV on stdout')
    .action(async (file: string | undefined, o) => {
      await withClient(!!o.json, async (client) => {
        const { csv, rows } = await client.suppressions.export({ all: !!o.all });
        if (file) await writeFile(file, csv);
        if (o.json) printJson({ file: file ?? null, rows });
        else if (file) process.stdout.write(`exported ${rows} rows to ${file}\n`);
        else process.stdout.write(csv);
      });
    });

  program
    .command('address <address>')
    .description('the reputation of an address: consecutive soft bounces, suppression, recent events')
    .option('--json', 'print JSON')
    .action(async (address: string, o) => {
      await withClient(!!o.json, async (client) => {
        const view = await client.suppressions.reputation(address);
        if (!view) {
          // No workflow runs for it: the table is all there is to tell.
          const check = await client.suppressions.check(address);
          return o.json ? printJson({ running: false, ...check }) : printCheck(check, false);
        }
        if (o.json) return printJson(view);
        process.stdout.write(
          `${view.address}: ${view.consecutiveSoftBounces}/${view.threshold} failed sends in a row; ${view.suppressed ? `suppressed (${view.reason}) until ${view.until ?? 'lifted'}` : 'not suppressed'}\n` +
            `totals: ${Object.entries(view.totals).map(([k, v]) => `${k} ${v}`).join(', ')}\n` +
            `${table([['AT', 'EVENT', 'DETAIL', 'COUNTED'], ...view.recent.map((e) => [e.at, e.type, [e.category, e.scope, e.reason, e.messageId, e.actor].filter(Boolean).join(' '), countedCell(e)])])}\n`,
        );
      });
    });
}

/** Whether a reputation event counted against the address, and why not. */
function countedCell(e: ReputationEntry): string {
  if (e.counted === undefined) return '';
  return e.counted ? 'yes' : `no: ${e.why ?? ''}`;
}

function addConfigCommand(program: Command): void {
  const config = program.command('config').description('the configuration: environment and configuration file');
  config
    .command('check')
    .description('validate the environment and the configuration file (REBOUND_CONFIG) and show the domain rules')
    .option('--json', 'print JSON')
    .action((o) => {
      try {
        const c = loadConfig();
        const rules = c.domains.map((d) => ({ domain: d.pattern, profile: d.profile, delays: d.schedule.delaysMs.map(formatDuration), deadline: formatDuration(d.schedule.deadlineMs) }));
        if (o.json) return printJson({ ok: true, file: c.configFile, domains: rules });
        process.stdout.write(`configuration ok${c.configFile ? `: ${c.configFile}` : ' (no configuration file: every recipient follows the default profile)'}\n`);
        if (rules.length > 0) process.stdout.write(`${table([['DOMAIN', 'PROFILE', 'DELAYS', 'DEADLINE'], ...rules.map((r) => [r.domain, r.profile, r.delays.join(','), r.deadline])])}\n`);
      } catch (err) {
        // Every problem of the file at once, so one run of the check fixes them all.
        if (err instanceof ConfigFileError && !o.json && err.issues.length > 1) {
          process.stderr.write(`${err.issues.map((issue) => `error: ${formatIssue(err.file, issue)}`).join('\n')}\n`);
          process.exit(1);
        }
        reportFailure(err, !!o.json);
        process.exit(exitCodeFor(err));
      }
    });
}

function addStackCommands(program: Command): void {
  program
    .command('worker')
    .description('run a worker: the delivery and reputation workflows and their activities')
    .action(async () => {
      const { runWorkerProcess } = await import('../worker/main.js');
      await runWorkerProcess(loadConfig());
    });

  // options, the scenario list in its --help and the action: src/sink/main.ts
  defineSinkCommand(program.command('sink'));

  program
    .command('dev')
    .description('start (or reuse) the Temporal dev server with its UI, the database, the sink and a worker; Ctrl-C stops what it started')
    .action(async () => {
      const { runDev } = await import('../dev/dev.js');
      await runDev(loadConfig());
    });

  program
    .command('demo')
    .description('start the dev stack, send a batch covering every simulator scenario and follow it to the end')
    .option('--exit', 'exit when every message is final instead of keeping the stack up')
    .option('--json', 'print the summary as JSON')
    .action(async (o) => {
      const { runDemo } = await import('../dev/demo.js');
      await runDemo(loadConfig(), { exit: !!o.exit || !process.stdout.isTTY, json: !!o.json });
    });
}

export function buildProgram(): Command {
  const program = new Command('rebound')
    .description('Durable email delivery on Temporal: soft bounces retried, hard bounces stopped, failing addresses suppressed.')
    .addHelpText('after', `\n${configHelp()}\n\nFinal message states: ${FINAL_MESSAGE_STATES.join(', ')}`)
    .showHelpAfterError();
  addSendCommand(program);
  addStatusCommands(program);
  addClassifyCommand(program);
  addSuppressionCommands(program);
  addDomainCommands(program, withClient);
  addConfigCommand(program);
  addStackCommands(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  await buildProgram().parseAsync(argv);
}
