// What the run proved on the surfaces beside the messages' own delivery (surfaces.ts), counted
// as count.ts counts messages: from what the receiving side saw, against what Rebound wrote.
// Pure: the observations in, the verdicts out.
//
// The rules:
// - API (kill-api): the messages posted through `POST /v1/messages`. Lost and doubled are the
//   message verdicts' (counted at the sink); here: how many, how many posts were repeated after
//   a connection error or a 5xx, how many repeats the API answered 200 (already stored).
// - Webhooks (webhook-down): every event of the outbox (`webhook_events`) must have been
//   processed by the receiver (lost otherwise); a `webhook-id` processed twice, or two ids for
//   the same fact (type, message, recipient), is doubled. Requests for an id already processed
//   are redeliveries, counted and expected (a try whose answer the outage cut off). A request
//   whose signature did not verify is an error.
// - Reports (inbound-db-down): each reported message of the fault's batch must have one row in
//   `inbound_reports` (processed) and one late outcome (`late_outcomes`); none is lost, none
//   doubled. A report counts as "answered 451" when one of the sink's tries got `451` from the
//   listener; one the outage missed (tried before it or after) is named, since the fault then
//   proved less.
// - Suspended site (pause-worker-suspended): no transaction begun at the sink while the site
//   was suspended may deliver (accepted recipients); one begun before the suspension and
//   finished during it is reported apart (the gate is checked before connecting, README
//   "What a held site does to messages"). Lost or doubled after it resumes are the message
//   verdicts'.
import type { MessageVerdict } from './count';
import type { FaultRecord } from './inject';
import type { PeerReport, PeerTransaction } from './peer';
import type { Processed } from './webhook-receiver';
import type { PlannedMessage } from './traffic';

export interface SurfaceObservations {
  messages: PlannedMessage[];
  verdicts: MessageVerdict[];
  faults: FaultRecord[];
  transactions: PeerTransaction[];
  /** Message id -> its Message-ID header (bare, lower case). */
  headers: Map<string, string>;
  api: boolean;
  webhooks: null | {
    outbox: { id: string; type: string; createdAt: number }[];
    processed: Map<string, Processed>;
    rejected: number;
    requests: number;
  };
  reports: null | {
    tries: PeerReport[];
    /** Per message id: its inbound_reports rows (processed or not) and its late outcomes. */
    rows: Map<string, { reports: { id: string; processed: boolean; outcome: string | null }[]; lateOutcomes: number }>;
  };
  /** Recipients held by a suspended site (attempt rows with ESITESUSPENDED). */
  heldBySuspension: number;
}

export interface SurfaceVerdict {
  api: null | { messages: number; lost: number; doubled: number; repostedAfterError: number; answered200: number; notSubmitted: number };
  webhooks: null | {
    events: number;
    lost: number;
    doubled: number;
    redelivered: number;
    rejected: number;
    /** Events written while the receiver was down and processed after it came back: what the outage proved. */
    afterOutage: number;
    lostIds: string[];
    doubledIds: string[];
  };
  reports: null | { reports: number; lost: number; doubled: number; answered451: number; missedOutage: string[]; problems: string[] };
  suspended: null | { faults: number; deliveredWhileSuspended: number; finishedDuringSuspension: number; held: number; problems: string[] };
  ok: boolean;
}

const bare = (h: string | null | undefined) => (h ?? '').trim().replace(/^<(.*)>$/, '$1').toLowerCase();

