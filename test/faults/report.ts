// What the suite prints: the faults as injected, the table faults x outcomes, the worst holds
// with the fault charged for each, every loss, duplicate and wrong state, and one last line
// that says it all. The JSON form carries the same and every message's verdict.
import { HOLD_LIMIT_MS, type Verdict } from './count';
import { surfacesLine, type SurfaceVerdict } from './count-surfaces';
import type { FaultKind, FaultRecord } from './inject';

export interface RunInfo {
  seed: number;
  quick: boolean;
  workers: number;
  deadline: string;
  delays: string[];
  windowMs: number;
  startedAt: number;
  trafficStartedAt: number;
  finishedAt: number;
  /** Why some faults could not run (no private cluster), or null. */
  skipped: string | null;
  unexpectedWorkerExits: { slot: number; pid: number; at: number; code: number | null; signal: string | null }[];
  tempDir: string | null;
}

const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function table(head: string[], rows: (string | number)[][]): string {
  const cells = [head, ...rows.map((r) => r.map(String))];
  const widths = head.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return cells.map(line).join('\n');
}

export function lastLine(v: Verdict, sv?: SurfaceVerdict): string {
  const window = v.duplicatesInWindow > 0 ? `, ${v.duplicatesInWindow} duplicated in the stated window` : '';
  return `faults: ${v.injected} injected; ${v.total} messages: ${v.lostMessages} lost, ${v.duplicatedMessages} duplicated, ${v.heldMessages} held over ${HOLD_LIMIT_MS / 1000} s, ${v.finalRight}/${v.total} final states right${window}${sv ? surfacesLine(sv) : ''}`;
}

/** The table's last column: what the row's fault did to the surface it reaches. */
function surfaceCell(kind: FaultKind | 'no fault', sv: SurfaceVerdict): string {
  if (kind === 'kill-api' && sv.api) return `${sv.api.messages} posted: ${sv.api.lost} lost, ${sv.api.doubled} dup (${sv.api.repostedAfterError} reposted, ${sv.api.answered200} got 200)`;
  if (kind === 'webhook-down' && sv.webhooks) return `${sv.webhooks.events} events: ${sv.webhooks.lost} lost, ${sv.webhooks.doubled} twice (${sv.webhooks.afterOutage} after the outage, ${sv.webhooks.redelivered} redelivered)`;
  if (kind === 'inbound-db-down' && sv.reports) return `${sv.reports.reports} reports: ${sv.reports.lost} lost, ${sv.reports.doubled} twice (${sv.reports.answered451} got 451)`;
  if (kind === 'pause-worker-suspended' && sv.suspended) return `${sv.suspended.deliveredWhileSuspended} delivered while suspended (${sv.suspended.held} held)`;
  return '-';
}

