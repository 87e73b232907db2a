// `rebound demo --direct` (README "Direct demo"): the local stack in direct mode against the
// demo's own DNS server and two MX hosts (src/dev/direct-network.ts). Messages to domains hosted
// at "Google" meet a rate limit: the MX answers `421 4.7.28`, the rule of the demo's
// configuration file (src/dev/direct-demo-config.ts) suspends site google for seconds, the
// held recipients are deferred without a connection while the other site's messages are
// delivered, and when the site reopens the held messages are delivered too. Each step is
// checked; the exit code says whether every one went as expected.
import { randomBytes } from 'node:crypto';
import type { ReboundClient } from '../client/rebound-client';
import { configDefault, type ReboundConfig } from '../config';
import { suspensionsTable } from '../cli/sites';
import { formatStatus, printJson, table } from '../cli/output';
import { FINAL_MESSAGE_STATES, type DeliveryStatus, type MessageState } from '../delivery/contract';
import { activeSuspensions, resumeSite } from '../sites/store';
import type { SiteSuspension } from '../sites/contract';
import type { DemoOptions } from './demo';
import { DEMO_RULE, DEMO_SUSPENSION_SECONDS, loadDirectDemoConfig } from './direct-demo-config';
import { DIRECT_DOMAINS, DIRECT_MX_HOSTS, startDirectNetwork, type DirectNetwork } from './direct-network';
import { startStack, untilSignal, type StackOptions } from './stack';

/**
 * The demo's addresses for its two MX hosts (any free port on them, or REBOUND_MX_PORT when set).
 * Loopback: nothing leaves the machine.
 */
export const DIRECT_DEMO_ADDRESSES = { google: '127.0.0.25', other: '127.0.0.26', dns: '127.0.0.1' } as const;

/** The Google-named MX takes this many recipients per window, then answers 421 4.7.28 until the window ends. */
export const DEMO_RATE_LIMIT = { after: 3, windowMs: 10_000 };

/** Messages to gmail.demo.rebound.test sent at once: two more than the window takes. */
const GOOGLE_BURST = DEMO_RATE_LIMIT.after + 2;

const DELAYS = ['2s', '4s', '8s'];
/** Long enough for the suspension, the spread after it and a retry. */
const DEADLINE = '2m';

export interface DirectCase {
  label: string;
  to: string;
  expected: MessageState;
  /** Which site the recipient's domain belongs to. */
  site: 'google' | 'other';
}

/** The first burst: to Gmail's MX, more than its window takes. */
export function googleBurst(tag: string): DirectCase[] {
  return Array.from({ length: GOOGLE_BURST }, (_, i) => ({ label: `gmail burst ${i + 1} of ${GOOGLE_BURST}`, to: `user${i + 1}+${tag}@${DIRECT_DOMAINS.gmail}`, expected: 'delivered' as const, site: 'google' as const }));
}

/** Sent while google is suspended: another Google-hosted domain (held too) and the other site (not slowed). */
export function duringSuspension(tag: string): DirectCase[] {
  return [
    { label: 'another domain at Google, sent while suspended', to: `carol+${tag}@${DIRECT_DOMAINS.workspace}`, expected: 'delivered', site: 'google' },
    { label: 'other site: accepted at once', to: `alice+${tag}@${DIRECT_DOMAINS.other}`, expected: 'delivered', site: 'other' },
    { label: 'other site: greylisted once, hint 2s', to: `greylist-2+${tag}@${DIRECT_DOMAINS.other}`, expected: 'delivered', site: 'other' },
    { label: 'other site: unknown user (hard)', to: `unknown+${tag}@${DIRECT_DOMAINS.other}`, expected: 'failed', site: 'other' },
  ];
}

interface Sent {
  c: DirectCase;
  id: string;
  status: DeliveryStatus | null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `check` gives a value, or null after `timeoutMs`. */
async function until<T>(check: () => Promise<T | null | undefined | false>, timeoutMs: number, everyMs = 250): Promise<T | null> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) return null;
    await sleep(everyMs);
  }
}

