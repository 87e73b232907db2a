// `rebound demo`: starts the stack, sends one message per simulator scenario on a compressed
// schedule (seconds instead of hours), follows them live to the end and prints a summary.
import { randomBytes } from 'node:crypto';
import type { ReboundClient } from '../client/rebound-client';
import { listTable } from '../cli/domains';
import type { ReboundConfig } from '../config';
import { formatStatus, printJson, table } from '../cli/output';
import { FINAL_MESSAGE_STATES, type DeliveryStatus, type LateOutcomeKind, type MessageState } from '../delivery/contract';
import { type SuppressionStatus } from '../reputation/contract';
import type { DevApi } from './api';
import { startStack, untilSignal } from './stack';
import { startWebhookReceiver, type ReceivedEvent, type WebhookReceiver } from './webhook-receiver';

interface DemoCase {
  label: string;
  to: string[];
  expected: MessageState;
  /** What the simulator mails back after its 250 (README "Late outcomes"): the demo waits until it was heard. */
  late?: Extract<LateOutcomeKind, 'bounced' | 'complained'>;
}

/** Each scenario's recipients live at a domain of their own, so the health table tells them apart. */
const DOMAINS = {
  inbox: 'inbox.demo.rebound.test',
  full: 'full.demo.rebound.test',
  throttled: 'throttled.demo.rebound.test',
  flaky: 'flaky.demo.rebound.test',
  gone: 'gone.demo.rebound.test',
} as const;

/** Addresses the demo sends to five times, and whether the address must end suppressed. */
export function repeatedAddresses(tag: string): { label: string; address: string; suppressed: boolean }[] {
  return [
    { label: 'full mailbox', address: `full+${tag}-repeat@${DOMAINS.full}`, suppressed: true },
    { label: 'sender rate limit (421 4.7.28)', address: `ratelimit-ip+${tag}-repeat@${DOMAINS.throttled}`, suppressed: false },
    { label: 'connection dropped (an outage)', address: `drop+${tag}-repeat@${DOMAINS.flaky}`, suppressed: false },
  ];
}

/** Every simulator scenario once; the run tag keeps the simulator's per-address state fresh. */
export function demoCases(tag: string): DemoCase[] {
  const a = (local: string, domain: string = DOMAINS.inbox) => `${local}+${tag}@${domain}`;
  return [
    { label: 'accepted at once', to: [a('alice')], expected: 'delivered' },
    { label: 'greylisted once, hint 2s', to: [a('greylist-2')], expected: 'delivered' },
    { label: 'soft bounce twice, then accepted', to: [a('soft-2')], expected: 'delivered' },
    { label: 'mailbox full until the deadline', to: [a('full', DOMAINS.full)], expected: 'failed' },
    { label: 'rate limited until the deadline', to: [a('ratelimit', DOMAINS.throttled)], expected: 'failed' },
    { label: 'connection dropped until the deadline', to: [a('drop', DOMAINS.flaky)], expected: 'failed' },
    { label: 'unknown user (hard)', to: [a('unknown', DOMAINS.gone)], expected: 'failed' },
    { label: 'message too large (hard)', to: [a('toolarge')], expected: 'failed' },
    { label: 'policy block (hard)', to: [a('blocked')], expected: 'failed' },
    { label: 'three recipients, three outcomes', to: [a('bob'), a('nouser', DOMAINS.gone), a('mailbox-full', DOMAINS.full)], expected: 'partially_delivered' },
    // Accepted with a 250, then the simulator mails a DSN to the return path, or a complaint to
    // its domain's feedback address: heard by the inbound listener (README "Late outcomes").
    { label: 'accepted, then bounced later (a DSN)', to: [a('bouncelater-2')], expected: 'failed', late: 'bounced' },
    { label: 'accepted, then a complaint (ARF)', to: [a('complain-2')], expected: 'delivered', late: 'complained' },
    // Five separate sends to each repeated address: the five that expire on a full mailbox
    // suppress it; five rate-limited or cut off by the network blame nobody.
    ...repeatedAddresses(tag).flatMap(({ label, address }) =>
      [1, 2, 3, 4, 5].map((n) => ({ label: `repeat ${label}, send ${n} of 5`, to: [address], expected: 'failed' as const })),
    ),
  ];
}

