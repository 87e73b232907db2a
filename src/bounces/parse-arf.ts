// Complaints: message/feedback-report (ARF, RFC 5965 section 3): Feedback-Type,
// Original-Rcpt-To, Original-Mail-From, Arrival-Date; the third part is the original message
// or its headers. Every complaint is about the recipient who complained. Pure.
import type { ReportRecipient } from './contract';
import { Field, parseFieldGroups } from './parse-fields';
import { cleanAddress, MAX_RECIPIENTS } from './parse-outcome';

export const FEEDBACK_REPORT_TYPE = 'message/feedback-report';
const ADDRESS = /[^\s<>,;"]{1,64}@[^\s<>,;"]{1,255}/g;

export interface FeedbackReport {
  feedbackType: string | null;
  recipients: ReportRecipient[];
}

/**
 * The report's fields and its recipients: each Original-Rcpt-To, else the To of the returned
 * message (`returnedTo`), which FBLs keep even when they leave the field out.
 */
export function readFeedbackReport(text: string, returnedTo: string | null): FeedbackReport {
  const fields: Field[] = parseFieldGroups(text).flat();
  const type = fields.find((f) => f.name === 'feedback-type')?.value.trim().toLowerCase().split(/[\s;]/)[0] ?? null;
  const named = fields.filter((f) => f.name === 'original-rcpt-to').map((f) => f.value);
  const sources = named.length > 0 ? named : returnedTo ? [returnedTo] : [];
  const addresses = [...new Set(sources.flatMap((s) => s.match(ADDRESS) ?? []).map(cleanAddress))];
  return {
    feedbackType: type || null,
    recipients: addresses.slice(0, MAX_RECIPIENTS).map((address) => ({
      address,
      action: null,
      status: null,
      code: null,
      diagnostic: null,
      kind: 'complaint',
      category: 'complaint',
      scope: 'recipient',
    })),
  };
}
