// `rebound sites`: the sites Rebound leaves alone for now, and an operator's suspend and resume
// (README "Traffic shaping"). main.ts passes its withClient, so errors print and exit as every
// command's do; the suspensions are read from and written to the client's PostgreSQL pool.
import type { Command } from 'commander';
import { ValidationError } from '../errors';
import type { SiteSuspension } from '../sites/contract';
import { activeSuspensions, resumeSite, suspendSite } from '../sites/store';
import type { WithClient } from './main';
import { printJson, table } from './output';

const asJson = (s: SiteSuspension) => ({ scope: s.scope, site: s.site, until: s.until.toISOString(), rule: s.rule, reply: s.reply, since: s.createdAt.toISOString() });

/** The table `rebound sites` prints. */
export function suspensionsTable(rows: SiteSuspension[]): string {
  if (rows.length === 0) return 'no site is suspended';
  return table([['SITE', 'UNTIL', 'RULE', 'REPLY'], ...rows.map((s) => [s.site, s.until.toISOString(), s.rule, s.reply ?? ''])]);
}

/** --minutes as a whole number of minutes, or a ValidationError naming the option. */
export function minutesOption(value: unknown): number {
  const n = Number(value);
  if (!(Number.isInteger(n) && n >= 1 && n <= 43_200)) throw new ValidationError('minutes', `must be a whole number of minutes from 1 to 43200 (30 days); got ${JSON.stringify(value)}`);
  return n;
}

export function addSiteCommands(program: Command, withClient: WithClient): void {
  const sites = program
    .command('sites')
    .description('suspended sites (a provider\'s MX hosts, or one MX host): until when, by which rule, after which reply')
    .option('--json', 'print JSON')
    .action(async (o) => {
      await withClient(!!o.json, async (client) => {
        const rows = await activeSuspensions(client.pool);
        if (o.json) return printJson(rows.map(asJson));
        process.stdout.write(`${suspensionsTable(rows)}\n`);
      });
    });
  // `rebound sites resume x --json`: commander gives --json to the parent command, which has it too.
  const json = (o: { json?: boolean }): boolean => !!(o.json || sites.opts().json);

  sites
    .command('suspend <site>')
    .description('suspend a site by hand: no connection to it until then, its recipients deferred')
    .requiredOption('--minutes <n>', 'how long, in minutes')
    .option('--note <text>', 'a note kept as the reply', 'suspended by an operator')
    .option('--json', 'print JSON')
    .action(async (site: string, o) => {
      await withClient(json(o), async (client) => {
        const s = await suspendSite(client.pool, { site, durationMs: minutesOption(o.minutes) * 60_000, rule: 'manual', reply: o.note });
        if (json(o)) return printJson(asJson(s));
        process.stdout.write(`site ${s.site} suspended until ${s.until.toISOString()} (${s.rule})\n`);
      });
    });

  sites
    .command('resume <site>')
    .description('lift a site\'s suspension now')
    .option('--json', 'print JSON')
    .action(async (site: string, o) => {
      await withClient(json(o), async (client) => {
        const resumed = await resumeSite(client.pool, site);
        if (json(o)) return printJson({ site, resumed });
        process.stdout.write(resumed ? `site ${site} resumed\n` : `site ${site} was not suspended\n`);
      });
    });
}