const isFinal = (s: DeliveryStatus | null) => !!s && FINAL_MESSAGE_STATES.includes(s.state);

async function refresh(client: ReboundClient, sent: Sent[]): Promise<void> {
  await Promise.all(sent.map(async (s) => (s.status = await client.status(s.id).catch(() => s.status))));
}

function render(sent: Sent[]): string {
  return table([
    ['MESSAGE', 'SITE', 'STATE', 'ATTEMPTS', 'LAST REPLY'],
    ...sent.map(({ c, status }) => {
      const r = status?.recipients[0];
      const reply = r?.lastReply ? [r.lastReply.code, r.lastReply.enhanced, r.lastReply.text].filter(Boolean).join(' ') : '';
      return [c.label, c.site === 'google' ? 'google' : DIRECT_MX_HOSTS.other, status?.state ?? 'starting', String(status?.attempts ?? 0), reply.length > 70 ? `${reply.slice(0, 67)}...` : reply];
    }),
  ]);
}

const googleSuspension = async (client: ReboundClient): Promise<SiteSuspension | null> => (await activeSuspensions(client.pool)).find((s) => s.site === 'google' && s.scope === 'site') ?? null;

/** What the run found, printed as JSON with --json; `mismatches` empty when every step went as expected. */
export interface DirectDemoResult {
  tag: string;
  dns: string;
  mxPort: number;
  reopening: 'expiry' | 'by-hand';
  suspension: { site: string; rule: string; reply: string | null; since: string; until: string; seconds: number };
  deferral: string | null;
  otherSiteFinishedWhileSuspended: boolean;
  googleMx: { refused: number; transactionsWhileSuspended: number };
  messages: { scenario: string; site: string; expected: MessageState; status: DeliveryStatus | null }[];
  mismatches: string[];
}

/** Where the demo runs; the integration test gives its own addresses and no Temporal UI. */
export interface DirectDemoPlace {
  addresses?: { google: string; other: string; dns: string };
  stack?: StackOptions;
  /** Where the running commentary goes; default stdout (nothing with --json). */
  write?: (text: string) => void;
}

/**
 * `base` is the configuration Rebound was started with: the stack's addresses, the database.
 * Its delivery settings and configuration file are the demo's own; its MX port is kept when it
 * is not the default 25 (both MX hosts listen on it), else the MX hosts take a free port.
 */