export function judgeSurfaces(obs: SurfaceObservations): SurfaceVerdict {
  const out: SurfaceVerdict = { api: null, webhooks: null, reports: null, suspended: null, ok: true };
  const verdictOf = new Map(obs.verdicts.map((v) => [v.id, v]));

  if (obs.api) {
    const posted = obs.messages.filter((m) => m.via === 'api');
    const vs = posted.map((m) => verdictOf.get(m.id)!);
    out.api = {
      messages: posted.length,
      lost: vs.filter((v) => v.recipients.some((r) => r.lost)).length,
      doubled: vs.filter((v) => v.recipients.some((r) => r.duplicate)).length,
      repostedAfterError: posted.filter((m) => Object.entries(m.apiAnswers).some(([k, n]) => n > 0 && (k === 'connection error' || Number(k) >= 500))).length,
      answered200: posted.filter((m) => (m.apiAnswers['200'] ?? 0) > 0).length,
      notSubmitted: posted.filter((m) => m.submittedAt === null).length,
    };
    if (out.api.lost + out.api.doubled + out.api.notSubmitted > 0) out.ok = false;
  }

  if (obs.webhooks) {
    const w = obs.webhooks;
    const lostIds = w.outbox.filter((e) => !w.processed.has(e.id)).map((e) => e.id);
    const byFact = new Map<string, string[]>();
    for (const p of w.processed.values()) if (p.fact) byFact.set(p.fact, [...(byFact.get(p.fact) ?? []), p.id]);
    const outages = obs.faults.filter((f) => f.kind === 'webhook-down');
    const afterOutage = w.outbox.filter((e) => {
      const p = w.processed.get(e.id);
      return p && outages.some((f) => e.createdAt >= f.startedAt && e.createdAt <= f.endedAt && p.at > f.endedAt);
    }).length;
    const doubledIds = [...[...w.processed.values()].filter((p) => p.processed > 1).map((p) => p.id), ...[...byFact.values()].filter((ids) => ids.length > 1).flat()];
    out.webhooks = {
      events: w.outbox.length,
      lost: lostIds.length,
      doubled: doubledIds.length,
      redelivered: [...w.processed.values()].reduce((n, p) => n + p.redelivered, 0),
      rejected: w.rejected,
      afterOutage,
      lostIds,
      doubledIds,
    };
    if (out.webhooks.lost + out.webhooks.doubled + out.webhooks.rejected > 0 || w.outbox.length === 0) out.ok = false;
  }

  if (obs.reports) {
    const r = obs.reports;
    const reported = obs.faults.filter((f) => f.kind === 'inbound-db-down').flatMap((f) => f.batch.map((id) => ({ id, fault: f })));
    const problems: string[] = [];
    const missedOutage: string[] = [];
    let lost = 0;
    let doubled = 0;
    let answered451 = 0;
    for (const { id, fault } of reported) {
      const header = obs.headers.get(id) ?? '';
      const tries = r.tries.filter((t) => header !== '' && bare(t.messageId) === header);
      const rows = r.rows.get(id) ?? { reports: [], lateOutcomes: 0 };
      const accepted = obs.transactions.some((t) => header !== '' && bare(t.messageId) === header && (t.accepted ?? []).length > 0);
      if (tries.some((t) => (t.reply ?? '').startsWith('451'))) answered451 += 1;
      else missedOutage.push(`${id}: tries ${tries.map((t) => `${t.try} ${t.reply ?? t.error ?? '?'} at +${((t.seenAt - fault.startedAt) / 1000).toFixed(1)} s of the outage`).join('; ') || 'none seen'}`);
      if (!accepted) {
        problems.push(`${id}: never accepted by the sink, so no report was due`);
        continue;
      }
      if (rows.lateOutcomes === 0 || !rows.reports.some((x) => x.processed)) {
        lost += 1;
        problems.push(`LOST report ${id}: ${rows.reports.length} inbound_reports rows (${rows.reports.filter((x) => x.processed).length} processed), ${rows.lateOutcomes} late outcomes; sink tries: ${tries.map((t) => `${t.reply ?? t.error} -> ${t.state}`).join('; ') || 'none'}`);
      } else if (rows.lateOutcomes > 1 || rows.reports.length > 1) {
        doubled += 1;
        problems.push(`DOUBLED report ${id}: ${rows.reports.length} inbound_reports rows, ${rows.lateOutcomes} late outcomes`);
      }
    }
    out.reports = { reports: reported.length, lost, doubled, answered451, missedOutage, problems };
    if (lost + doubled > 0 || (reported.length > 0 && answered451 === 0)) out.ok = false;
  }

  const suspensions = obs.faults.filter((f) => f.kind === 'pause-worker-suspended' && f.suspension);
  if (suspensions.length > 0) {
    const problems: string[] = [];
    let during = 0;
    let finished = 0;
    for (const f of suspensions) {
      const { from, to, site } = f.suspension!;
      for (const t of obs.transactions) {
        if ((t.accepted ?? []).length === 0 || t.seenAt < from || t.seenAt > to) continue;
        if (Date.parse(t.at) >= from) {
          during += 1;
          problems.push(`DELIVERED WHILE SUSPENDED: fault #${f.id} site ${site}: transaction ${t.transaction} (sink run ${t.sinkRun}) begun +${((Date.parse(t.at) - from) / 1000).toFixed(1)} s into the suspension accepted ${t.accepted.join(', ')}`);
        } else {
          finished += 1;
          problems.push(`fault #${f.id}: transaction ${t.transaction} begun ${((from - Date.parse(t.at)) / 1000).toFixed(1)} s before the suspension was written ended accepted during it (${t.accepted.join(', ')})`);
        }
      }
    }
    out.suspended = { faults: suspensions.length, deliveredWhileSuspended: during, finishedDuringSuspension: finished, held: obs.heldBySuspension, problems };
    if (during > 0) out.ok = false;
  }
  return out;
}

/** The last line's part for the surfaces that ran, e.g. "; webhooks: 84 events, 0 lost, 0 doubled (12 redelivered)". */
export function surfacesLine(s: SurfaceVerdict): string {
  const parts: string[] = [];
  if (s.api) parts.push(`API: ${s.api.messages} posted, ${s.api.lost} lost, ${s.api.doubled} duplicated (${s.api.repostedAfterError} posted again after an error)`);
  if (s.webhooks) parts.push(`webhooks: ${s.webhooks.events} events, ${s.webhooks.lost} lost, ${s.webhooks.doubled} processed twice (${s.webhooks.redelivered} redelivered, ${s.webhooks.afterOutage} held back by the outage)`);
  if (s.reports) parts.push(`reports: ${s.reports.reports}, ${s.reports.lost} lost, ${s.reports.doubled} doubled (${s.reports.answered451} answered 451 first)`);
  if (s.suspended) parts.push(`suspended site: ${s.suspended.deliveredWhileSuspended} delivered while suspended (${s.suspended.held} recipients held)`);
  return parts.length ? `; ${parts.join('; ')}` : '';
}
