// The reports the bounce simulator mails after a `250` (README "The bounce simulator" and "Late
// outcomes"), written the way real systems write them, so that Rebound's parser meets the real
// shapes: a failed or delayed DSN as Postfix writes one (RFC 3464 multipart/report;
// report-type=delivery-status: the human notice, message/delivery-status, the returned headers
// as text/rfc822-headers), and an ARF complaint as a mailbox provider's feedback loop sends one
// (RFC 5965 multipart/report; report-type=feedback-report, the original headers as
// message/rfc822 with the To: redacted and the body left out, as Yahoo, AOL and Microsoft JMRP do).
//
// Built by hand, CRLF throughout: nodemailer's MailComposer cannot write a multipart/report with
// its report-type parameter. Pure: everything variable (dates, the report's own queue id) comes in.

import type { LateReportKind } from './scenarios';

/** Where a reported message was accepted and for whom. */
export interface ReportedEnvelope {
  /** MAIL FROM of the accepted transaction: the return path ('' for the null sender). */
  from: string;
  /** The recipient the report is about, as the client wrote it in RCPT TO. */
  recipient: string;
}

export interface ReportInput {
  kind: LateReportKind;
  /** The accepted message's header block as received (see headerBlock()). */
  originalHeaders: Buffer;
  envelope: ReportedEnvelope;
  /** The sink's host name: Reporting-MTA, MAILER-DAEMON's domain, the Message-ID's right side. */
  reportingHost: string;
  /** The queue id the sink gave the accepted message ("250 2.0.0 Ok: queued as <id>"). */
  queueId: string;
  /** When the message was accepted. */
  arrivedAt: Date;
  /** When the report is written. */
  date: Date;
  /** The report's own queue id: unique per report, in its Message-ID and MIME boundary. */
  reportQueueId: string;
}

export interface BuiltReport {
  /** The report's SMTP envelope: always the null sender, so that a report never causes another. */
  envelope: { from: ''; to: string };
  messageId: string;
  raw: Buffer;
}

/** The relay the DSNs say refused the recipient (documentation addresses, RFC 5737). */
export const REMOTE_MTA = { host: 'mx.example.test', ip: '192.0.2.10' };
/** How long the delayed DSN says the message will be retried (Postfix's maximal_queue_lifetime). */
const RETRY_DAYS = 5;
/** Returned headers are cut at a line boundary beyond this: a report quotes, it does not carry. */
export const MAX_RETURNED_HEADER_BYTES = 64 * 1024;

const CRLF = '\r\n';

/** Where a report goes: the DSN to the envelope sender, the complaint to the return path domain's fbl@; null: nowhere (null sender). */
export function reportRecipient(kind: LateReportKind, envelopeFrom: string): string | null {
  const from = envelopeFrom.trim();
  if (from === '') return null;
  if (kind !== 'complaint') return from;
  const at = from.lastIndexOf('@');
  return at < 0 || at === from.length - 1 ? null : `fbl@${from.slice(at + 1)}`;
}

/** The header block of a raw message (up to its first empty line), CRLF line endings, bounded. */
export function headerBlock(raw: Buffer): Buffer {
  let end = raw.indexOf('\r\n\r\n');
  const lf = raw.indexOf('\n\n');
  if (end < 0 || (lf >= 0 && lf < end)) end = lf;
  // an empty line first: no header at all
  if (raw.subarray(0, 2).equals(Buffer.from('\r\n')) || raw.subarray(0, 1).equals(Buffer.from('\n'))) end = 0;
  const head = raw.subarray(0, end < 0 ? raw.length : end).toString('utf8');
  const lines = head.split(/\r?\n/).filter((line, i, all) => line !== '' || i < all.length - 1);
  const kept: string[] = [];
  let bytes = 0;
  for (const line of lines) {
    bytes += Buffer.byteLength(line, 'utf8') + 2;
    if (bytes > MAX_RETURNED_HEADER_BYTES) break;
    kept.push(line);
  }
  return Buffer.from(kept.map((l) => l + CRLF).join(''), 'utf8');
}

/** An RFC 5322 date in UTC: `Tue, 12 Mar 2024 10:00:00 +0000`. */
export function rfc5322Date(d: Date): string {
  const [day, date, month, year, time] = d.toUTCString().split(' ');
  return `${day} ${Number(date)} ${month} ${year} ${time} +0000`;
}

/** Postfix's dates in reports: the RFC 5322 date and the zone's name. */
const postfixDate = (d: Date): string => `${rfc5322Date(d)} (UTC)`;

