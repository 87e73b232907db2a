// `rebound bounces` (README "Late outcomes"): `parse` reads received mails (files, or one from
// stdin) and prints what the parser makes of each, one JSON object per line with --json, in
// input order — scripts depend on the field names; `accuracy` measures the parser on a corpus
// directory against its expected.json.
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { ParsedReport } from '../bounces/contract';
import { parseReport } from '../bounces/parse';
import { measureAccuracy } from '../bounces/parse-accuracy';
import { printJson, table } from './output';
import type { WithClient } from './main';

/** The contract's field order, `file` first. */
export function parseLine(file: string, r: ParsedReport): Record<string, unknown> {
  return {
    file,
    type: r.type,
    originalMessageId: r.originalMessageId,
    recipients: r.recipients.map((x) => ({
      address: x.address, action: x.action, status: x.status, code: x.code, diagnostic: x.diagnostic, kind: x.kind, category: x.category, scope: x.scope,
    })),
    feedbackType: r.feedbackType,
    reboundRef: r.reboundRef,
    reason: r.reason,
  };
}

export function summaryOf(file: string, r: ParsedReport): string {
  const head = `${file}: ${r.type}${r.feedbackType ? ` (${r.feedbackType})` : ''}${r.originalMessageId ? ` about ${r.originalMessageId}` : ''}${r.reason ? ` - ${r.reason}` : ''}`;
  const lines = r.recipients.map((x) => `  ${x.address}  ${x.action ?? '-'}  ${[x.code, x.status].filter(Boolean).join(' ') || '-'}  ${x.kind}/${x.category}${x.scope ? `/${x.scope}` : ''}`);
  return [head, ...lines].join('\n');
}

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks);
}

export function addBounceCommands(program: Command, withClient: WithClient): void {
  const bounces = program.command('bounces').description('bounce reports: the ones received (orphans among them), their counts; parse mails, measure the parser');

  bounces
    .command('reports')
    .description('reports received after the relay\'s 250, newest first, with what processing made of them')
    .option('--outcome <outcome>', 'only matched, ignored, orphan or forged ones')
    .option('--limit <n>', 'at most this many (1 to 1000)', '50')
    .option('--before <id>', 'only reports older than this id (the next page)')
    .option('--json', 'print JSON')
    .action((o) =>
      withClient(!!o.json, async (client) => {
        const reports = await client.reports.list({ outcome: o.outcome, limit: Number(o.limit), before: o.before });
        if (o.json) return printJson(reports);
        process.stdout.write(`${table([['ID', 'SOURCE', 'RECEIVED', 'OUTCOME', 'TYPE', 'MESSAGE', 'DETAIL'], ...reports.map((r) => [r.id, r.source, r.receivedAt, r.outcome ?? 'waiting', r.reportType ?? '', r.messageId ?? '', r.detail ?? ''])])}\n`);
      }),
    );

  bounces
    .command('stats')
    .description('reports by outcome and what the inbound listener refused, by reason')
    .option('--days <n>', 'over the last n days (1 to 365)', '7')
    .option('--json', 'print JSON')
    .action((o) =>
      withClient(!!o.json, async (client) => {
        const counts = await client.reports.counts(Number(o.days));
        if (o.json) return printJson(counts);
        const rows = [...Object.entries(counts.reports).map(([k, n]) => ['report', k, String(n)]), ...Object.entries(counts.refused).map(([k, n]) => ['refused', k, String(n)])];
        process.stdout.write(`last ${counts.days} days\n${table([['WHAT', 'OUTCOME', 'COUNT'], ...rows])}\n`);
      }),
    );

  bounces
    .command('parse [files...]')
    .description('parse received mails (DSN, complaint, auto-reply); no file: one mail from stdin')
    .option('--json', 'one JSON object per input, one per line')
    .action(async (files: string[], o) => {
      const inputs = files.length > 0 ? files : ['-'];
      let failed = false;
      for (const file of inputs) {
        let raw: Buffer;
        try {
          raw = file === '-' ? await readStdin() : await readFile(file);
        } catch (err) {
          // One unreadable file does not stop the others; the exit code tells.
          failed = true;
          process.stderr.write(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}; check the path\n`);
          continue;
        }
        const report = await parseReport(raw);
        if (o.json) printJson(parseLine(file, report));
        else process.stdout.write(`${summaryOf(file, report)}\n`);
      }
      if (failed) process.exitCode = 1;
    });

  bounces
    .command('accuracy <dir>')
    .description('measure the parser on a corpus directory with an expected.json')
    .option('--json', 'print JSON')
    .action(async (dir: string, o) => {
      const a = await measureAccuracy(dir);
      if (o.json) return printJson(a);
      const pct = (x: { right: number; of: number }): string => `${x.right}/${x.of} (${x.of === 0 ? 0 : Math.round((1000 * x.right) / x.of) / 10} %)`;
      process.stdout.write(`files ${a.files}\nrecipient found ${pct(a.recipientFound)}\nstatus found ${pct(a.statusFound)}\ncategory right ${pct(a.categoryRight)}\ntype right ${pct(a.typeRight)}\n`);
    });
}
