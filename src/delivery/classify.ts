// Reply classification (spec section 2): raw SMTP answer or connection failure -> kind + category
// + scope (whom the reply is about, spec 1).
//
// Pure: imported by workflow code, so no I/O, no Node built-ins, nothing but ../types.
//
// Rules, in order (spec 2):
//   1. an RFC 3463 enhanced status code decides over the basic code where they disagree;
//   2. recognisable text refines the category;
//   3. the first digit decides the rest.
// Two safety principles shape the judgement calls below, because a wrong hard bounce suppresses
// an address for months while a wrong soft bounce only costs a retry:
//   - text about the *sender* (our domain, our IP, our quota) never lands in a category that
//     suppresses the recipient;
//   - a reply without any status code (local or connection error) is never hard;
//   - a scope is `recipient` only when the reply is about the mailbox or address: a wrong
//     `recipient` scope blames a valid address, a wrong other scope only delays a suppression.

import { BounceCategory, ClassifiedReply, RawReply, ReplyKind, ReplyScope, REPLY_SCOPES, SOFT_CATEGORIES } from './contract';
import { hardBounceBlame } from '../reputation/blame';

// ---------------------------------------------------------------------------------------------
// Parsing a reply line
// ---------------------------------------------------------------------------------------------

/** Error codes of connection-level failures (Node's net/dns/tls layer and nodemailer's). */
const CONNECTION_ERROR_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'ETIMEDOUT', 'EAI_AGAIN', 'ENOTFOUND',
  'EHOSTUNREACH', 'EHOSTDOWN', 'ENETUNREACH', 'ENETDOWN', 'EPIPE', 'ESOCKET', 'ECONNECTION',
  'ETLS', 'EDNS', 'EPROTOCOL',
]);
/** OpenSSL / Node TLS verification codes (CERT_HAS_EXPIRED, ERR_TLS_CERT_ALTNAME_INVALID, ...). */
const TLS_ERROR_CODE = /^(?:ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_)[A-Z0-9_]+$/;

/**
 * Basic code, optionally preceded by digit-free "label:" / "label;" segments: "smtp; 550 ...",
 * "Error: 550 ...", nodemailer's "Can't send mail - all recipients were rejected: 550 ...".
 */
const CODED_LINE = /^(?:[^\d:;\r\n]{0,80}[:;]\s*)*?([2-5]\d\d)(?:[ -]|$)(.*)$/s;
/** RFC 3463 enhanced code: class.subject.detail, subject and detail 1-3 digits. */
const LEADING_ENHANCED = /^([245]\.\d{1,3}\.\d{1,3})(?=\s|$|[,;:])[,;:]?\s*/;
/** qmail and some others put the enhanced code at the end: "(#5.7.1)". */
const HASH_ENHANCED = /#([245]\.\d{1,3}\.\d{1,3})\b/;

/**
 * Parses a raw SMTP reply (one line, or a multi-line reply with "550-" continuations) or a
 * connection error message into its parts. Never throws.
 */
export function parseReplyLine(line: string): RawReply {
  const lines = String(line ?? '').split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '');
  const first = lines[0] ?? '';
  const coded = CODED_LINE.exec(first);
  if (!coded) return parseUncoded(lines.join(' '));

  const code = Number(coded[1]);
  const head = splitEnhanced(coded[2].trim());
  const texts = [head.text, ...lines.slice(1).map((l) => continuationText(l, coded[1]))];
  const text = texts.filter((t) => t !== '').join(' ').replace(/\s+/g, ' ').trim();
  const enhanced = head.enhanced ?? HASH_ENHANCED.exec(text)?.[1] ?? null;
  return { code, enhanced, text, errorCode: null };
}

function splitEnhanced(rest: string): { enhanced: string | null; text: string } {
  const m = LEADING_ENHANCED.exec(rest);
  return m ? { enhanced: m[1], text: rest.slice(m[0].length) } : { enhanced: null, text: rest };
}

/** A continuation line repeats the code (and usually the enhanced code): drop both. */
function continuationText(line: string, code: string): string {
  if (!line.startsWith(code)) return line;
  const rest = line.slice(3).replace(/^[ -]/, '').trim();
  return splitEnhanced(rest).text;
}

