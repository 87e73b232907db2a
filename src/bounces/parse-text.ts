// Plain-text bounces (README "Late outcomes", parsing): the non-delivery mails of Exim, Postfix,
// Sendmail, qmail, Courier, Exchange/Outlook, Gmail, Yahoo, SES and others that carry no
// machine-readable part, or a delivery-status part without recipients. The recipient and the
// reason come from the human text: every address in it that is not the bounce's own sender or
// receiver, with the reply written near it. Pure.
import type { DsnAction } from './contract';
import { fieldValue, linesOf } from './parse-fields';
import type { ReceivedMail } from './parse-mime';
import { cleanAddress, MAX_RECIPIENTS, NAMED_CODE, RecipientEvidence } from './parse-outcome';

/** Human text read; a bounce's explanation is a few lines, the rest is the returned message. */
const MAX_HUMAN_CHARS = 64 * 1024;
/** Lines after an address read for its reason. */
const WINDOW_LINES = 10;
/** Lines after an address searched for a reply code when its own window has none. */
const CODE_SEARCH_LINES = 15;

/** Local parts of the mail system itself, never a failed recipient. */
const SYSTEM_LOCAL_PARTS = /^(?:mailer-daemon|mail-daemon|mailerdaemon|postmaster|mail delivery system)$/i;
const DAEMON_SENDER = /^(?:mailer-daemon|mail-daemon|mailerdaemon|postmaster|mail\.?delivery|maildelivery|nobody|bounces?|mdaemon|daemon)@/i;
const BOUNCE_SUBJECT = new RegExp(
  [
    'undeliver', 'returned mail', 'returned to sender', 'delivery (?:status )?(?:notification|failure|failed|problem|report)',
    'mail delivery (?:failed|failure|system|subsystem|error)', 'failure notice', 'failure delivery', 'failed delivery',
    'could not be delivered', 'non[- ]?deliver', 'delivery has failed', 'delivery delayed', 'delayed mail', 'delivery warning',
    'warning: could not send', 'warning: message .* delayed', 'mail system error', 'nicht zustellbar', 'unzustellbar',
    'non remis', 'no entregado', 'mail delivery status', 'delivery status', 'automatically rejected', 'rejected mail', 'bounced? mail', 'mail failure', 'error sending', 'message not delivered',
  ].join('|'),
  'i',
);
/** A line that ends the explanation and starts the returned message. */
const RETURNED_MARKER = [
  /^\s*[-=_*]{2,}.*\b(?:message|headers?|body)\b/i,
  /\b(?:copy of (?:the |your )?(?:original )?message|(?:original|undelivered|returned|unsent) message (?:follows|below|headers?|is attached)|below this line|message headers? follows|text of the message follows)\b/i,
];
/** Header lines quoted in the explanation (Exchange: "  To: list@example.org"): not recipients. */
const QUOTED_HEADER_LINE = /^[\s*>|]*(?:to|cc|from|sender|reply-to|return-path|subject|sent|date|received|delivered-to|message-id|in-reply-to|references|x-[\w-]+)\s*:/i;
/** "not accepting mail from <list@...>": the sender, not a recipient ("expanded from" is the recipient as sent). */
const SENDER_BEFORE = /(?<!expanded |generated |aliased |forwarded )\bfrom:?\s*<?$/i;
const MESSAGE_ID_LINE = /message[- ]?id|identifier|mts-id|queue id/i;
/** An address in prose; non-ASCII allowed (RFC 6531), "=" not, so "SMTP=user@host" (X.400 gateways) gives the address. */
const ADDRESS = /[A-Za-z0-9._%+!#$&'*/?^`{|}~\u0080-\uffff-]{1,64}@[A-Za-z0-9\u0080-\uffff-]{1,63}(?:\.[A-Za-z0-9\u0080-\uffff-]{1,63})+/g;
const REPLY_CODE = new RegExp(`(?<![\\d.[])[45]\\d\\d(?:[ -]|$)|#?[45]\\.\\d{1,3}\\.\\d{1,3}|${NAMED_CODE.source}`, 'i');
/** "This Message was undeliverable due to the following reason:": the reason for every recipient follows. */
const REASON_INTRO = /\bthe following reasons?\s*:\s*$/i;
const DELAY_WORDS = /has not yet been delivered|not been delivered yet|delivery attempts will continue|will (?:continue to )?(?:re)?try|still trying|will be retried|has been delayed|is delayed|delayed \d+ hours|temporarily (?:unable|deferred)|no action is required on your part|will keep trying/i;
const GIVEN_UP_WORDS = /permanent|given up|giving up|gave up|failed permanently|fatal error|will not be (?:retried|delivered)|not going to try again/i;

/** Whether the mail looks like it comes from a mail system about a delivery. */
export function looksLikeBounce(mail: ReceivedMail): boolean {
  return DAEMON_SENDER.test(mail.from) || BOUNCE_SUBJECT.test(mail.subject);
}

export function isSystemAddress(address: string): boolean {
  const at = address.lastIndexOf('@');
  return SYSTEM_LOCAL_PARTS.test(at < 0 ? address : address.slice(0, at));
}

/** The explanation: the text before the returned message starts. */
export function humanPart(text: string): string {
  const lines = linesOf(text.slice(0, MAX_HUMAN_CHARS));
  // The first lines are never the marker: some bounces open with a dashed banner.
  const end = lines.findIndex((line, i) => i > 0 && isReturnedMarker(line));
  return (end < 0 ? lines : lines.slice(0, end)).join('\n');
}

/** "The following addresses did not receive a copy of your message:" introduces recipients. */
function isReturnedMarker(line: string): boolean {
  return line.length < 120 && !/\breceive\b|\baddress/i.test(line) && RETURNED_MARKER.some((re) => re.test(line));
}

/** Whether the explanation says the mail system is still trying (a delay warning). */
export function textAction(mail: ReceivedMail, human: string): DsnAction {
  const says = `${mail.subject}\n${human}`;
  const delayed = DELAY_WORDS.test(says) || /^\s*(?:warning: (?:could not send|message .* delayed)|delayed mail|delivery delayed)/i.test(mail.subject);
  return delayed && !GIVEN_UP_WORDS.test(human) ? 'delayed' : 'failed';
}

/** Addresses that are the bounce's own parties (our sender, the reporting system). */
function ownAddresses(mail: ReceivedMail): Set<string> {
  const own = new Set<string>([mail.from]);
  for (const name of ['to', 'return-path', 'delivered-to', 'envelope-to', 'reply-to', 'sender']) {
    for (const f of mail.headers.filter((h) => h.name === name)) {
      for (const a of f.value.match(ADDRESS) ?? []) own.add(cleanAddress(a));
    }
  }
  return own;
}

interface Occurrence {
  address: string;
  line: number;
}

function occurrencesIn(lines: readonly string[], own: Set<string>): Occurrence[] {
  const found: Occurrence[] = [];
  lines.forEach((line, i) => {
    if (QUOTED_HEADER_LINE.test(line) || MESSAGE_ID_LINE.test(line)) return;
    for (const m of line.matchAll(ADDRESS)) {
      const address = cleanAddress(m[0]);
      if (own.has(address) || isSystemAddress(address) || SENDER_BEFORE.test(line.slice(0, m.index))) continue;
      found.push({ address, line: i });
    }
  });
  return found;
}

/** The reason written at an address: its line and the ones below, up to the next address. */
function windowAt(lines: readonly string[], at: number, addressesByLine: ReadonlyMap<number, ReadonlySet<string>>, address: string): string[] {
  const window = [lines[at]];
  let blanks = 0;
  for (let i = at + 1; i < lines.length && i <= at + WINDOW_LINES; i++) {
    const named = addressesByLine.get(i);
    if ((named && [...named].some((a) => a !== address)) || /^\s*-{3,}/.test(lines[i])) break;
    blanks = lines[i].trim() === '' ? blanks + 1 : 0;
    if (blanks >= 2) break;
    window.push(lines[i]);
  }
  return window;
}

function firstCodedLineAfter(lines: readonly string[], at: number): string | null {
  for (let i = at + 1; i < lines.length && i <= at + CODE_SEARCH_LINES; i++) {
    if (REPLY_CODE.test(lines[i])) return lines[i];
  }
  return null;
}

/** The reason for one address, from the first of its occurrences that gives a code. */
function reasonFor(lines: readonly string[], at: readonly number[], addressesByLine: ReadonlyMap<number, ReadonlySet<string>>, address: string): string | null {
  const windows = at.map((line) => windowAt(lines, line, addressesByLine, address).join('\n'));
  const coded = windows.find((w) => REPLY_CODE.test(w));
  if (coded) return coded;
  const nearby = at.map((line) => firstCodedLineAfter(lines, line)).find((l) => l !== null);
  if (nearby) return `${windows[0]}\n${nearby}`;
  const own = windows.find((w) => /[a-z]{3,}/i.test(stripAddresses(w))) ?? null;
  const introduced = introducedReason(lines);
  if (introduced) return own ? `${introduced}\n${own}` : introduced;
  return own;
}

/**
 * The paragraph after "due to the following reason:" (Netscape Messaging Server), which names the
 * reason once, above the list of recipients, and none at the addresses themselves.
 */
export function introducedReason(lines: readonly string[]): string | null {
  const at = lines.findIndex((l) => REASON_INTRO.test(l));
  if (at < 0) return null;
  const paragraph: string[] = [];
  for (let i = at + 1; i < lines.length && i <= at + WINDOW_LINES; i++) {
    if (lines[i].trim() === '') {
      if (paragraph.length > 0) break;
      continue;
    }
    paragraph.push(lines[i]);
  }
  return paragraph.length > 0 ? paragraph.join('\n') : null;
}

function stripAddresses(text: string): string {
  return text.replace(ADDRESS, '').replace(/[<>:;()\s]+/g, ' ');
}

function quotedTo(lines: readonly string[], own: Set<string>): string[] {
  const to = lines.filter((l) => /^[\s*>|]*to\s*:/i.test(l)).flatMap((l) => l.match(ADDRESS) ?? []);
  return to.map(cleanAddress).filter((a) => !own.has(a) && !isSystemAddress(a));
}

/** Exim names the failed recipients in a header of its own. */
function eximFailedRecipients(mail: ReceivedMail): string[] {
  const value = fieldValue(mail.headers, 'x-failed-recipients');
  return value ? (value.match(ADDRESS) ?? []).map(cleanAddress) : [];
}

/** Every recipient the human text names, with the reason written near it. */
export function readTextBounce(mail: ReceivedMail, human: string): RecipientEvidence[] {
  const lines = linesOf(human);
  const own = ownAddresses(mail);
  const occurrences = occurrencesIn(lines, own);
  const addressesByLine = new Map<number, Set<string>>();
  for (const o of occurrences) addressesByLine.set(o.line, (addressesByLine.get(o.line) ?? new Set()).add(o.address));
  const named = [...new Set([...eximFailedRecipients(mail), ...occurrences.map((o) => o.address)])];
  // Last resort (Yahoo's HTML bounce): the returned message's To, quoted in the explanation.
  const order = (named.length > 0 ? named : quotedTo(lines, own)).slice(0, MAX_RECIPIENTS);
  const action = textAction(mail, human);
  return order.map((address) => {
    const at = occurrences.filter((o) => o.address === address).map((o) => o.line);
    const reason = at.length > 0 ? reasonFor(lines, at, addressesByLine, address) : null;
    return { address, action, status: null, diagnostic: reason ? trimReason(reason, address) : null };
  });
}

/** The reason without its leading address and punctuation ("<a@b>: host x said: 550 ..."). */
function trimReason(reason: string, address: string): string {
  const flat = reason.replace(/\s+/g, ' ').trim();
  const lower = flat.toLowerCase();
  const at = lower.indexOf(address);
  const rest = at === 0 || (at > 0 && at <= 2) ? flat.slice(at + address.length) : flat;
  return rest.replace(/^[\s>:;,.]+/, '').trim();
}
