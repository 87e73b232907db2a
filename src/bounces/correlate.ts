// Which message and recipients a report is about (README "Late outcomes", correlation): by the
// return path's token first, then by the X-Rebound-Ref or the original Message-ID the report
// quotes, then (provider events) by the relay's queue id. A token or ref whose HMAC does not
// verify makes the report `forged`: it changes nothing. Nothing found: an `orphan`, kept and
// listed. The lookups are injected so the order of the rules is tested without a database.
import { normaliseAddress } from '../message/address';
import type { CandidateMessage } from './store';
import type { LateCandidate } from './late';
import { verifyToken } from './verp';

/** What a report offers to find its message by. */
export interface Clues {
  /** The token of the return-path address the report was mailed to (envelope or Delivered-To). */
  token: string | null;
  reboundRef: string | null;
  messageIdHeader: string | null;
  queueId: string | null;
  /** The recipient a provider event is about, to choose between messages of one queue id. */
  recipient: string | null;
}

export interface Lookups {
  byRef(ref: string): Promise<CandidateMessage[]>;
  byMessageIdHeader(header: string): Promise<CandidateMessage[]>;
  byQueueId(queueId: string, recipient: string): Promise<CandidateMessage[]>;
}

export type Correlation =
  | { found: true; message: CandidateMessage; by: 'token' | 'rebound_ref' | 'message_id' | 'queue_id' }
  | { found: false; outcome: 'orphan' | 'forged'; detail: string };

export async function correlate(clues: Clues, secret: string | null, lookups: Lookups): Promise<Correlation> {
  const signed: [string | null, 'token' | 'rebound_ref', string][] = [
    [clues.token, 'token', 'the return-path token'],
    [clues.reboundRef, 'rebound_ref', 'the X-Rebound-Ref header'],
  ];
  for (const [value, by, what] of signed) {
    // Without a secret nothing can be verified, and nothing unverified is trusted.
    if (!value || !secret) continue;
    const check = verifyToken(value, secret);
    if (!check.valid) return { found: false, outcome: 'forged', detail: `${what} does not verify (${check.why})` };
    const found = await lookups.byRef(check.ref);
    if (found.length === 1) return { found: true, message: found[0], by };
  }
  if (clues.messageIdHeader) {
    const found = await lookups.byMessageIdHeader(clues.messageIdHeader);
    if (found.length === 1) return { found: true, message: found[0], by: 'message_id' };
    if (found.length > 1) return { found: false, outcome: 'orphan', detail: 'several messages have the quoted Message-ID' };
  }
  if (clues.queueId) {
    const found = await lookups.byQueueId(clues.queueId, clues.recipient ?? '');
    if (found.length >= 1) return { found: true, message: found[0], by: 'queue_id' };
  }
  return { found: false, outcome: 'orphan', detail: 'nothing in it names a message Rebound sent' };
}

/**
 * The report's recipients as the message's own. A recipient the message was not sent to is
 * dropped, except when both name exactly one (an alias or forward rewrote the address on the
 * way): then the report is about the message's recipient. A complaint that names nobody (feedback loops
 * redact the address) is about the recipient of a one-recipient message.
 */
export function matchRecipients(candidates: LateCandidate[], message: CandidateMessage): LateCandidate[] {
  const own = new Set(message.recipients);
  const sole = message.recipients.length === 1 ? message.recipients[0] : null;
  const named = candidates.map((c) => ({ ...c, recipient: c.recipient ? normaliseAddress(c.recipient) : '' }));
  const matched = named.filter((c) => own.has(c.recipient));
  if (matched.length > 0 || !sole) return matched;
  return named.length === 1 ? [{ ...named[0], recipient: sole }] : [];
}