/**
 * No basic code: a connection failure ("ECONNREFUSED ...", "Error: connect ETIMEDOUT ...") or
 * plain text. The text keeps the error code, because ClassifiedReply has no errorCode field and
 * the text is what operators will see.
 */
function parseUncoded(line: string): RawReply {
  const text = line.replace(/^(?:smtp\s*;|(?:smtp)?error\s*:)\s*/i, '').trim();
  const errorCode = findErrorCode(text);
  const enhanced = errorCode ? null : (LEADING_ENHANCED.exec(text)?.[1] ?? null);
  return { code: null, enhanced, text: enhanced ? splitEnhanced(text).text : text, errorCode };
}

function findErrorCode(text: string): string | null {
  for (const token of text.match(/\b[A-Z][A-Z0-9_]{2,}\b/g) ?? []) {
    if (CONNECTION_ERROR_CODES.has(token) || TLS_ERROR_CODE.test(token)) return token;
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Wait hints
// ---------------------------------------------------------------------------------------------

const UNIT_MS: ReadonlyArray<[RegExp, number]> = [
  [/^(?:milliseconds?|msecs?|ms)$/i, 1],
  [/^(?:seconds?|secs?|s)$/i, 1_000],
  [/^(?:minutes?|mins?|m)$/i, 60_000],
  [/^(?:hours?|hrs?|h)$/i, 3_600_000],
  [/^(?:days?|d)$/i, 86_400_000],
];
/** Words that introduce a wait: "try again in", "retry after", "wait", "greylisted for". */
const LEAD = String.raw`\b(?:in|after|for|wait|retry|delay(?:ed)?(?:\s+(?:of|for|by))?)\s+`;
const AMOUNT = String.raw`(?:about\s+|approximately\s+|at\s+least\s+|another\s+)?(\d+(?:\.\d+)?|an?|one)`;
const UNIT = String.raw`(milliseconds?|msecs?|ms|seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h|days?|d)`;
const DURATION_HINT = new RegExp(`${LEAD}${AMOUNT}\\s*${UNIT}\\b`, 'i');
/** hh:mm:ss or mm:ss, as greylisting daemons print it ("come back in 00:05:00"). */
const CLOCK_HINT = new RegExp(`${LEAD}(?:(\\d{1,3}):)?(\\d{1,2}):(\\d{2})\\b`, 'i');

/** The wait the server asks for, in milliseconds; null when the text gives none. */
export function parseWaitHint(text: string): number | null {
  const s = String(text ?? '');
  const duration = DURATION_HINT.exec(s);
  const clock = CLOCK_HINT.exec(s);
  // When both forms occur, the one written first is the server's hint.
  const ms = clock && (!duration || clock.index < duration.index) ? clockMs(clock) : duration ? durationMs(duration) : null;
  return ms !== null && Number.isFinite(ms) && ms > 0 ? Math.round(ms) : null;
}

function durationMs(m: RegExpExecArray): number | null {
  const amount = /^\d/.test(m[1]) ? Number(m[1]) : 1; // "a minute", "an hour", "one hour"
  const unit = UNIT_MS.find(([re]) => re.test(m[2]));
  return unit ? amount * unit[1] : null;
}

function clockMs(m: RegExpExecArray): number {
  const hours = m[1] === undefined ? 0 : Number(m[1]);
  return ((hours * 60 + Number(m[2])) * 60 + Number(m[3])) * 1_000;
}

// ---------------------------------------------------------------------------------------------
// Text patterns (tested against the reply text, case-insensitively)
// ---------------------------------------------------------------------------------------------

/**
 * The server is rejecting *us* (sender address, sender domain, our sending quota), not the
 * recipient: e.g. Postfix "Sender address rejected: Domain not found", Exim "Sender verify
 * failed", Gmail "550 5.4.5 Daily user sending quota exceeded". Checked first so that the
 * recipient-looking words in these replies ("domain not found", "user unknown") never suppress.
 */
const SENDER_SIDE = /sender address rejected|sender verify|verify sender|sender (?:domain|address) (?:must|does|is|not|unknown)|unknown sender|envelope sender|badmailfrom|sending (?:quota|limit)|daily (?:user )?sending/i;

/** Mailbox over quota. "sending quota" is excluded: that is the sender's quota. */
const MAILBOX_FULL = /over ?quota|(?<!sending |send )quota (?:exceeded|exceeds)|exceeded (?:its |their |the |his |her )?(?:storage|quota|mailbox)|mail ?box (?:is )?full|full mail ?box|mail ?box (?:size|storage|quota) (?:limit )?(?:exceeded|reached)|quotaexceeded|exceeded storage allocation|insufficient (?:disk )?(?:space|storage) (?:in|for) (?:the )?(?:mailbox|user|recipient)/i;

const GREYLIST = /gr[ae]y[- ]?list/i;

/** Rate limiting and throttling (Gmail "receiving mail too quickly", "too many connections"...). */
const RATE_LIMIT = /too many (?:\w+ )?(?:connections|messages|mails|emails|recipients|sessions|requests|concurrent)|rate[- ]?limit|receiving mail (?:too quickly|at a rate)|too (?:fast|quickly)|unusual rate|throttl|slow down|how many messages|connection limit|(?:message|sending) rate|exceeded (?:the )?(?:maximum )?(?:number|rate) of|login attempts/i;

/** The receiving server's own trouble (storage, resources, lookups, configuration). */
const SERVER_TROUBLE = /local problem|system (?:problem|resources|storage|error)|lookup fail|configuration (?:problem|error)|server (?:is )?(?:busy|error)|service (?:is )?(?:temporarily )?(?:not available|unavailable)|internal (?:server )?error|queue (?:is )?full|resources? (?:temporarily )?unavailable|qq temporary problem/i;

/** "try again later", "please come back in 00:05:00": greylisting-style deferral (450/451). */
const TRY_LATER = /\b(?:try|come back|retry|resend)\b(?:\s+\w+){0,2}?\s+(?:later|in|after)\b/i;

/** RFC 5321 4.5.3.1.10: a 552 "too many recipients" is to be treated as temporary. */
const TOO_MANY_RECIPIENTS = /too many recipients/i;

const TOO_LARGE = /(?:message|mail|email) (?:size|length) exceed|exceeds? (?:the )?(?:maximum |fixed )?(?:allowed |permitted )?(?:message )?size|(?:message|mail|email) (?:is |was )?too (?:large|big)|size limit|databytes|maximum (?:message )?size/i;

/** Spam, blocklists, SPF/DKIM/DMARC, relaying and access policy: the sender's problem. */
const POLICY = /\b(?:SC|OU|DY)-00\d\b|messages from \S+ weren'?t sent|spam|block ?list|black ?list|blocked|listed (?:on|in|at|by)|\brbl\b|dnsbl|spamhaus|reputation|\bspf\b|\bdkim\b|\bdmarc\b|unauthenticated|authentication (?:required|failed|checks)|not authori[sz]ed|relay|rcpthosts|policy|access denied|administrative prohibition|prohibited|complaints?|not accepted from|content rejected|virus|malware|phish/i;

const UNKNOWN_DOMAIN = /domain (?:not found|does not exist|doesn'?t exist|unknown|is not valid)|(?:no such|unknown|non-?existent|invalid) domain|host (?:unknown|not found)|unknown host|unroute?able address|no mx|null mx|nonexistentdomain|all relevant mx records/i;

const MAILBOX_DISABLED = /(?:account|mail ?box|user)\b[^.;]{0,40}\b(?:disabled|inactive|deactivated|suspended|closed|locked|blocked by the user)\b/i;

const UNKNOWN_USER = /user unknown|unknown (?:user|recipient|mailbox|local ?part)|no such (?:user|mailbox|recipient|account|address|person)|(?:does not|doesn'?t|not) exist|recipient(?:not)? ?found|recipient not found|mailbox not found|not a known user|no mailbox here|invalid (?:recipient|mailbox|user)|user not found|account not found|doesn'?t have an? \S+ account|does not have an? \S+ account|address (?:is )?unknown|unknown address/i;

const INVALID_ADDRESS = /(?:bad|invalid|illegal|malformed) (?:recipient |destination )?address|address syntax|syntax (?:error )?(?:in|of) (?:the )?(?:recipient|address|mailbox)|fully[- ]qualified address|not a valid (?:rfc[- ]?\d+ )?address/i;

const CONNECTION_TEXT = /greeting never received|connection (?:timed out|timeout|refused|reset|closed|lost|dropped)|socket (?:closed|hang up|timeout)|unexpected socket close|closed unexpectedly|timed out|getaddrinfo|\btls\b|\bssl\b|certificate|handshake/i;

// ---------------------------------------------------------------------------------------------
// Classification
// ---------------------------------------------------------------------------------------------

interface Enhanced {
  cls: number;
  subject: number;
  detail: number;
}

function parseEnhanced(enhanced: string | null): Enhanced | null {
  const m = /^([245])\.(\d{1,3})\.(\d{1,3})$/.exec((enhanced ?? '').trim());
  return m ? { cls: Number(m[1]), subject: Number(m[2]), detail: Number(m[3]) } : null;
}

const isSoftCategory = (c: BounceCategory): boolean => (SOFT_CATEGORIES as readonly string[]).includes(c);

function kindOf(category: BounceCategory): ReplyKind {
  if (category === 'delivered') return 'delivered';
  return isSoftCategory(category) ? 'soft' : 'hard';
}

/** Classifies one reply (spec 2). The wait hint is always parsed, whatever the category. */
export function classifyReply(reply: RawReply): ClassifiedReply {
  const category = categorise(reply);
  return {
    code: reply.code,
    enhanced: reply.enhanced,
    text: reply.text,
    kind: kindOf(category),
    category,
    scope: scopeOf(reply, category),
    retryAfterMs: parseWaitHint(reply.text),
  };
}

/** parseReplyLine + classifyReply. */
export function classifyLine(line: string): ClassifiedReply {
  return classifyReply(parseReplyLine(line));
}

/** Whether this reply puts the address on the suppression list at once (spec 2 and 5). */
export function suppressesAddress(c: ClassifiedReply): boolean {
  return c.kind === 'hard' && hardBounceBlame(c).counts;
}

function categorise(reply: RawReply): BounceCategory {
  const text = reply.text ?? '';
  const enhanced = parseEnhanced(reply.enhanced);
  if (reply.code === null && !enhanced) return uncodedCategory(reply, text);
  // An accepted recipient is accepted, whatever else the line says.
  if (reply.code !== null && reply.code >= 200 && reply.code < 300) return 'delivered';
  // Rule 1: the enhanced class (RFC 3463 section 3.1) decides permanence over the basic code.
  const cls = enhanced ? enhanced.cls : Math.floor((reply.code ?? 0) / 100);
  if (cls === 2) return 'delivered';
  return cls === 5 ? permanentCategory(reply.code, enhanced, text) : transientCategory(reply.code, enhanced, text);
}

/**
 * No status code at all: a connection-level failure, or a local error with no server verdict.
 * Never hard: without a code nobody said "permanent", and retrying is cheap.
 */
function uncodedCategory(reply: RawReply, text: string): BounceCategory {
  if (reply.errorCode || CONNECTION_TEXT.test(text)) return 'network_error';
  return transientCategory(null, null, text);
}

/** 4xx (or a 4.x.x enhanced code): soft. */
function transientCategory(code: number | null, e: Enhanced | null, text: string): BounceCategory {
  // RFC 3463 X.2.2 "mailbox full" is a persistent transient condition.
  if ((e && e.subject === 2 && e.detail === 2) || MAILBOX_FULL.test(text)) return 'mailbox_full';
  if (GREYLIST.test(text)) return 'greylisted';
  if (RATE_LIMIT.test(text) || isRateLimitCode(e)) return 'rate_limited';
  // X.3.x is "mail system status", X.4.x "network and routing status" (RFC 3463 sections
  // 3.5/3.6). A 4.4.x that *says* "too many ..." was caught by RATE_LIMIT above: text is the
  // better clue there, because MTAs use 4.4.x loosely for connection-level throttling.
  if (SERVER_TROUBLE.test(text) || (e && (e.subject === 3 || e.subject === 4))) return 'server_unavailable';
  if (SENDER_SIDE.test(text)) return 'temporary_failure';
  // 421 "Service not available, closing transmission channel" (RFC 5321 4.2.3), no other clue.
  if (code === 421) return 'server_unavailable';
  if ((code === 450 || code === 451) && TRY_LATER.test(text)) return 'greylisted';
  return 'temporary_failure';
}

/**
 * 4.7.0 (Gmail/Yahoo deferrals) and 4.7.28 (Gmail "unusual rate") mean "send slower", and so
 * does Exchange Online's 4.7.500-4.7.699 range (NDR "451 4.7.500-699 (ASxxx)": the sending IP
 * is throttled, e.g. "451 4.7.500 Server busy. Please try again later from [IP]").
 */
function isRateLimitCode(e: Enhanced | null): boolean {
  if (e === null || e.cls !== 4 || e.subject !== 7) return false;
  return e.detail === 0 || e.detail === 28 || (e.detail >= 500 && e.detail <= 699);
}

/** 5xx (or a 5.x.x enhanced code): hard, except mailbox full and 552 too-many-recipients. */
function permanentCategory(code: number | null, e: Enhanced | null, text: string): BounceCategory {
  if (SENDER_SIDE.test(text)) return 'policy_block';
  return byEnhancedCode(e, text) ?? byPermanentText(text) ?? byBasicCode(code, e, text);
}

/** Enhanced codes specific enough to decide on their own (RFC 3463 section 3). */
function byEnhancedCode(e: Enhanced | null, text: string): BounceCategory | null {
  if (!e) return null;
  const sd = `${e.subject}.${e.detail}`;
  if (sd === '2.2') return 'mailbox_full';
  if (sd === '3.4' || sd === '2.3') return 'message_too_large'; // too big for system / mailbox
  if (sd === '1.1' || sd === '1.10' || sd === '1.6') return 'unknown_user'; // 1.6: moved, no forward
  if (sd === '1.2') return 'unknown_domain';
  if (sd === '1.3') return 'invalid_address';
  if (sd === '2.1') return 'mailbox_disabled';
  // X.1.7/X.1.8 are the *sender's* address; X.7.x is security or policy status.
  if (sd === '1.7' || sd === '1.8' || e.subject === 7) return 'policy_block';
  // Microsoft 365 answers unknown recipients of its domains with "5.4.1 Recipient address
  // rejected: Access denied" (directory-based edge blocking).
  if (sd === '4.1' && /recipient address rejected/i.test(text)) return 'unknown_user';
  return null;
}

/** Text refinements for permanent replies; policy first, so a doubt never suppresses. */
function byPermanentText(text: string): BounceCategory | null {
  if (TOO_MANY_RECIPIENTS.test(text)) return 'rate_limited';
  if (TOO_LARGE.test(text)) return 'message_too_large';
  if (MAILBOX_FULL.test(text)) return 'mailbox_full';
  if (POLICY.test(text)) return 'policy_block';
  if (UNKNOWN_DOMAIN.test(text)) return 'unknown_domain';
  if (MAILBOX_DISABLED.test(text)) return 'mailbox_disabled';
  if (UNKNOWN_USER.test(text)) return 'unknown_user';
  if (INVALID_ADDRESS.test(text)) return 'invalid_address';
  return null;
}

/** Rule 3, with the basic codes that carry meaning of their own (RFC 5321 4.2.2/4.2.3). */
function byBasicCode(code: number | null, e: Enhanced | null, text: string): BounceCategory {
  const generic = !e || e.subject === 0 || e.subject === 2;
  // 552 "Requested mail action aborted: exceeded storage allocation".
  if (code === 552 && generic) return 'mailbox_full';
  // 501 (syntax error in parameters) / 553 (mailbox name not allowed) at RCPT: the address is
  // malformed. A 501 about HELO/EHLO is about our greeting, not the address.
  if ((code === 501 || code === 553) && !/\b(?:helo|ehlo)\b/i.test(text)) return 'invalid_address';
  return 'permanent_failure';
}

// ---------------------------------------------------------------------------------------------
// Scope: whom a reply is about (spec 1-2)
// ---------------------------------------------------------------------------------------------
//
// Decided in this order, each step only when the previous ones said nothing:
//   1. categories whose scope never depends on the codes (delivered, connection failures,
//      greylisting, size);
//   2. enhanced codes that name the party outright: X.6 content, X.7 policy, the sender's
//      address (X.1.7/X.1.8), size and recipient-count limits, a soft X.1.2;
//   3. the sender: policy blocks and text about our envelope address or sending quota;
//   4. the recipient categories (unknown user, disabled, invalid, full, unknown domain);
//   5. the sender again: text about our IP, host or reputation (after step 4, so a reply the
//      categories already pinned on the mailbox keeps its recipient scope);
//   6. the server's own trouble (server_unavailable): the destination;
//   7. a "too many recipients" limit: the message;
//   8. the RFC 3463 subject of the enhanced code;
//   9. without one: the category, the basic code and the wording.

/** Scope fixed by the category alone, whatever the codes say. */
const CATEGORY_SCOPE: Partial<Record<BounceCategory, ReplyScope>> = {
  // 2xx: the mailbox accepted the message.
  delivered: 'recipient',
  // Refused, reset, timed out, TLS, DNS: the receiving server could not be talked to.
  network_error: 'destination',
  // Greylisting is the receiving server's policy towards unknown triplets, whatever enhanced
  // code it comes with (postgrey answers 450 4.2.0, milter-greylist 451 4.7.1).
  greylisted: 'destination',
  message_too_large: 'message',
};

/** RFC 3463 subject.detail codes that name the party on their own (section 3). */
const DETAIL_SCOPE: Readonly<Record<string, ReplyScope>> = {
  '1.7': 'sender', // X.1.7 bad sender's mailbox address syntax
  '1.8': 'sender', // X.1.8 bad sender's system address
  '2.3': 'message', // X.2.3 message length exceeds administrative limit
  '3.4': 'message', // X.3.4 message too big for system
  '5.3': 'message', // X.5.3 too many recipients (for this message)
};

/** RFC 3463 subjects that name the party on their own: X.6 content/media, X.7 security/policy. */
const STRONG_SUBJECT_SCOPE: Readonly<Record<number, ReplyScope>> = {
  6: 'message',
  7: 'sender',
};

/** RFC 3463 subjects (section 3): X.1 addressing, X.2 mailbox, X.3 mail system, X.4 network
 * and routing, X.5 protocol, X.6 content, X.7 policy. X.0 ("other or undefined") says nothing. */
const SUBJECT_SCOPE: Readonly<Record<number, ReplyScope>> = {
  1: 'recipient',
  2: 'recipient',
  3: 'destination',
  4: 'destination',
  5: 'destination',
  6: 'message',
  7: 'sender',
};

/** Categories that are about the mailbox or address itself. */
const RECIPIENT_CATEGORIES: ReadonlySet<BounceCategory> = new Set<BounceCategory>([
  'unknown_user', 'mailbox_disabled', 'invalid_address', 'mailbox_full', 'unknown_domain',
]);

/**
 * Text about the sending side (our IP, host, domain or reputation): Exim "Too many concurrent
 * SMTP connections from this IP address", "too many connections from your IP", Yahoo's "[TS01]"
 * / "[TSS04]" deferrals, Outlook.com's RP-00x (rate), SC-00x / OU-00x / DY-00x (IP blocked)
 * codes. A literal IP alone ("too many connections from 203.0.113.5") does not count: it names
 * no reason, and X.4 throttling of that kind is the receiving site's capacity.
 */
const SENDER_SOURCE = /\b(?:from|of|for) (?:your|this|the sending) (?:ip|host|server|network|domain|mail server|mta)\b|\byour (?:sending )?ip\b|\bsending (?:ip|host|server|mta)\b|\b(?:ip|sender|domain) reputation\b|\[TSS?\d\d\]|\b(?:RP|SC|OU|DY)-00\d\b/i;

/** Gmail X.2.1 "The user you are trying to contact is receiving mail too quickly / at a rate". */
const RECIPIENT_RATE = /\breceiving (?:mail|messages|email) (?:too quickly|too fast|at a rate)\b/i;

/** A 4xx without enhanced code that names the mailbox (RFC 5321 450 "mailbox unavailable"). */
const MAILBOX_WORDING = /\bmail ?box(?:es)?\b|\brecipient\b|\b(?:user|account|addressee)\b/i;

function isReplyScope(value: unknown): value is ReplyScope {
  return typeof value === 'string' && (REPLY_SCOPES as readonly string[]).includes(value);
}

/**
 * Whom a reply is about (spec 1-2), from the reply and the category `categorise` decided.
 * Pure and total; uses only code, enhanced code and text, so a reply stored without its
 * errorCode gets the same scope again.
 */
export function scopeOf(reply: RawReply, category: BounceCategory): ReplyScope {
  const fixed = CATEGORY_SCOPE[category];
  if (fixed) return fixed;
  const text = reply.text ?? '';
  const e = parseEnhanced(reply.enhanced);
  const named = e ? scopeNamedByCode(e) : null;
  if (named) return named;
  if (category === 'policy_block' || SENDER_SIDE.test(text)) return 'sender';
  if (RECIPIENT_CATEGORIES.has(category)) return 'recipient';
  if (SENDER_SOURCE.test(text)) return 'sender';
  if (category === 'server_unavailable') return 'destination';
  if (category === 'rate_limited' && TOO_MANY_RECIPIENTS.test(text)) return 'message';
  if (e && e.subject !== 0) return SUBJECT_SCOPE[e.subject] ?? 'destination';
  return scopeWithoutSubject(reply.code, category, text);
}

/** Step 2: enhanced codes that name the party whatever the category or the text says. */
function scopeNamedByCode(e: Enhanced): ReplyScope | null {
  const byDetail = DETAIL_SCOPE[`${e.subject}.${e.detail}`];
  if (byDetail) return byDetail;
  // A *transient* X.1.2 "bad destination system address" is a DNS lookup that failed for now
  // (Postfix "450 4.1.2 ... Domain not found" on a SERVFAIL): the domain's DNS, not the address.
  if (e.cls === 4 && e.subject === 1 && e.detail === 2) return 'destination';
  return STRONG_SUBJECT_SCOPE[e.subject] ?? null;
}

/**
 * Step 9: no enhanced subject to go by (no enhanced code, or X.0.x, which RFC 3463 section 3.1
 * reserves for errors of which only the class is known: the basic code keeps its meaning).
 */
function scopeWithoutSubject(code: number | null, category: BounceCategory, text: string): ReplyScope {
  switch (category) {
    case 'rate_limited':
      return RECIPIENT_RATE.test(text) ? 'recipient' : 'destination';
    case 'temporary_failure':
      // Without a code nobody spoke about the mailbox: a local or connection-level error.
      return code !== null && MAILBOX_WORDING.test(text) ? 'recipient' : 'destination';
    case 'permanent_failure':
      // RFC 5321 4.2.2: 550 "mailbox unavailable", 551 "user not local". Any other code left
      // unexplained (554 "Transaction failed", 500-504 protocol errors) names no mailbox.
      return code === 550 || code === 551 ? 'recipient' : 'destination';
    default:
      return 'destination';
  }
}

/**
 * The scope of a classified reply: the stored one, or for replies recorded before scopes
 * existed, the one derived from code, enhanced code, text and category.
 */
export function replyScope(
  reply: Pick<ClassifiedReply, 'code' | 'enhanced' | 'text' | 'category'> & { scope?: ReplyScope },
): ReplyScope {
  if (isReplyScope(reply.scope)) return reply.scope;
  return scopeOf({ code: reply.code, enhanced: reply.enhanced, text: reply.text ?? '' }, reply.category);
}
