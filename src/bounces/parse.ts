// The bounce parser (README "Late outcomes", parsing): one received mail becomes a ParsedReport
// (src/bounces/contract.ts). In order: a complaint (ARF feedback-report part), a DSN (a
// delivery-status part, or a mail system's plain-text bounce), an auto-reply, else not a
// bounce. Never throws: what cannot be understood is `not_a_bounce` with the reason.
import type { ParsedReport, ReportRecipient } from './contract';
import { FEEDBACK_REPORT_TYPE, readFeedbackReport } from './parse-arf';
import { answeredMessageId, autoReplyHeader, autoReplySubject } from './parse-auto-reply';
import { DELIVERY_STATUS_TYPES, readDeliveryStatus } from './parse-dsn';
import { readMail, ReceivedMail } from './parse-mime';
import { classifyEvidence, RecipientEvidence } from './parse-outcome';
import { returnedIds } from './parse-returned';
import { humanPart, looksLikeBounce, readTextBounce } from './parse-text';

export async function parseReport(raw: Buffer | string): Promise<ParsedReport> {
  try {
    const reading = await readMail(raw);
    if (!reading.ok) return notABounce(reading.reason);
    const forwarded = await forwardedReport(reading.mail);
    return forwarded ?? reportOf(reading.mail);
  } catch (err) {
    // A bug here must not lose the mail: the intake stores it whatever the parser says.
    return notABounce(`parser error: ${err instanceof Error ? err.message : String(err)}`.slice(0, 200));
  }
}

export function reportOf(mail: ReceivedMail): ParsedReport {
  const human = humanPart(mail.text);
  const quoted = mail.text.slice(human.length);
  const feedback = mail.parts.find((p) => p.mimeType === FEEDBACK_REPORT_TYPE);
  if (feedback) {
    const ids = returnedIds(mail, quoted);
    const arf = readFeedbackReport(feedback.text, ids.to);
    return {
      type: 'complaint',
      originalMessageId: ids.originalMessageId,
      reboundRef: ids.reboundRef,
      recipients: arf.recipients,
      feedbackType: arf.feedbackType,
      reason: arf.recipients.length === 0 ? 'complaint without Original-Rcpt-To or To of the returned message' : null,
    };
  }
  const status = mail.parts.find((p) => DELIVERY_STATUS_TYPES.has(p.mimeType));
  if (status) return dsnReport(mail, human, quoted, withTextReasons(readDeliveryStatus(status.text), mail, human));
  // An out-of-office from a person is not a bounce, whatever its subject quotes.
  const bounceShaped = looksLikeBounce(mail) && !(autoReplySubject(mail) && !fromMailSystem(mail));
  if (bounceShaped) {
    // SES and some gateways write the delivery-status fields into the text itself.
    const fields = readDeliveryStatus(human);
    return dsnReport(mail, human, quoted, fields.length > 0 ? withTextReasons(fields, mail, human) : readTextBounce(mail, human));
  }
  const autoReply = autoReplyHeader(mail) ?? autoReplySubject(mail);
  if (autoReply) {
    return { type: 'auto_reply', originalMessageId: answeredMessageId(mail), reboundRef: null, recipients: [], feedbackType: null, reason: autoReply };
  }
  return notABounce('no report part, and neither a bounce nor an auto-reply by its sender, subject or headers');
}

/**
 * Some gateways wrap the real report in a message/rfc822 part of a multipart/mixed mail; the
 * wrapped report is read instead, one level deep.
 */
async function forwardedReport(mail: ReceivedMail): Promise<ParsedReport | null> {
  if (mail.parts.some((p) => p.mimeType === FEEDBACK_REPORT_TYPE || DELIVERY_STATUS_TYPES.has(p.mimeType))) return null;
  const inner = mail.parts.find((p) => p.mimeType === 'message/rfc822' && /^content-type:\s*multipart\/report/im.test(p.text.slice(0, 64 * 1024)));
  if (!inner) return null;
  const reading = await readMail(inner.text);
  if (!reading.ok) return null;
  const report = reportOf(reading.mail);
  return report.type === 'dsn' || report.type === 'complaint' ? report : null;
}

/** A mail system's bounce may quote an out-of-office subject, but comes from the system's own address. */
function fromMailSystem(mail: ReceivedMail): boolean {
  return /^(?:mailer-daemon|postmaster|mail-daemon)@/i.test(mail.from);
}

/** A delivery-status part without recipients (or without Diagnostic-Code) is completed from the text. */
function withTextReasons(fromPart: RecipientEvidence[], mail: ReceivedMail, human: string): RecipientEvidence[] {
  const fromText = readTextBounce(mail, human);
  if (fromPart.length === 0) return fromText;
  return fromPart.map((r) => {
    if (r.diagnostic) return r;
    const same = fromText.find((t) => t.address === classifyEvidence(r).address);
    return same ? { ...r, diagnostic: same.diagnostic } : r;
  });
}

function dsnReport(mail: ReceivedMail, human: string, quoted: string, evidence: RecipientEvidence[]): ParsedReport {
  const ids = returnedIds(mail, quoted);
  const recipients = uniqueByAddress(evidence.map(classifyEvidence).filter((r) => r.address.includes('@')));
  return {
    type: 'dsn',
    // Exchange and Gmail also name the original in In-Reply-To/References of the bounce itself.
    originalMessageId: ids.originalMessageId ?? answeredMessageId(mail),
    reboundRef: ids.reboundRef,
    recipients,
    feedbackType: null,
    reason: recipients.length === 0 ? 'bounce without a recipient that could be read' : null,
  };
}

function uniqueByAddress(recipients: ReportRecipient[]): ReportRecipient[] {
  const seen = new Set<string>();
  return recipients.filter((r) => (seen.has(r.address) ? false : (seen.add(r.address), true)));
}

export function notABounce(reason: string): ParsedReport {
  return { type: 'not_a_bounce', originalMessageId: null, reboundRef: null, recipients: [], feedbackType: null, reason };
}
