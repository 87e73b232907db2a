// What the run proved: every recipient counted at the receiving server, every final state read
// back from the database and the status query, every message's delay weighed against its own
// schedule and the faults it lived through. Pure: the observations in, the verdicts out. Its
// length is the rules below, kept together because each verdict uses all of them.
//
// The rules:
// - Lost: a recipient that must be delivered, whose message is final, never accepted by the
//   peer. Duplicated: a recipient accepted more than once. Accepted wrongly: a recipient that
//   must bounce or expire, accepted at all.
// - The stated window: SMTP cannot close the gap between the server's final 250 and the send
//   activity recording it, so a worker killed inside that gap resends. A duplicate counts as
//   "in the stated window" when a worker was killed with -9, or paused past its heartbeat
//   timeout, between its first acceptance (less
//   the time the sink's log line takes to arrive) and `windowMs` after it, and the second copy
//   came after that kill. Any other duplicate is a failure.
// - Held: a message whose life (submitted to final) is more than HOLD_LIMIT_MS longer than its
//   own schedule needs without faults plus the time faults were actually active during its
//   life. Adding the faults' time (rather than measuring from the end of the last one) keeps a
//   message stuck for minutes from hiding behind the faults that happened to follow while it
//   was stuck. A message not final when the run ended is held by at least its time so far.
// - Attribution: a held message is charged to the fault nearest to the start of its longest
//   silence (no SMTP transaction, no attempt row); a loss to the fault nearest its last
//   transaction; a duplicate to the fault nearest its first acceptance. Only faults that
//   overlapped the message's life are candidates; a message no fault overlapped is "no fault".
import type { DeliveryStatus, MessageState } from '../../src/delivery/contract';
import { FINAL_MESSAGE_STATES } from '../../src/delivery/contract';
import { FAULT_KINDS, type FaultKind, type FaultRecord } from './inject';
import type { PeerTransaction } from './peer';
import type { PlannedMessage, RecipientOutcome } from './traffic';

export const HOLD_LIMIT_MS = 60_000;
/** How far the sink's log line may trail the 250 it logs: the kill may come before we read it. */
const LOG_LAG_MS = 250;

export interface DbSnapshot {
  messages: Map<string, { state: MessageState; finishedAt: number | null; header: string }>;
  /** `${messageId} ${recipient}` keys. */
  accepted: Set<string>;
  expired: Set<string>;
  hardBounced: Set<string>;
  /** Attempt rows per message: when each was recorded. */
  attemptTimes: Map<string, number[]>;
}

export interface Observations {
  messages: PlannedMessage[];
  faults: FaultRecord[];
  transactions: PeerTransaction[];
  db: DbSnapshot;
  status: Map<string, DeliveryStatus | { error: string }>;
  /** When observation stopped: the end of life of a message still open. */
  endedAt: number;
  windowMs: number;
}

export interface RecipientVerdict {
  address: string;
  expect: RecipientOutcome;
  accepted: number;
  acceptedAt: number[];
  dbState: RecipientOutcome | 'open';
  workflowState: string | null;
  lost: boolean;
  acceptedWrongly: boolean;
  duplicate: null | { copies: number; inWindow: boolean; silenced: { at: number; how: 'killed' | 'paused' } | null; cause: number | null };
  lostCause: number | null;
}

export interface MessageVerdict {
  id: string;
  mix: string;
  probe: boolean;
  submitted: boolean;
  submittedAt: number | null;
  final: boolean;
  doneAt: number | null;
  expectState: MessageState;
  dbState: MessageState | null;
  workflowState: MessageState | null;
  stateRight: boolean;
  stateProblems: string[];
  recipients: RecipientVerdict[];
  naturalMs: number;
  /** Time faults were active during its life. */
  faultMs: number;
  lifeMs: number | null;
  /** Life beyond natural + faultMs: what the faults cost it beyond their own length. */
  holdMs: number;
  held: boolean;
  /** Faults that overlapped its life (ids). */
  overlapped: number[];
  holdCause: number | null;
  /** Its longest silence, and the other faults that struck during it (ids). */
  silence: { from: number; ms: number; struck: number[] } | null;
  /** Relay restarts during its life: each one made the sink forget greylist and soft-K state. */
  sinkRestarts: number;
  /** For comparison: how long after max(schedule, end of the last overlapping fault) it ended. */
  pastLastFaultMs: number | null;
}

