// How the CLI prints: one JSON document with --json, a compact table otherwise.
import type { DeliveryStatus } from '../delivery/contract';
import { ValidationError } from '../errors';

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

export function table(rows: string[][]): string {
  if (rows.length === 0) return '';
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]))).join('  ')).join('\n');
}

function shortReply(s: DeliveryStatus['recipients'][number]): string {
  if (s.suppressionReason) return `suppressed: ${s.suppressionReason}`;
  const r = s.lastReply;
  if (!r) return '';
  const code = [r.code, r.enhanced].filter(Boolean).join(' ');
  const text = r.text.length > 60 ? `${r.text.slice(0, 57)}...` : r.text;
  return `${r.category}${r.scope ? `/${r.scope}` : ''}${code ? ` (${code})` : ''} ${text}`.trim();
}

/** Where the recipient's schedule came from; statuses of runs from before per-domain policies have none. */
function scheduleOf(r: DeliveryStatus['recipients'][number]): string {
  const sc = r.schedule as DeliveryStatus['recipients'][number]['schedule'] | undefined;
  if (!sc) return '';
  const origin = sc.source === 'domain' ? `domain ${sc.rule}` : sc.source;
  return `${sc.profile} (${origin})${r.nextAttemptAt ? ` next ${r.nextAttemptAt}` : ''}`;
}

export function formatStatus(s: DeliveryStatus): string {
  const head = [
    `message ${s.messageId}  ${s.state}  attempts ${s.attempts}  profile ${s.profile}`,
    `created ${s.createdAt}  deadline ${s.deadline}${s.nextAttemptAt ? `  next attempt ${s.nextAttemptAt}` : ''}`,
  ];
  const rows = [
    ['RECIPIENT', 'STATE', 'ATTEMPTS', 'SCHEDULE', 'LAST REPLY'],
    ...s.recipients.map((r) => [r.address, r.late ? `${r.state} (late)` : r.state, String(r.attempts), scheduleOf(r), shortReply(r)]),
  ];
  // What was heard after the 250 (README "Late outcomes"), one line each.
  const late = s.recipients.flatMap((r) =>
    (r.lateOutcomes ?? []).map((o) => `  ${o.at}  ${r.address}  ${o.kind} via ${o.source}${o.reply ? `: ${[o.reply.code, o.reply.enhanced].filter(Boolean).join(' ')} ${o.reply.category}` : ''}${o.feedbackType ? ` (${o.feedbackType})` : ''}`),
  );
  return `${head.join('\n')}\n${table(rows)}${late.length > 0 ? `\nheard after the 250:\n${late.join('\n')}` : ''}`;
}

/** A command's exit status for a failure: 2 for input the caller must fix, 1 for anything else. */
export function exitCodeFor(err: unknown): 1 | 2 {
  return err instanceof ValidationError ? 2 : 1;
}

/** Reports a failure the way every command does: JSON on stdout with --json, text on stderr. */
export function reportFailure(err: unknown, json: boolean): void {
  const e = err as Error & { field?: string };
  if (json) printJson({ error: e.message, ...(e.field ? { field: e.field } : {}) });
  else process.stderr.write(`error: ${e.message}\n`);
}
