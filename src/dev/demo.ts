// `rebound demo`: starts the stack, sends one message per simulator scenario on a compressed
// schedule (seconds instead of hours), follows them live to the end and prints a summary.
import { randomBytes } from 'node:crypto';
import { ReboundClient } from '../client/rebound-client';
import { formatStatus, printJson, table } from '../cli/output';
import { FINAL_MESSAGE_STATES, type DeliveryStatus, type MessageState } from '../types';
import { startStack, untilSignal } from './stack';

interface DemoCase {
  label: string;
  to: string[];
  expected: MessageState;
}

/** Every simulator scenario once; the run tag keeps the simulator's per-address state fresh. */
export function demoCases(tag: string): DemoCase[] {
  const a = (local: string) => `${local}+${tag}@demo.rebound.test`;
  return [
    { label: 'accepted at once', to: [a('alice')], expected: 'delivered' },
    { label: 'greylisted once, hint 2s', to: [a('greylist-2')], expected: 'delivered' },
    { label: 'soft bounce twice, then accepted', to: [a('soft-2')], expected: 'delivered' },
    { label: 'mailbox full until the deadline', to: [a('full')], expected: 'failed' },
    { label: 'rate limited until the deadline', to: [a('ratelimit')], expected: 'failed' },
    { label: 'connection dropped until the deadline', to: [a('drop')], expected: 'failed' },
    { label: 'unknown user (hard)', to: [a('unknown')], expected: 'failed' },
    { label: 'message too large (hard)', to: [a('toolarge')], expected: 'failed' },
    { label: 'policy block (hard)', to: [a('blocked')], expected: 'failed' },
    { label: 'three recipients, three outcomes', to: [a('bob'), a('nouser'), a('mailbox-full')], expected: 'partially_delivered' },
    // Five separate sends to one always-full mailbox: the fifth soft bounce suppresses the
    // address, and the retrying messages end `suppressed` at their next attempt.
    ...[1, 2, 3, 4, 5].map((n) => ({ label: `repeat soft bounce, send ${n} of 5`, to: [`full+${tag}-repeat@demo.rebound.test`], expected: 'failed' as const })),
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

export async function runDemo(opts: DemoOptions): Promise<void> {
  const stack = await startStack();
  const client = await ReboundClient.connect(stack.config);
  let exitCode = 0;
  try {
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
      if (rows.every((r) => r.status && FINAL_MESSAGE_STATES.includes(r.status.state))) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    const mismatches = rows.filter((r) => r.status!.state !== r.c.expected);
    const uiLink = stack.server.uiUrl
      ? `${stack.server.uiUrl}/namespaces/${stack.config.temporalNamespace}/workflows?query=${encodeURIComponent(`WorkflowId STARTS_WITH "delivery:demo-${tag}"`)}`
      : null;
    if (opts.json) {
      printJson({ tag, uiLink, messages: rows.map((r) => ({ scenario: r.c.label, expected: r.c.expected, status: r.status })), mismatches: mismatches.length });
    } else {
      process.stdout.write(`\nAll ${rows.length} demo messages are final.\n`);
      for (const r of rows) process.stdout.write(`\n${r.c.label} (expected ${r.c.expected})\n${formatStatus(r.status!)}\n`);
      const counts = rows.reduce<Record<string, number>>((acc, r) => ({ ...acc, [r.status!.state]: (acc[r.status!.state] ?? 0) + 1 }), {});
      process.stdout.write(`\nSummary: ${Object.entries(counts).map(([s, n]) => `${n} ${s}`).join(', ')}; ${mismatches.length === 0 ? 'every outcome as expected' : `${mismatches.length} unexpected`}\n`);
      const repeat = rows.find((r) => r.c.label.startsWith('repeat'))!.c.to[0];
      const check = await client.suppressions.check(repeat);
      process.stdout.write(
        `\nReputation: ${repeat} is ${check.suppressed ? `suppressed (${check.reason}, ${check.source}) until ${check.until}` : 'not suppressed'}` +
          `\n  inspect: node bin/rebound.js address ${repeat}   lift: node bin/rebound.js suppressions lift ${repeat}\n`,
      );
      if (!check.suppressed) mismatches.push(rows[rows.length - 1]);
      if (uiLink) process.stdout.write(`Temporal UI: ${uiLink}\n`);
    }
    if (mismatches.length > 0) exitCode = 1;
    if (!opts.exit) {
      process.stderr.write('\nThe stack stays up for inspection; Ctrl-C stops it.\n');
      await untilSignal();
    }
  } finally {
    await client.close();
    await stack.stop();
  }
  process.exitCode = exitCode;
}
