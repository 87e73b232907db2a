// `rebound sites`: each site's state, limits, the suspensions with the reply that caused them and
// the queue of recipients deferred at it; an operator's suspend and resume (README "Traffic
// shaping", visibility). main.ts passes its withClient, so errors print and exit as every
// command's do; everything goes through the client's `sites` (src/client/sites.ts), as the API does.
import type { Command } from 'commander';
import { checkedMinutes } from '../client/sites';
import type { SiteLimits, SiteSuspension } from '../sites/contract';
import type { SitesView, SiteView } from '../sites/view';
import type { WithClient } from './main';
import { printJson, table } from './output';

/** Suspensions as a table (the direct demo prints the one it caused). */
export function suspensionsTable(rows: SiteSuspension[]): string {
  if (rows.length === 0) return 'no site is suspended';
  return table([['SITE', 'SCOPE', 'UNTIL', 'RULE', 'REPLY'], ...rows.map((s) => [s.site, s.scope, s.until.toISOString(), s.rule, s.reply ?? ''])]);
}

/** A site's limits in one cell: "conn 5→20, 100/conn, 600/min". */
export function limitsText(l: SiteLimits): string {
  return `conn ${l.initialConnections}→${l.connections}, ${l.messagesPerConnection}/conn, ${l.messagesPerMinute === null ? 'no rate cap' : `${l.messagesPerMinute}/min`}`;
}

const shortText = (text: string, max = 70) => (text.length > max ? `${text.slice(0, max - 3)}...` : text);

/** The lines `rebound sites` prints for one site. */
function siteLines(s: SiteView): string[] {
  const h = s.lastHour;
  const adjusted = limitsText(s.effectiveLimits) === limitsText(s.limits) ? '' : ` (now ${limitsText(s.effectiveLimits)})`;
  const lines = [
    `${s.site}  ${s.state.toUpperCase()}  ${limitsText(s.limits)}${adjusted}`,
    `  last hour: ${h.delivered} delivered, ${h.soft} deferred, ${h.hard} bounced, ${h.heldBack} held back${s.lastAttemptAt ? `; last attempt ${s.lastAttemptAt}` : ''}`,
  ];
  for (const x of s.suspensions) lines.push(`  suspended${x.scope === 'domain' ? ` (domain ${x.site})` : ''} until ${x.until} by ${x.rule}${x.reply ? `: ${shortText(x.reply)}` : ''}`);
  for (const a of s.adjustments) {
    const what = [a.connections === null ? null : `${a.connections} connections`, a.messagesPerMinute === null ? null : `${a.messagesPerMinute}/min`].filter(Boolean).join(', ');
    lines.push(`  throttled${a.scope === 'domain' ? ` (domain ${a.site})` : ''} to ${what} until ${a.until} by ${a.rule}${a.reply ? `: ${shortText(a.reply)}` : ''}`);
  }
  if (s.queue.total > 0) {
    lines.push(`  queue: ${s.queue.total} recipient${s.queue.total === 1 ? '' : 's'} deferred${s.queue.recipients.length < s.queue.total ? ` (the first ${s.queue.recipients.length})` : ''}`);
    const rows = s.queue.recipients.map((q) => [`    ${q.recipient}`, q.messageId, `attempt ${q.attempt}`, q.at, `${q.heldBack ? 'held: ' : ''}${shortText([q.reply.code, q.reply.enhanced, q.reply.text].filter((x) => x !== null && x !== '').join(' '), 60)}`]);
    lines.push(table(rows));
  }
  return lines;
}

/** What `rebound sites` prints without --json. */
export function sitesText(view: SitesView): string {
  const out: string[] = [];
  if (view.sites.length === 0) out.push('no site to show: none suspended, throttled or configured, and no attempt with a known site in the last 24 h');
  for (const s of view.sites) out.push(...siteLines(s));
  for (const x of view.unplaced.suspensions) out.push(`domain ${x.site} suspended until ${x.until} by ${x.rule}${x.reply ? `: ${shortText(x.reply)}` : ''} (its site not seen yet)`);
  for (const a of view.unplaced.adjustments) out.push(`domain ${a.site} throttled until ${a.until} by ${a.rule} (its site not seen yet)`);
  return out.join('\n');
}

/** --scope as given, checked by the SDK (a ValidationError naming `scope`). */
const scopeOption = (o: { scope?: string }) => o.scope as 'site' | 'domain' | undefined;

export function addSiteCommands(program: Command, withClient: WithClient): void {
  const sites = program
    .command('sites')
    .description('sites (a provider\'s MX hosts, or one MX host): state, limits, suspensions with the reply that caused them, the queue of deferred recipients')
    .option('--queue <n>', 'queued recipients listed per site', '20')
    .option('--json', 'print JSON')
    .action(async (o) => {
      await withClient(!!o.json, async (client) => {
        const view = await client.sites.list({ queueLimit: Number(o.queue) });
        if (o.json) return printJson(view);
        process.stdout.write(`${sitesText(view)}\n`);
      });
    });
  // `rebound sites resume x --json`: commander gives --json to the parent command, which has it too.
  const json = (o: { json?: boolean }): boolean => !!(o.json || sites.opts().json);

  sites
    .command('suspend <site>')
    .description('suspend a site (or with --scope domain, one recipient domain) by hand: no connection to it until then, its recipients deferred')
    .requiredOption('--minutes <n>', 'how long, in minutes (1 to 43200)')
    .option('--note <text>', 'a note kept as the reply', 'suspended by an operator')
    .option('--scope <scope>', 'site (the default) or domain', 'site')
    .option('--json', 'print JSON')
    .action(async (site: string, o) => {
      await withClient(json(o), async (client) => {
        const s = await client.sites.suspend(site, { minutes: checkedMinutes(o.minutes), note: o.note, scope: scopeOption(o) }, 'an operator (cli)');
        if (json(o)) return printJson(s);
        process.stdout.write(`${s.scope === 'domain' ? 'domain' : 'site'} ${s.site} suspended until ${s.until} (${s.rule})\n`);
      });
    });

  sites
    .command('resume <site>')
    .description('lift a site\'s (or with --scope domain, a domain\'s) suspension now')
    .option('--scope <scope>', 'site (the default) or domain', 'site')
    .option('--json', 'print JSON')
    .action(async (site: string, o) => {
      await withClient(json(o), async (client) => {
        const r = await client.sites.resume(site, { scope: scopeOption(o) });
        if (json(o)) return printJson(r);
        const what = `${r.scope === 'domain' ? 'domain' : 'site'} ${r.site}`;
        process.stdout.write(r.resumed ? `${what} resumed\n` : `${what} was not suspended\n`);
      });
    });
}