export function renderReport(v: Verdict, sv: SurfaceVerdict, faults: FaultRecord[], info: RunInfo): string {
  const at = (t: number) => `+${((t - info.trafficStartedAt) / 1000).toFixed(1)} s`;
  const out: string[] = [];
  out.push(`seed ${info.seed}${info.quick ? ' (quick)' : ''}; ${info.workers} workers; schedule ${info.delays.join(', ')}, deadline ${info.deadline}; run ${s(info.finishedAt - info.startedAt)}`);
  if (info.skipped) out.push(`skipped: ${info.skipped}`);
  out.push('', 'faults (times from the start of the traffic):');
  for (const f of faults) {
    const pf = v.perFault.find((p) => p.id === f.id);
    const probe = f.probe ? `; probe ${f.probe} ${pf?.probeHit ? 'hit inside its SMTP transaction' : 'NOT hit inside its SMTP transaction'}` : '';
    out.push(`  #${String(f.id).padEnd(2)} ${f.kind.padEnd(16)} ${at(f.startedAt).padStart(9)} .. ${at(f.endedAt).padStart(9)}  ${f.detail}; ${pf?.inFlight ?? 0} in flight${probe}`);
  }
  out.push('');
  out.push(
    table(
      ['fault', 'injected', 'in flight', 'lost', 'duplicated', 'in window', `held > ${HOLD_LIMIT_MS / 1000} s`, 'max hold', 'its surface'],
      v.rows
        .filter((r) => r.injected > 0 || r.kind === 'no fault')
        .map((r) => [r.kind, r.kind === 'no fault' ? '-' : r.injected, r.inFlight, r.lost, r.duplicated, r.duplicatedInWindow, r.held, s(r.maxHoldMs), surfaceCell(r.kind, sv)]),
    ),
  );
  out.push(`  (lost and duplicated: messages, counted at the sink; its surface: the API's posts, the webhook outbox's events at the receiver, the inbound listener's reports, the suspended site's transactions)`);
  out.push(`  (a message's hold: its life beyond its own schedule plus the time faults were active during it; charged to the fault nearest the start of its longest silence)`);

  const held = v.messages.filter((m) => m.submitted).sort((a, b) => b.holdMs - a.holdMs).slice(0, 8).filter((m) => m.holdMs >= 1000);
  if (held.length > 0) {
    out.push('', 'worst holds:');
    for (const m of held) {
      const cause = faults.find((f) => f.id === m.holdCause);
      out.push(
        `  ${m.id} (${m.mix}): hold ${s(m.holdMs)}${m.final ? '' : ' so far, NOT FINAL'}; life ${s(m.lifeMs ?? 0)} = schedule ${s(m.naturalMs)} + faults ${s(m.faultMs)} + ${s(m.holdMs)}; ` +
          (cause ? `charged to #${cause.id} ${cause.kind} at ${at(cause.startedAt)}` : 'no fault overlapped it') +
          (m.silence && m.silence.struck.length > 0 ? ` (its longest silence, ${s(m.silence.ms)}, also saw ${m.silence.struck.map((id) => `#${id} ${faults.find((f) => f.id === id)!.kind}`).join(', ')})` : ''),
      );
    }
  }
  const problems: string[] = [];
  for (const m of v.messages) {
    for (const r of m.recipients) {
      if (r.lost) {
        // The sink keeps greylist and soft-K state in memory: each relay restart starts it over.
        const stateful = /^(soft|greylist)-/.test(r.address) && m.sinkRestarts > 0 ? ` (the sink restarted ${m.sinkRestarts} time(s) during its life and forgot its ${r.address.split('+')[0]} state each time: check its attempts)` : '';
        problems.push(`  LOST ${m.id} ${r.address}: final (${m.dbState}) but never accepted by the peer${stateful}`);
      }
      if (r.duplicate) {
        const where = r.duplicate.inWindow ? `in the stated window (worker ${r.duplicate.silenced!.how} ${r.duplicate.silenced!.at - r.acceptedAt[0]!} ms after the first 250)` : 'OUTSIDE the stated window';
        const cause = faults.find((f) => f.id === r.duplicate!.cause);
        problems.push(`  ${r.duplicate.inWindow ? 'duplicate' : 'DUPLICATE'} ${m.id} ${r.address}: accepted ${r.duplicate.copies} times, ${where}; nearest fault ${cause ? `#${cause.id} ${cause.kind} at ${at(cause.startedAt)}` : 'none'}; copies at ${r.acceptedAt.map(at).join(', ')}`);
      }
      if (r.acceptedWrongly) problems.push(`  ACCEPTED ${m.id} ${r.address}: must end ${r.expect} but the peer accepted it ${r.accepted} time(s)`);
    }
    if (!m.stateRight) problems.push(`  STATE ${m.id} (${m.mix}): ${m.stateProblems.join('; ')}`);
  }
  for (const id of sv.webhooks?.lostIds.slice(0, 20) ?? []) problems.push(`  LOST webhook event ${id}: in the outbox, never processed by the receiver`);
  for (const id of sv.webhooks?.doubledIds.slice(0, 20) ?? []) problems.push(`  DOUBLED webhook event ${id}: processed twice, or another id told the same fact`);
  if (sv.webhooks && sv.webhooks.rejected > 0) problems.push(`  ${sv.webhooks.rejected} webhook requests failed signature verification`);
  if (sv.webhooks && sv.webhooks.events === 0) problems.push('  no webhook event was written: the receiver proved nothing');
  for (const p of sv.reports?.problems ?? []) problems.push(`  ${p}`);
  for (const p of sv.reports?.missedOutage ?? []) problems.push(`  (report not answered 451: ${p})`);
  for (const p of sv.suspended?.problems ?? []) problems.push(`  ${p}`);
  if (v.foreignAcceptances > 0) problems.push(`  ${v.foreignAcceptances} accepted transactions carried a Message-ID the suite never sent`);
  if (problems.length > 0) {
    out.push('', `problems (${problems.length}):`);
    out.push(...problems.slice(0, 60));
    if (problems.length > 60) out.push(`  ... and ${problems.length - 60} more (see --json)`);
  }
  if (info.unexpectedWorkerExits.length > 0) {
    out.push('', 'workers that exited without being killed (restarted):');
    for (const e of info.unexpectedWorkerExits) out.push(`  worker ${e.slot + 1} pid ${e.pid} at ${at(e.at)}: code ${e.code}, signal ${e.signal}`);
  }
  out.push('', lastLine(v, sv));
  return out.join('\n');
}

export function jsonReport(v: Verdict, sv: SurfaceVerdict, faults: FaultRecord[], info: RunInfo): object {
  return {
    ok: v.ok && sv.ok,
    summary: lastLine(v, sv),
    surfaces: sv,
    seed: info.seed,
    quick: info.quick,
    workers: info.workers,
    schedule: { delays: info.delays, deadline: info.deadline },
    holdLimitMs: HOLD_LIMIT_MS,
    windowMs: info.windowMs,
    durationMs: info.finishedAt - info.startedAt,
    skipped: info.skipped,
    injected: v.injected,
    messages: v.total,
    lost: v.lostMessages,
    lostRecipients: v.lostRecipients,
    duplicated: v.duplicatedMessages,
    duplicatedRecipients: v.duplicatedRecipients,
    duplicatedInWindow: v.duplicatesInWindow,
    acceptedWrongly: v.acceptedWrongly,
    held: v.heldMessages,
    finalStatesRight: v.finalRight,
    notSubmitted: v.notSubmitted,
    notFinal: v.notFinal,
    foreignAcceptances: v.foreignAcceptances,
    table: v.rows,
    faults: faults.map((f) => ({ ...f, ...v.perFault.find((p) => p.id === f.id), startedOffsetMs: f.startedAt - info.trafficStartedAt, endedOffsetMs: f.endedAt - info.trafficStartedAt })),
    unexpectedWorkerExits: info.unexpectedWorkerExits,
    verdicts: v.messages,
  };
}