const DEMO_DELAYS = ['2s', '4s', '8s'];
const DEMO_DEADLINE = '30s';

export interface DemoOptions {
  exit: boolean;
  json: boolean;
}

function render(rows: { c: DemoCase; status: DeliveryStatus | null }[]): string {
  return table([
    ['SCENARIO', 'STATE', 'ATTEMPTS', 'RECIPIENTS'],
    ...rows.map(({ c, status }) => [
      c.label,
      status?.state ?? 'starting',
      String(status?.attempts ?? 0),
      status ? status.recipients.map((r) => `${r.address.split('+')[0]}:${r.state}${r.lastReply && r.lastReply.kind !== 'delivered' ? `(${r.lastReply.category})` : ''}`).join(' ') : '',
    ]),
  ]);
}

/**
 * The suppression list entry of an address, given a few seconds to show what is expected: the
 * last expiry reaches the reputation workflow as the message ends, and its write follows.
 */
async function settledCheck(client: ReboundClient, address: string, expected: boolean): Promise<SuppressionStatus> {
  const until = Date.now() + 10_000;
  for (;;) {
    const check = await client.suppressions.check(address);
    if (check.suppressed === expected || Date.now() > until) return check;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The health of the demo's domains, as `rebound domains` prints it. */
async function domainTable(client: ReboundClient): Promise<string> {
  const demo = new Set<string>(Object.values(DOMAINS));
  return listTable((await client.domains.list({ window: '24h', limit: 10_000 })).filter((d) => demo.has(d.domain)));
}

/** A message's state as the HTTP API reports it to a caller holding the development key. */
async function statusOverHttp(api: DevApi, messageId: string): Promise<{ status: number; state: string | null }> {
  const res = await fetch(`${api.url}/v1/messages/${encodeURIComponent(messageId)}`, { headers: { authorization: `Bearer ${api.key}` } });
  const body = (await res.json().catch(() => null)) as { state?: string } | null;
  return { status: res.status, state: body?.state ?? null };
}

/** The events a recipient's outcome ends with: one of these per recipient (late ones come on top). */
const FINAL_EVENTS = ['message.delivered', 'message.bounced', 'message.expired', 'message.suppressed', 'message.cancelled'];
const DEMO_EVENTS = [...FINAL_EVENTS, 'message.deferred', 'message.complained', 'address.suppressed', 'address.lifted'];
const isFinalEvent = (e: ReceivedEvent) => FINAL_EVENTS.includes(e.type) && e.data.late !== true;
const isLateEvent = (e: ReceivedEvent) => e.data.late === true;

/** Whether a case's late report has been heard (or it expects none). */
const lateHeard = (c: DemoCase, status: DeliveryStatus | null): boolean => !c.late || (status?.recipients[0]?.lateOutcomes ?? []).some((o) => o.kind === c.late);

/** Registers the demo's receiver over the HTTP API, as a service would, and gives it the secret. */
async function registerReceiver(api: DevApi, receiver: WebhookReceiver): Promise<void> {
  const res = await fetch(`${api.url}/v1/webhooks`, {
    method: 'POST',
    headers: { authorization: `Bearer ${api.key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ url: receiver.url, events: DEMO_EVENTS }),
  });
  const body = (await res.json()) as { secret?: string; detail?: string };
  if (res.status !== 201 || !body.secret) throw new Error(`the demo could not register its webhook receiver: ${res.status} ${body.detail ?? ''}`);
  receiver.useSecret(body.secret);
}

/** Waits (bounded) until every recipient's final event has arrived; the events are delivered after the outcome, durably. */
async function settledEvents(receiver: WebhookReceiver, messageIds: Set<string>, recipients: number, lateOutcomes: number): Promise<ReceivedEvent[]> {
  const until = Date.now() + 30_000;
  const mine = () => receiver.events().filter((e) => messageIds.has(String(e.data.messageId)) || e.type.startsWith('address.'));
  const settled = () => mine().filter(isFinalEvent).length >= recipients && mine().filter(isLateEvent).length >= lateOutcomes;
  while (!settled() && Date.now() < until) await new Promise((r) => setTimeout(r, 250));
  return mine();
}

export async function runDemo(config: ReboundConfig, opts: DemoOptions): Promise<void> {
  const stack = await startStack(config);
  // The stack's API already holds a connected client: the demo uses it rather than a second one.
  const client = stack.api.rebound;
  const receiver = await startWebhookReceiver();
  let exitCode = 0;
  try {
    await registerReceiver(stack.api, receiver);
    const tag = randomBytes(3).toString('hex');
    const cases = demoCases(tag);
    const ids: string[] = [];
    for (const [i, c] of cases.entries()) {
      const receipt = await client.send({
        id: `demo-${tag}-${i + 1}`,
        from: 'Rebound Demo <demo@rebound.test>',
        to: c.to,
        subject: `Rebound demo: ${c.label}`,
        text: `This message exercises the "${c.label}" scenario of the bounce simulator.`,
        delays: DEMO_DELAYS,
        deadline: DEMO_DEADLINE,
      });
      ids.push(receipt.messageId);
    }
    const rows: { c: DemoCase; status: DeliveryStatus | null }[] = cases.map((c) => ({ c, status: null }));
    const live = process.stdout.isTTY && !opts.json;
    let lastPrinted = '';
    for (;;) {
      await Promise.all(
        ids.map(async (id, i) => {
          rows[i].status = await client.status(id).catch(() => rows[i].status);
        }),
      );
      const view = render(rows);
      if (!opts.json && view !== lastPrinted) {
        if (live) process.stdout.write(`\x1b[2J\x1b[H${new Date().toISOString()}  Rebound demo (delays ${DEMO_DELAYS.join(',')}, deadline ${DEMO_DEADLINE})\n\n${view}\n`);
        else process.stdout.write(`\n${view}\n`);
        lastPrinted = view;
      }
      if (rows.every((r) => r.status && FINAL_MESSAGE_STATES.includes(r.status.state) && lateHeard(r.c, r.status))) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    const mismatches = rows.filter((r) => r.status!.state !== r.c.expected);
    const uiLink = stack.server.uiUrl
      ? `${stack.server.uiUrl}/namespaces/${stack.config.temporalNamespace}/workflows?query=${encodeURIComponent(`WorkflowId STARTS_WITH "delivery:demo-${tag}"`)}`
      : null;
    // The same answer over the HTTP API, with the development key: what a service in any language sees.
    const overHttp = await statusOverHttp(stack.api, ids[0]);
    const httpAgrees = overHttp.status === 200 && overHttp.state === rows[0].status!.state;
    if (!httpAgrees) mismatches.push(rows[0]);
    const recipientCount = cases.reduce((n, c) => n + c.to.length, 0);
    const lateCases = rows.filter((r) => r.c.late);
    const events = await settledEvents(receiver, new Set(ids), recipientCount, lateCases.length);
    const finalEvents = events.filter(isFinalEvent).length;
    const lateEvents = events.filter(isLateEvent);
    const eventsComplete = finalEvents === recipientCount && lateEvents.length === lateCases.length && receiver.rejected() === 0;
    if (!eventsComplete) mismatches.push(rows[0]);
    const eventCounts = events.reduce<Record<string, number>>((acc, e) => ({ ...acc, [e.type]: (acc[e.type] ?? 0) + 1 }), {});
    if (opts.json) {
      printJson({ tag, uiLink, dashboard: `${stack.api.url}/ui`, api: { url: stack.api.url, checked: { messageId: ids[0], ...overHttp } }, webhooks: { url: receiver.url, events: eventCounts, finalEvents, lateEvents: lateEvents.length, recipients: recipientCount, rejected: receiver.rejected() }, messages: rows.map((r) => ({ scenario: r.c.label, expected: r.c.expected, status: r.status })), mismatches: mismatches.length });
    } else {
      process.stdout.write(`\nAll ${rows.length} demo messages are final.\n`);
      for (const r of rows) process.stdout.write(`\n${r.c.label} (expected ${r.c.expected})\n${formatStatus(r.status!)}\n`);
      const counts = rows.reduce<Record<string, number>>((acc, r) => ({ ...acc, [r.status!.state]: (acc[r.status!.state] ?? 0) + 1 }), {});
      process.stdout.write(`\nSummary: ${Object.entries(counts).map(([s, n]) => `${n} ${s}`).join(', ')}; ${mismatches.length === 0 ? 'every outcome as expected' : `${mismatches.length} unexpected`}\n`);
      process.stdout.write('\nReputation: only what the address did counts against it\n');
      for (const repeat of repeatedAddresses(tag)) {
        const check = await settledCheck(client, repeat.address, repeat.suppressed);
        process.stdout.write(`  ${repeat.label}: ${repeat.address} is ${check.suppressed ? `suppressed (${check.reason}) until ${check.until}` : 'not suppressed'}${check.suppressed === repeat.suppressed ? '' : '  <- unexpected'}\n`);
        if (check.suppressed !== repeat.suppressed) mismatches.push(rows[rows.length - 1]);
      }
      process.stdout.write(`  inspect: node bin/rebound.js address ${repeatedAddresses(tag)[0].address}\n`);
      process.stdout.write('\nLate outcomes: heard after the relay\'s 250, by the inbound listener\n');
      for (const r of lateCases) {
        const recipient = r.status!.recipients[0];
        const heard = (recipient.lateOutcomes ?? []).find((o) => o.kind === r.c.late)!;
        const check = await settledCheck(client, recipient.address, true);
        const reply = heard.reply ? `${[heard.reply.code, heard.reply.enhanced].filter(Boolean).join(' ')} ${heard.reply.category}` : heard.feedbackType ?? 'complaint';
        process.stdout.write(`  ${r.c.label}: ${recipient.address} ${heard.kind} via ${heard.source} (${reply}); now ${recipient.state}${recipient.late ? ' (late)' : ''}, ${check.suppressed ? `suppressed (${check.reason})` : 'not suppressed  <- unexpected'}\n`);
        if (!check.suppressed) mismatches.push(r);
      }
      process.stdout.write(`\nDomain health, last 24 hours (node bin/rebound.js domains):\n${await domainTable(client)}\n`);
      process.stdout.write(
        `\nHTTP API: ${stack.api.url} (docs at ${stack.api.url}/docs)\n` +
          `  development key (scope admin, revoked when this stack stops): ${stack.api.key}\n` +
          `  curl -H "Authorization: Bearer $KEY" ${stack.api.url}/v1/messages/${ids[0]}  -> ${overHttp.status} ${overHttp.state ?? ''}${httpAgrees ? ', as the SDK says' : '  <- unexpected'}\n`,
      );
      process.stdout.write(`Dashboard: ${stack.api.url}/ui (enter the development key)\n`);
      process.stdout.write(
        `\nWebhooks: the demo's receiver (${receiver.url}) verified ${events.length} signed events: ` +
          `${Object.entries(eventCounts).sort().map(([t, n]) => `${n} ${t}`).join(', ')}; ` +
          `${finalEvents} of ${recipientCount} recipients' outcomes and ${lateEvents.length} of ${lateCases.length} late ones${eventsComplete ? ', every one' : '  <- unexpected'}${receiver.rejected() > 0 ? `, ${receiver.rejected()} refused  <- unexpected` : ''}\n`,
      );
      if (uiLink) process.stdout.write(`Temporal UI: ${uiLink}\n`);
    }
    if (mismatches.length > 0) exitCode = 1;
    if (!opts.exit) {
      process.stderr.write('\nThe stack stays up for inspection; Ctrl-C stops it.\n');
      await untilSignal();
    }
  } finally {
    await receiver.close();
    await stack.stop();
  }
  process.exitCode = exitCode;
}
