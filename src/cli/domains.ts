// `rebound domains` and `rebound domain <domain>`: recipient-domain health over a window of
// whole hours (README "Domain health"). main.ts passes its withClient, so errors print as every
// command's do.
import { Option, type Command } from 'commander';
import { RETRYING_LIMIT, type Domains } from '../client/domains';
import { DOMAIN_SORTS, VERDICTS, type DomainDetail, type DomainHealth, type DomainSort, type Verdict } from '../domains/contract';
import { DEFAULT_LIST_LIMIT, DEFAULT_WINDOW } from '../domains/health';
import { printJson, table } from './output';

export type WithDomains = (json: boolean, fn: (c: { domains: Domains }) => Promise<void>) => Promise<void>;

const WINDOW_HELP = 'window of whole hours ending now: Nh or Nd, up to 30d (the current hour counts)';

const percent = (r: number): string => (r * 100).toFixed(2);
const shorten = (text: string, max: number): string => (text.length > max ? `${text.slice(0, max - 3)}...` : text);

function softCell(h: DomainHealth): string {
  const s = h.softBounces;
  return `${s.total} (${s.recipient}/${s.destination}/${s.sender}/${s.message})`;
}

/** The table `rebound domains` prints (the demo prints it too). */
export function listTable(rows: DomainHealth[]): string {
  if (rows.length === 0) return 'no attempts in this window';
  return table([
    ['DOMAIN', 'ATTEMPTS', 'SENDS', 'DELIVERED', 'SOFT (r/d/s/m)', 'HARD', 'EXPIRED', 'SOFT %', 'HARD %', 'VERDICT'],
    ...rows.map((h) => [
      h.domain,
      ...[h.attempts, h.sends, h.delivered].map(String),
      softCell(h),
      ...[h.hardBounces, h.expired].map(String),
      percent(h.softBounceRate),
      percent(h.hardBounceRate),
      h.verdict,
    ]),
  ]);
}

function detailText(d: DomainDetail): string {
  const s = d.softBounces;
  const lines = [
    `${d.domain} over ${d.window}: ${d.verdict} ` +
      `(soft ${percent(d.softBounceRate)} % of attempts: ${d.softVerdict}; hard ${percent(d.hardBounceRate)} % of sends: ${d.hardVerdict})`,
    `attempts ${d.attempts}  sends ${d.sends}  delivered ${d.delivered}  hard ${d.hardBounces}  expired ${d.expired}`,
    `soft ${s.total}: recipient ${s.recipient}, destination ${s.destination}, sender ${s.sender}, message ${s.message}`,
    '',
    d.topReplies.length === 0
      ? 'no bounces in this window'
      : table([
          ['COUNT', 'KIND', 'CATEGORY', 'SCOPE', 'CODE', 'SAMPLE'],
          ...d.topReplies.map((r) => [String(r.count), r.kind, r.category, r.scope, [r.code, r.enhanced].filter((c) => c !== null).join(' '), shorten(r.sample, 70)]),
        ]),
    '',
  ];
  if (d.retrying === null) lines.push(`messages retrying now: unknown (${d.retryingError})`);
  else if (d.retrying.length === 0) lines.push('messages retrying now: none');
  else lines.push(`messages retrying now (up to ${RETRYING_LIMIT}):`, table([['MESSAGE', 'WORKFLOW'], ...d.retrying.map((m) => [m.messageId, m.workflowId])]));
  return lines.join('\n');
}

export function addDomainCommands(program: Command, withClient: WithDomains): void {
  program
    .command('domains')
    .description('health of every recipient domain over a window: attempts, bounces by scope, rates and a verdict')
    .option('--window <window>', WINDOW_HELP, DEFAULT_WINDOW)
    .addOption(new Option('--sort <by>', 'rate: worst rate first; volume: most attempts first; domain: by name').choices([...DOMAIN_SORTS]).default('volume'))
    .option('--limit <n>', 'at most this many domains (1 to 10000)', String(DEFAULT_LIST_LIMIT))
    .addOption(new Option('--verdict <verdict>', 'only domains with this verdict').choices([...VERDICTS]))
    .option('--json', 'print JSON')
    .action(async (o) => {
      await withClient(!!o.json, async ({ domains }) => {
        const rows = await domains.list({ window: o.window, sort: o.sort as DomainSort, limit: Number(o.limit), verdict: o.verdict as Verdict | undefined });
        if (o.json) printJson(rows);
        else process.stdout.write(`${listTable(rows)}\n`);
      });
    });

  program
    .command('domain <domain>')
    .description('one recipient domain: its numbers, top bounce replies with their scope, the messages retrying now')
    .option('--window <window>', WINDOW_HELP, DEFAULT_WINDOW)
    .option('--json', 'print JSON')
    .action(async (domain: string, o) => {
      await withClient(!!o.json, async ({ domains }) => {
        const detail = await domains.get(domain, { window: o.window });
        if (o.json) printJson(detail);
        else process.stdout.write(`${detailText(detail)}\n`);
      });
    });
}