/** Words wrapped at `width`, continuation lines indented: how Postfix lays out a recipient's line. */
function wrap(text: string, width = 76, indent = '    '): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    const prefix = lines.length === 0 ? '' : indent;
    if (line !== '' && prefix.length + line.length + 1 + word.length > width) {
      lines.push(prefix + line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  lines.push((lines.length === 0 ? '' : indent) + line);
  return lines.join(CRLF);
}

/** The remote server's answer each DSN quotes. */
function remoteReply(kind: 'dsn-failed' | 'dsn-delayed', recipient: string): { status: string; reply: string } {
  return kind === 'dsn-failed'
    ? { status: '5.1.1', reply: `550 5.1.1 <${recipient}>: Recipient address rejected: User unknown in virtual mailbox table` }
    : { status: '4.4.7', reply: `451 4.4.7 <${recipient}>: Message delayed: mailbox temporarily unavailable, try again later` };
}

/** Header lines, CRLF-terminated. */
const block = (lines: string[]): string => lines.map((l) => l + CRLF).join('');

/** One body part: its headers, an empty line, the content (CRLF-terminated). */
const part = (headers: string[], content: string): string => block(headers) + CRLF + content;

function multipart(boundary: string, parts: string[]): string {
  return 'This is a MIME-encapsulated message.' + CRLF + CRLF + parts.map((p) => `--${boundary}${CRLF}${p}${CRLF}`).join('') + `--${boundary}--${CRLF}`;
}

/** Whether a string is plain US-ASCII (a part holding anything else is declared 8bit). */
const ascii = (s: string): boolean => /^[\x00-\x7f]*$/.test(s);

function dsn(input: ReportInput, kind: 'dsn-failed' | 'dsn-delayed', boundary: string, to: string): { headers: string[]; body: string } {
  const { reportingHost: host, envelope } = input;
  const rcpt = envelope.recipient;
  const { status, reply } = remoteReply(kind, rcpt);
  const said = `<${rcpt}>: host ${REMOTE_MTA.host}[${REMOTE_MTA.ip}] said: ${reply} (in reply to RCPT TO command)`;
  const failed = kind === 'dsn-failed';
  const notice = failed
    ? [
        `This is the mail system at host ${host}.`,
        '',
        "I'm sorry to have to inform you that your message could not",
        "be delivered to one or more recipients. It's attached below.",
      ]
    : [
        `This is the mail system at host ${host}.`,
        '',
        '####################################################################',
        '# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #',
        '####################################################################',
        '',
        'Your message could not be delivered for more than 4 hour(s).',
        `It will be retried until it is ${RETRY_DAYS} day(s) old.`,
      ];
  const text = block([
    ...notice,
    '',
    'For further assistance, please send mail to postmaster.',
    '',
    'If you do so, please include this problem report. You can',
    'delete your own text from the attached returned message.',
    '',
    '                   The mail system',
    '',
    wrap(said),
  ]);
  const perMessage = [
    `Reporting-MTA: dns; ${host}`,
    `X-Postfix-Queue-ID: ${input.queueId}`,
    `X-Postfix-Sender: rfc822; ${envelope.from}`,
    `Arrival-Date: ${postfixDate(input.arrivedAt)}`,
  ];
  const perRecipient = [
    `Final-Recipient: rfc822; ${rcpt}`,
    `Original-Recipient: rfc822;${rcpt}`,
    `Action: ${failed ? 'failed' : 'delayed'}`,
    `Status: ${status}`,
    `Remote-MTA: dns; ${REMOTE_MTA.host}`,
    `Diagnostic-Code: smtp; ${reply}`,
    ...(failed ? [] : [`Will-Retry-Until: ${postfixDate(new Date(input.arrivedAt.getTime() + RETRY_DAYS * 86_400_000))}`]),
  ];
  const returned = input.originalHeaders.toString('utf8');
  const body = multipart(boundary, [
    part(['Content-Description: Notification', `Content-Type: text/plain; charset=${ascii(text) ? 'us-ascii' : 'utf-8'}`], text),
    part(['Content-Description: Delivery report', 'Content-Type: message/delivery-status'], block(perMessage) + CRLF + block(perRecipient)),
    part(
      [`Content-Description: ${failed ? 'Undelivered' : 'Delayed'} Message Headers`, 'Content-Type: text/rfc822-headers'],
      returned,
    ),
  ]);
  const headers = [
    `From: MAILER-DAEMON@${host} (Mail Delivery System)`,
    `Subject: ${failed ? 'Undelivered Mail Returned to Sender' : 'Delayed Mail (still being retried)'}`,
    `To: ${to}`,
    'Auto-Submitted: auto-replied',
    'MIME-Version: 1.0',
    'Content-Type: multipart/report; report-type=delivery-status;',
    `\tboundary="${boundary}"`,
    'Content-Transfer-Encoding: 8bit',
  ];
  return { headers, body };
}

/** A header's value from a header block (folded lines joined), or null. */
function headerValue(headers: string, name: string): string | null {
  const unfolded = headers.replace(/\r?\n[ \t]+/g, ' ');
  for (const line of unfolded.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0 && line.slice(0, colon).trim().toLowerCase() === name) return line.slice(colon + 1).trim();
  }
  return null;
}

