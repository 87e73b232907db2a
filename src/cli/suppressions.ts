// The suppression commands of `rebound` (README "Reputation and suppression"): `rebound
// suppressions list|check|add|lift|import|export` on the suppression list, and `rebound address`
// for the reputation of one address. main.ts passes its withClient, so errors print and exit as
// every command's do, and the actor recorded with each change (the operator's login name: main.ts
// is the one file of src/cli/ allowed to read it from the environment).
import { readFile, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { ReputationEntry } from '../reputation/policy';
import { type SuppressionStatus } from '../reputation/contract';
import type { WithClient } from './main';
import { printJson, table } from './output';

function printCheck(c: SuppressionStatus, json: boolean): void {
  if (json) printJson(c);
  else process.stdout.write(c.suppressed ? `${c.address} is suppressed: ${c.reason} (${c.source}) since ${c.since}, until ${c.until ?? 'lifted by an operator'}\n` : `${c.address} is not suppressed\n`);
}

export function addSuppressionCommands(program: Command, withClient: WithClient, actor: string): void {
  const sup = program.command('suppressions').description('the suppression list: list, check, add, lift, import, export');

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
