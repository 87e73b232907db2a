// What a report heard after the relay's 250 means (README "Late outcomes"). Pure: the report
// processor, the delivery workflow's signal handler and the status readers of the SDK, CLI and
// API decide with these, so a late outcome reads the same wherever it is shown.
//
//   failed DSN / provider bounce  -> `bounced`: the recipient's state becomes bounced (late);
//                                    reputation hears a hard bounce, or for a 4.x.x failure
//                                    (the relay gave up retrying) a failed send, under the blame rules
//   delayed DSN / provider delay  -> `delayed`: recorded and shown, nothing else
//   ARF / provider complaint      -> `complained`: the address is suppressed (reason complaint)
//   delivered, relayed, expanded, auto-replies, not a bounce -> nothing
import { classifyReply } from '../delivery/classify';
import { finalMessageState } from '../delivery/states';
import type { ClassifiedReply, DeliveryStatus, LateOutcome, RecipientStatus } from '../delivery/contract';
import type { ReputationEventType } from '../reputation/contract';
import type { ParsedReport, ProviderEvent, ReportRecipient } from './contract';

/**
 * Feedback reports that are not a recipient's complaint (RFC 6430 `not-spam`: the user took it
 * out of the spam folder; RFC 6591 `auth-failure`: a receiver's SPF/DKIM report): they suppress
 * nobody.
 */
const NOT_A_COMPLAINT = new Set(['not-spam', 'auth-failure']);

/** Whether a feedback report (ARF, or a provider's complaint event) is a complaint against the message. */
export function isComplaint(feedbackType: string | null): boolean {
  return feedbackType === null || !NOT_A_COMPLAINT.has(feedbackType.trim().toLowerCase());
}

/** A late outcome before it is matched to a message: the address as the report names it. */
export type LateCandidate = Omit<LateOutcome, 'at' | 'source'>;

const DIAGNOSTIC_MAX = 1000;

/** The reply a report gives for a recipient, classified like an SMTP reply would be. */
export function reportReply(status: string | null, code: string | null, diagnostic: string | null, permanent: boolean | null = null): ClassifiedReply {
  const basic = code && /^[245]\d\d$/.test(code) ? Number(code) : null;
  const enhanced = status && /^[245]\.\d{1,3}\.\d{1,3}$/.test(status) ? status : null;
  const text = (diagnostic ?? '').slice(0, DIAGNOSTIC_MAX);
  // A provider that says "permanent" but gives no code at all: a 5.0.0 is the least it said,
  // and the classifier still needs text about the mailbox to blame the address.
  const fallback = basic === null && enhanced === null && permanent === true ? '5.0.0' : null;
  return classifyReply({ code: basic, enhanced: enhanced ?? fallback, text });
}

function candidateOfRecipient(r: ReportRecipient, feedbackType: string | null): LateCandidate | null {
  if (r.category === 'complaint') return { recipient: r.address, kind: 'complained', reply: null, feedbackType };
  if (r.action === 'failed') {
    const reply = reportReply(r.status, r.code, r.diagnostic);
    // A failed DSN that carries a 2.x.x status says nothing failed: ignored rather than guessed.
    return reply.kind === 'delivered' ? null : { recipient: r.address, kind: 'bounced', reply, feedbackType: null };
  }
  if (r.action === 'delayed') return { recipient: r.address, kind: 'delayed', reply: reportReply(r.status ?? '4.0.0', r.code, r.diagnostic), feedbackType: null };
  return null;
}

/** The late outcomes a parsed mail reports, per recipient (at most one per recipient and kind). */
export function candidatesOfReport(report: ParsedReport): LateCandidate[] {
  if (report.type !== 'dsn' && report.type !== 'complaint') return [];
  if (report.type === 'complaint' && !isComplaint(report.feedbackType)) return [];
  return unique(report.recipients.map((r) => candidateOfRecipient(r, report.feedbackType)).filter((c): c is LateCandidate => c !== null));
}

/** The late outcome of a verified provider event; null for feedback that is no complaint. */
export function candidateOfEvent(e: ProviderEvent): LateCandidate | null {
  if (e.type === 'complaint' && !isComplaint(e.feedbackType)) return null;
  if (e.type === 'complaint') return { recipient: e.recipient, kind: 'complained', reply: null, feedbackType: e.feedbackType };
  if (e.type === 'delayed') return { recipient: e.recipient, kind: 'delayed', reply: reportReply(e.status ?? '4.0.0', e.code, e.diagnostic), feedbackType: null };
  let reply = reportReply(e.status, e.code, e.diagnostic, e.permanent);
  // The provider gave up on a transient failure (SES "Transient", Mailgun "temporary" after its
  // retries): a failed send, never a hard bounce, whatever code it quotes.
  if (e.permanent === false && reply.kind === 'hard') reply = { ...reply, kind: 'soft', category: 'temporary_failure' };
  return { recipient: e.recipient, kind: 'bounced', reply, feedbackType: null };
}

function unique(candidates: LateCandidate[]): LateCandidate[] {
  const seen = new Set<string>();
  return candidates.filter((c) => {
    const key = `${c.kind} ${c.recipient}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * What the address's reputation workflow hears of a late outcome: a late hard bounce is a hard
 * bounce; a failed send on a soft reply is what an expiry is (README "Reputation and
 * suppression"); delays and complaints are nothing to it (a complaint suppresses by itself).
 */
export function reputationEventOf(outcome: Pick<LateOutcome, 'kind' | 'reply'>): ReputationEventType | null {
  if (outcome.kind !== 'bounced' || !outcome.reply) return null;
  return outcome.reply.kind === 'hard' ? 'hardBounced' : outcome.reply.kind === 'soft' ? 'softBounced' : null;
}

const sameOutcome = (a: LateOutcome, b: LateOutcome) => a.kind === b.kind && a.recipient === b.recipient;

/**
 * A recipient with a late outcome applied: listed once per kind; a bounce turns a delivered
 * recipient into a bounced one (late), with the report's reply. A recipient not delivered (yet)
 * keeps its state: applied again once it is delivered (a report can overtake the attempt's own
 * record of its 250), it turns it then. Applying an outcome twice changes nothing more.
 */
export function withLateOutcome(r: RecipientStatus, outcome: LateOutcome): RecipientStatus {
  const known = r.lateOutcomes ?? [];
  const listed = known.some((o) => sameOutcome(o, outcome)) ? r : { ...r, lateOutcomes: [...known, outcome].sort((a, b) => a.at.localeCompare(b.at)) };
  if (outcome.kind === 'bounced' && outcome.reply && listed.state === 'delivered') return { ...listed, state: 'bounced', late: true, lastReply: outcome.reply };
  return listed;
}

/** A status with late outcomes merged in; a final message state is recomputed when a delivered recipient bounced. */
export function mergeLateOutcomes(status: DeliveryStatus, outcomes: readonly LateOutcome[]): DeliveryStatus {
  if (outcomes.length === 0) return status;
  const recipients = status.recipients.map((r) => outcomes.filter((o) => o.recipient === r.address).reduce(withLateOutcome, r));
  const final = ['delivered', 'partially_delivered', 'failed'].includes(status.state);
  const state = final ? finalMessageState(recipients.filter((r) => r.state === 'delivered').length, recipients.length) : status.state;
  return { ...status, state, recipients };
}