export async function runDirectDemo(base: ReboundConfig, opts: DemoOptions, place: DirectDemoPlace = {}): Promise<DirectDemoResult> {
  const out = place.write ?? ((text: string) => {
    if (!opts.json) process.stdout.write(text);
  });
  const addresses = place.addresses ?? DIRECT_DEMO_ADDRESSES;
  const explicitPort = base.mxPort === Number(configDefault('REBOUND_MX_PORT')) ? 0 : base.mxPort;
  const network: DirectNetwork = await startDirectNetwork({
    googleAddress: addresses.google,
    otherAddress: addresses.other,
    dnsHost: addresses.dns,
    port: explicitPort,
    rateLimit: DEMO_RATE_LIMIT,
  });
  let demo: ReturnType<typeof loadDirectDemoConfig> | null = null;
  try {
    demo = loadDirectDemoConfig(base, network.settings);
    const stack = await startStack(demo.config, place.stack);
    const client = stack.api.rebound;
    const mismatches: string[] = [];
    const expect = (ok: boolean, what: string) => {
      if (!ok) mismatches.push(what);
      return ok ? '' : '  <- unexpected';
    };
    try {
      // A suspension left by an earlier run (one stopped halfway) would hold this run's first burst.
      await resumeSite(client.pool, 'google');
      await resumeSite(client.pool, DIRECT_MX_HOSTS.other);
      const tag = randomBytes(3).toString('hex');
      const sent: Sent[] = [];
      const send = async (cases: DirectCase[]) => {
        const receipts = await Promise.all(
          cases.map((c, i) =>
            client.send({
              id: `demo-direct-${tag}-${sent.length + i + 1}`,
              from: 'Rebound Demo <demo@rebound.test>',
              to: [c.to],
              subject: `Rebound direct demo: ${c.label}`,
              text: `This message goes straight to the MX of ${c.to.split('@')[1]} (README "Direct demo").`,
              delays: DELAYS,
              deadline: DEADLINE,
            }),
          ),
        );
        sent.push(...cases.map((c, i) => ({ c, id: receipts[i].messageId, status: null })));
      };

      out(
        `Rebound direct demo: REBOUND_DELIVERY=direct, DNS ${network.dns.server} (REBOUND_DNS_SERVERS), MX port ${network.port}\n` +
          `  ${DIRECT_DOMAINS.gmail}, ${DIRECT_DOMAINS.workspace} -> ${DIRECT_MX_HOSTS.google} (${addresses.google}): site google; takes ${DEMO_RATE_LIMIT.after} recipients per ${DEMO_RATE_LIMIT.windowMs / 1000} s, then 421 4.7.28\n` +
          `  ${DIRECT_DOMAINS.other} -> ${DIRECT_MX_HOSTS.other} (${addresses.other}): a site of its own, the simulator's scenarios\n` +
          `  configuration file ${demo.file}: rule ${DEMO_RULE} suspends for ${DEMO_SUSPENSION_SECONDS} s${demo.reopening === 'by-hand' ? ' (this build\'s configuration file has no sites: section yet: the shipped rule applies, and the demo resumes the site by hand)' : ''}\n\n` +
          `1. ${GOOGLE_BURST} messages to ${DIRECT_DOMAINS.gmail} at once\n`,
      );
      await send(googleBurst(tag));
      const suspension = await until(() => googleSuspension(client), 30_000);
      out(`\n${suspension ? 'Site google is suspended' : 'Site google was not suspended within 30 s  <- unexpected'} (node bin/rebound.js sites):\n${suspensionsTable(suspension ? [suspension] : [])}\n`);
      if (!suspension) throw new Error('site google was not suspended by the 421 4.7.28 within 30 s: see the worker log above');
      const lengthSeconds = (suspension.until.getTime() - suspension.createdAt.getTime()) / 1000;
      const ruleApplied = Math.abs(lengthSeconds - DEMO_SUSPENSION_SECONDS) < 2;
      out(`  rule ${suspension.rule}, for ${lengthSeconds.toFixed(0)} s${demo.reopening === 'expiry' ? expect(ruleApplied && suspension.rule === DEMO_RULE, `the suspension lasts ${lengthSeconds.toFixed(0)} s, not the configuration file's ${DEMO_SUSPENSION_SECONDS} s`) : ' (the shipped rule)'}\n`);

      out(`\n2. While it is suspended: one more message to Google (${DIRECT_DOMAINS.workspace}), three to ${DIRECT_DOMAINS.other}\n`);
      const before = sent.length;
      await send(duringSuspension(tag));
      const held = sent[before];
      const others = sent.filter((s) => s.c.site === 'other');
      const deferral = await until(async () => {
        await refresh(client, [held]);
        const r = held.status?.recipients[0]?.lastReply;
        return r && /^site google suspended until /.test(r.text) ? r : null;
      }, 15_000);
      out(`  ${held.c.to} deferred without a connection: ${deferral ? `${deferral.category}/${deferral.scope}: ${deferral.text}` : 'no deferral within 15 s'}${expect(!!deferral, 'no deferral reason for a held recipient')}\n`);
      await until(async () => {
        await refresh(client, others);
        return others.every((s) => isFinal(s.status));
      }, 30_000);
      const stillSuspended = !!(await googleSuspension(client));
      // (a state other than the expected one is counted once, with the rest, below)
      for (const s of others) out(`  ${s.c.to}: ${s.status?.state ?? 'not final'} after ${s.status?.attempts ?? 0} attempt(s)${s.status?.state === s.c.expected ? '' : '  <- unexpected'}\n`);
      out(`  ${stillSuspended ? 'while google is still suspended: the other site is not slowed' : 'google had reopened by then'}\n`);

      const reopenAt = suspension.createdAt.getTime() + DEMO_SUSPENSION_SECONDS * 1000;
      if (demo.reopening === 'by-hand' || !ruleApplied) {
        // Without the configuration file's rule the suspension lasts the shipped hour: do what an
        // operator would (`rebound sites resume google`, then retry the held messages now).
        await sleep(Math.max(0, reopenAt - Date.now()));
        await resumeSite(client.pool, 'google');
        await refresh(client, sent);
        await Promise.all(sent.filter((s) => !isFinal(s.status)).map((s) => client.retryNow(s.id).catch(() => undefined)));
        out(`\n3. Resumed site google by hand after ${DEMO_SUSPENSION_SECONDS} s and retried the held messages now\n`);
      } else {
        out(`\n3. Waiting for the suspension to run out (${suspension.until.toISOString()}); the held messages come back spread over a few seconds after it\n`);
      }
      const allFinal = await until(async () => {
        await refresh(client, sent);
        return sent.every((s) => isFinal(s.status));
      }, 150_000, 500);
      const reopened = !(await googleSuspension(client));
      out(`  site google ${reopened ? 'reopened' : 'is still suspended'}${expect(reopened, 'site google did not reopen')}; ${allFinal ? 'every message is final' : 'not every message is final within 150 s'}${expect(!!allFinal, 'messages not final')}\n`);

      // What the Google-named MX saw: nothing from the suspension's start until it reopened.
      const since = suspension.createdAt.getTime() + 1_000;
      const duringHold = network.google.transactions().filter((t) => {
        const at = Date.parse(t.at);
        return at >= since && at < Math.min(reopenAt, suspension.until.getTime());
      });
      const refused = network.google.transactions().flatMap((t) => t.rcpt).filter((r) => r.reply.startsWith('421 4.7.28'));
      out(`  ${DIRECT_MX_HOSTS.google} refused ${refused.length} recipient(s) with 421 4.7.28 and saw ${duringHold.length} transaction(s) while suspended${expect(refused.length >= 1, 'the MX refused nobody') + expect(duringHold.length === 0, 'the MX was connected to while suspended')}\n`);

      out(`\n${render(sent)}\n`);
      for (const s of sent) {
        if (s.status?.state !== s.c.expected) mismatches.push(`${s.c.label}: ${s.status?.state ?? 'not final'}, expected ${s.c.expected}`);
      }
      const heldDelivered = sent.filter((s) => s.c.site === 'google' && (s.status?.recipients[0]?.attempts ?? 0) > 1 && s.status?.state === 'delivered').length;
      out(`\n${heldDelivered} held message(s) delivered after the site reopened${expect(heldDelivered >= 2, 'fewer than two held messages delivered after the reopening')}\n`);
      if (!opts.json) for (const s of sent.filter((x) => (x.status?.recipients[0]?.attempts ?? 0) > 1)) out(`\n${s.c.label} (expected ${s.c.expected})\n${formatStatus(s.status!)}\n`);
      out(`\nSummary: ${sent.length} messages; ${mismatches.length === 0 ? 'every step as expected' : `${mismatches.length} unexpected: ${mismatches.join('; ')}`}\n`);
      const result: DirectDemoResult = {
        tag,
        dns: network.dns.server,
        mxPort: network.port,
        reopening: demo.reopening,
        suspension: { site: suspension.site, rule: suspension.rule, reply: suspension.reply, since: suspension.createdAt.toISOString(), until: suspension.until.toISOString(), seconds: lengthSeconds },
        deferral: deferral?.text ?? null,
        otherSiteFinishedWhileSuspended: stillSuspended,
        googleMx: { refused: refused.length, transactionsWhileSuspended: duringHold.length },
        messages: sent.map((s) => ({ scenario: s.c.label, site: s.c.site, expected: s.c.expected, status: s.status })),
        mismatches,
      };
      if (opts.json) printJson(result);
      if (!opts.exit) {
        process.stderr.write(`\nThe stack stays up for inspection (HTTP API ${stack.api.url}, key ${stack.api.key}); Ctrl-C stops it.\n`);
        await untilSignal();
      }
      return result;
    } finally {
      await stack.stop();
    }
  } finally {
    demo?.remove();
    await network.close();
  }
}