export interface KindRow {
  kind: FaultKind | 'no fault';
  injected: number;
  inFlight: number;
  lost: number;
  duplicated: number;
  duplicatedInWindow: number;
  held: number;
  maxHoldMs: number;
}

export interface Verdict {
  messages: MessageVerdict[];
  rows: KindRow[];
  injected: number;
  total: number;
  lostMessages: number;
  lostRecipients: number;
  duplicatedMessages: number;
  duplicatedRecipients: number;
  duplicatesInWindow: number;
  acceptedWrongly: number;
  heldMessages: number;
  finalRight: number;
  notSubmitted: number;
  notFinal: number;
  /** Acceptances of Message-IDs the suite never sent. */
  foreignAcceptances: number;
  /** Per fault: messages in flight and whether its probe's transaction was hit. */
  perFault: { id: number; inFlight: number; probeHit: boolean | null }[];
  ok: boolean;
}

const key = (id: string, rcpt: string) => `${id} ${rcpt.toLowerCase()}`;
const bareId = (header: string | null | undefined) => (header ?? '').trim().replace(/^<(.*)>$/, '$1').toLowerCase();

function overlap(a0: number, a1: number, b0: number, b1: number): number {
  return Math.max(0, Math.min(a1, b1) - Math.max(a0, b0));
}

function distance(t: number, f: FaultRecord): number {
  if (t < f.startedAt) return f.startedAt - t;
  if (t > f.endedAt) return t - f.endedAt;
  return 0;
}

function nearest(t: number, faults: FaultRecord[]): FaultRecord | null {
  let best: FaultRecord | null = null;
  for (const f of faults) if (!best || distance(t, f) < distance(t, best)) best = f;
  return best;
}