/** The domain of the first address in a From: value, or null. */
function domainOf(value: string | null): string | null {
  const m = value?.match(/@([A-Za-z0-9.-]+)/);
  return m ? m[1]!.toLowerCase() : null;
}

/** The original headers with the To: field's value replaced, as feedback loops redact it. */
function redactTo(headers: string, recipient: string): string {
  const domain = domainOf(recipient) ?? 'redacted.invalid';
  const out: string[] = [];
  let inTo = false;
  for (const line of headers.split(CRLF)) {
    if (inTo && /^[ \t]/.test(line)) continue;
    inTo = /^to[ \t]*:/i.test(line);
    out.push(inTo ? `To: <redacted@${domain}>` : line);
  }
  return out.join(CRLF);
}

function complaint(input: ReportInput, boundary: string, to: string): { headers: string[]; body: string } {
  const { reportingHost: host, envelope } = input;
  const original = input.originalHeaders.toString('utf8');
  const reportedDomain = domainOf(headerValue(original, 'from')) ?? domainOf(envelope.from) ?? host;
  const arrival = rfc5322Date(input.arrivedAt);
  const text = block([
    wrap(`This is an email abuse report for an email message received on ${arrival}: a user of ${host} marked it as spam.`, 72, ''),
    'For more information about this format please see',
    'https://www.rfc-editor.org/rfc/rfc5965.',
  ]);
  const feedback = block([
    'Feedback-Type: abuse',
    'User-Agent: rebound-sink/1',
    'Version: 1',
    `Original-Mail-From: <${envelope.from}>`,
    `Original-Rcpt-To: <${envelope.recipient}>`,
    `Arrival-Date: ${arrival}`,
    `Reporting-MTA: dns; ${host}`,
    `Reported-Domain: ${reportedDomain}`,
  ]);
  const body = multipart(boundary, [
    part(['Content-Type: text/plain; charset=us-ascii', 'Content-Transfer-Encoding: 7bit'], text),
    part(['Content-Type: message/feedback-report'], feedback),
    // the header block and the empty line that ends it: the body is left out
    part(['Content-Type: message/rfc822', 'Content-Disposition: inline'], redactTo(original, envelope.recipient) + CRLF),
  ]);
  const headers = [
    `From: Feedback Loop <feedback@${host}>`,
    `Subject: Abuse report: a message from ${reportedDomain}`,
    `To: ${to}`,
    'MIME-Version: 1.0',
    'Content-Type: multipart/report; report-type=feedback-report;',
    `\tboundary="${boundary}"`,
    'Content-Transfer-Encoding: 8bit',
  ];
  return { headers, body };
}

/** The report about `input.envelope.recipient`; null when it has nowhere to go (the null sender). */
export function buildReport(input: ReportInput): BuiltReport | null {
  const to = reportRecipient(input.kind, input.envelope.from);
  if (to === null) return null;
  const stamp = Math.floor(input.date.getTime() / 1000);
  const boundary = `${input.reportQueueId}.${stamp}/${input.reportingHost}`;
  const messageId = `<${input.date.toISOString().replace(/\D/g, '').slice(0, 14)}.${input.reportQueueId}@${input.reportingHost}>`;
  const { headers, body } = input.kind === 'complaint' ? complaint(input, boundary, to) : dsn(input, input.kind, boundary, to);
  const top = block([`Date: ${rfc5322Date(input.date)}`, `Message-ID: ${messageId}`, ...headers]);
  return { envelope: { from: '', to }, messageId, raw: Buffer.from(top + CRLF + body, 'utf8') };
}