export function judge(obs: Observations): Verdict {
  const { db, faults } = obs;
  // The peer's log by recipient address: every transaction that named it, and its acceptances.
  const named = new Map<string, PeerTransaction[]>();
  const acceptedBy = new Map<string, PeerTransaction[]>();
  for (const tx of obs.transactions) {
    for (const r of tx.rcpt ?? []) {
      const a = r.address.toLowerCase();
      named.set(a, [...(named.get(a) ?? []), tx]);
    }
    for (const r of tx.accepted ?? []) {
      const a = r.toLowerCase();
      acceptedBy.set(a, [...(acceptedBy.get(a) ?? []), tx]);
    }
  }
  const headers = new Set([...db.messages.values()].map((m) => bareId(m.header)));
  const foreignAcceptances = obs.transactions.filter((t) => (t.accepted ?? []).length > 0 && !headers.has(bareId(t.messageId))).length;
  const silenced = faults.flatMap((f) => f.silenced);

  const messages: MessageVerdict[] = obs.messages.map((m) => {
    const row = db.messages.get(m.id) ?? null;
    const status = obs.status.get(m.id);
    const wf = status && 'state' in status ? status : null;
    const final = row !== null && FINAL_MESSAGE_STATES.includes(row.state);
    // Its life starts with its workflow, the origin of its schedule; a send() whose answer was
    // lost and repeated returns later than that.
    const started = wf ? Date.parse(wf.createdAt) : NaN;
    const start = m.submittedAt === null ? null : Number.isFinite(started) ? Math.min(started, m.submittedAt) : m.submittedAt;
    const doneAt = final ? (row!.finishedAt ?? obs.endedAt) : start === null ? null : obs.endedAt;
    const lifeStart = m.firstTryAt ?? start;
    const overlapped = lifeStart === null ? [] : faults.filter((f) => overlap(lifeStart, doneAt ?? obs.endedAt, f.startedAt, f.endedAt) > 0 || (f.startedAt >= lifeStart && f.startedAt <= (doneAt ?? obs.endedAt)));

    const recipients: RecipientVerdict[] = m.recipients.map((r) => {
      const address = r.address.toLowerCase();
      const copies = (acceptedBy.get(address) ?? []).filter((t) => row === null || bareId(t.messageId) === bareId(row.header));
      const acceptedAt = copies.map((t) => t.seenAt).sort((a, b) => a - b);
      const k = key(m.id, address);
      const dbState: RecipientVerdict['dbState'] = db.accepted.has(k) ? 'delivered' : db.hardBounced.has(k) ? 'bounced' : db.expired.has(k) ? 'expired' : 'open';
      const wfRecipient = wf?.recipients.find((x) => x.address.toLowerCase() === address) ?? null;
      let duplicate: RecipientVerdict['duplicate'] = null;
      if (copies.length > 1) {
        const first = acceptedAt[0]!;
        const gap = silenced.find((x) => x.at >= first - LOG_LAG_MS && x.at <= first + obs.windowMs && acceptedAt[1]! > x.at);
        duplicate = { copies: copies.length, inWindow: copies.length === 2 && gap !== undefined, silenced: gap ? { at: gap.at, how: gap.how } : null, cause: nearest(first, overlapped)?.id ?? null };
      }
      const lost = final && r.expect === 'delivered' && copies.length === 0;
      const lastSeen = Math.max(...(named.get(address) ?? []).map((t) => t.seenAt), start ?? 0);
      return {
        address: r.address,
        expect: r.expect,
        accepted: copies.length,
        acceptedAt,
        dbState,
        workflowState: wfRecipient?.state ?? null,
        lost,
        acceptedWrongly: r.expect !== 'delivered' && copies.length > 0,
        duplicate,
        lostCause: lost ? (nearest(lastSeen, overlapped)?.id ?? null) : null,
      };
    });

    const stateProblems: string[] = [];
    if (start === null) stateProblems.push(`never submitted: ${m.submitError ?? 'no answer'}`);
    if (!row) stateProblems.push('not in the database');
    else if (row.state !== m.expectState) stateProblems.push(`database state ${row.state}, expected ${m.expectState}`);
    if (!wf) stateProblems.push(`status query failed: ${status && 'error' in status ? status.error : 'not asked'}`);
    else if (wf.state !== m.expectState) stateProblems.push(`workflow state ${wf.state}, expected ${m.expectState}`);
    for (const r of recipients) {
      if (r.dbState !== r.expect) stateProblems.push(`${r.address}: database says ${r.dbState}, expected ${r.expect}`);
      if (wf && r.workflowState !== r.expect) stateProblems.push(`${r.address}: workflow says ${r.workflowState}, expected ${r.expect}`);
    }

    // Holds.
    let faultMs = 0;
    let lifeMs: number | null = null;
    let holdMs = 0;
    let holdCause: number | null = null;
    let silence: MessageVerdict['silence'] = null;
    let pastLastFaultMs: number | null = null;
    if (start !== null && doneAt !== null) {
      lifeMs = doneAt - start;
      for (const f of faults) faultMs += overlap(start, doneAt, f.startedAt, f.endedAt);
      holdMs = Math.max(0, lifeMs - m.naturalMs - faultMs);
      const lastEnd = Math.max(0, ...overlapped.map((f) => f.endedAt));
      pastLastFaultMs = doneAt - Math.max(start + m.naturalMs, lastEnd);
      // The longest silence: between submit, every transaction naming one of its recipients,
      // every attempt row, and the end.
      const events = [start, doneAt, ...(db.attemptTimes.get(m.id) ?? [])];
      for (const r of m.recipients) for (const t of named.get(r.address.toLowerCase()) ?? []) events.push(Date.parse(t.at), t.seenAt);
      const sorted = events.filter((t) => t >= start && t <= doneAt).sort((a, b) => a - b);
      let gapStart = start;
      let gap = -1;
      for (let i = 1; i < sorted.length; i++) {
        if (sorted[i]! - sorted[i - 1]! > gap) {
          gap = sorted[i]! - sorted[i - 1]!;
          gapStart = sorted[i - 1]!;
        }
      }
      holdCause = nearest(gapStart, overlapped)?.id ?? null;
      silence = { from: gapStart, ms: gap, struck: overlapped.filter((f) => f.id !== holdCause && f.startedAt > gapStart && f.startedAt < gapStart + gap).map((f) => f.id) };
    }
    const stateRight = stateProblems.length === 0 && final;
    return {
      id: m.id,
      mix: m.mix,
      probe: m.probeOf !== null,
      submitted: start !== null,
      submittedAt: start,
      final,
      doneAt,
      expectState: m.expectState,
      dbState: row?.state ?? null,
      workflowState: wf?.state ?? null,
      stateRight,
      stateProblems: final || start === null ? stateProblems : [`not final when the run ended (${row?.state ?? 'unknown'})`, ...stateProblems],
      recipients,
      naturalMs: m.naturalMs,
      faultMs,
      lifeMs,
      holdMs,
      held: holdMs > HOLD_LIMIT_MS,
      overlapped: overlapped.map((f) => f.id),
      holdCause,
      silence,
      sinkRestarts: overlapped.filter((f) => f.kind === 'relay-down' || f.kind === 'relay-blackhole').length,
      pastLastFaultMs,
    };
  });

  const kindOf = (id: number | null): FaultKind | 'no fault' => (id === null ? 'no fault' : faults.find((f) => f.id === id)!.kind);
  const rows: KindRow[] = [...FAULT_KINDS, 'no fault' as const].map((kind) => ({
    kind,
    injected: kind === 'no fault' ? 0 : faults.filter((f) => f.kind === kind).length,
    inFlight: 0,
    lost: 0,
    duplicated: 0,
    duplicatedInWindow: 0,
    held: 0,
    maxHoldMs: 0,
  }));
  const rowOf = (kind: FaultKind | 'no fault') => rows.find((r) => r.kind === kind)!;
  const perFault = faults.map((f) => {
    const inFlight = messages.filter((v) => v.overlapped.includes(f.id)).length;
    rowOf(f.kind).inFlight += inFlight;
    let probeHit: boolean | null = null;
    if (f.probe) {
      const probe = obs.messages.find((m) => m.id === f.probe);
      const address = probe?.recipients[0]?.address.toLowerCase() ?? '';
      // The fault struck while the sink held a transaction of the probe open.
      probeHit = (named.get(address) ?? []).some((t) => Date.parse(t.at) <= f.startedAt && t.seenAt >= f.startedAt);
    }
    return { id: f.id, inFlight, probeHit };
  });
  rowOf('no fault').inFlight = messages.filter((v) => v.submitted && v.overlapped.length === 0).length;
  for (const v of messages) {
    if (!v.submitted) continue;
    const holdRow = rowOf(kindOf(v.overlapped.length === 0 ? null : v.holdCause));
    holdRow.maxHoldMs = Math.max(holdRow.maxHoldMs, v.holdMs);
    if (v.held) holdRow.held += 1;
    const lost = v.recipients.find((r) => r.lost);
    if (lost) rowOf(kindOf(lost.lostCause)).lost += 1;
    const dup = v.recipients.find((r) => r.duplicate && !r.duplicate.inWindow);
    if (dup) rowOf(kindOf(dup.duplicate!.cause)).duplicated += 1;
    const inWindow = v.recipients.find((r) => r.duplicate?.inWindow);
    if (inWindow && !dup) rowOf(kindOf(inWindow.duplicate!.cause)).duplicatedInWindow += 1;
  }

  const all = messages.flatMap((v) => v.recipients);
  const verdict: Verdict = {
    messages,
    rows,
    injected: faults.length,
    total: messages.length,
    lostMessages: messages.filter((v) => v.recipients.some((r) => r.lost)).length,
    lostRecipients: all.filter((r) => r.lost).length,
    duplicatedMessages: messages.filter((v) => v.recipients.some((r) => r.duplicate && !r.duplicate.inWindow)).length,
    duplicatedRecipients: all.filter((r) => r.duplicate && !r.duplicate.inWindow).length,
    duplicatesInWindow: messages.filter((v) => v.recipients.some((r) => r.duplicate?.inWindow) && !v.recipients.some((r) => r.duplicate && !r.duplicate.inWindow)).length,
    acceptedWrongly: all.filter((r) => r.acceptedWrongly).length,
    heldMessages: messages.filter((v) => v.held).length,
    finalRight: messages.filter((v) => v.stateRight).length,
    notSubmitted: messages.filter((v) => !v.submitted).length,
    notFinal: messages.filter((v) => v.submitted && !v.final).length,
    foreignAcceptances,
    perFault,
    ok: false,
  };
  verdict.ok =
    verdict.lostMessages === 0 &&
    verdict.duplicatedMessages === 0 &&
    verdict.acceptedWrongly === 0 &&
    verdict.heldMessages === 0 &&
    verdict.finalRight === verdict.total &&
    verdict.foreignAcceptances === 0;
  return verdict;
}
