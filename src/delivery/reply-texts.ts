// The wordings classification recognises, as lists of alternatives: one per line, each with a
// sample reply it is written for (test/unit/classify-patterns.test.ts checks every sample
// matches its own alternative and classifies to its list's category). Pure: imported by
// workflow code through classify.ts.
//
// The longer patterns are lists of alternatives, one per line, each with a reply it is written
// for; `anyOf` joins a list with `|` into one case-insensitive regex, exactly as if it were
// written on one line. test/unit/classify-patterns.test.ts checks that every sample matches its
// own alternative and classifies as its list decides. A sample avoids codes and words that an
// earlier rule would decide on (an enhanced code such as 5.1.1, a 552), so it shows its
// alternative doing the work; the two alternatives an earlier one already covers say so.

/** One alternative of a text pattern (no flags: the list's regex is case-insensitive). */
export interface TextAlternative {
  readonly pattern: RegExp;
  /** A reply line the alternative is meant to match. */
  readonly sample: string;
}

/** The alternatives as one case-insensitive regex: `a|b|c`. */
export function anyOf(alternatives: readonly TextAlternative[]): RegExp {
  return new RegExp(alternatives.map((a) => a.pattern.source).join('|'), 'i');
}

/**
 * The server is rejecting *us* (sender address, sender domain, our sending quota), not the
 * recipient. Checked first so that the recipient-looking words in these replies ("domain not
 * found", "user unknown") never suppress: a 5xx is `policy_block` (the samples), a 4xx with no
 * other clue `temporary_failure`.
 */
export const SENDER_SIDE_ALTERNATIVES: readonly TextAlternative[] = [
  { pattern: /sender address rejected/, sample: '553 <bounces@mail.example.com>: Sender address rejected: Domain not found' },
  { pattern: /sender verify/, sample: '550 Sender verify failed' },
  { pattern: /verify sender/, sample: '550 Could not verify sender <bounces@mail.example.com>' },
  { pattern: /sender (?:domain|address) (?:must|does|is|not|unknown)/, sample: '553 <bounces@mail.example.com>: Sender domain must exist' },
  { pattern: /unknown sender/, sample: '550 Unknown sender <bounces@mail.example.com>' },
  { pattern: /sender (?:is )?not known/, sample: '550 Sender not known' },
  // The same in French, German and Spanish, so that the foreign unknown-user wordings below never
  // read a reply about our address as one about the recipient's.
  { pattern: /(?:adresse|domaine) (?:de l['’]|d['’])?exp[ée]diteur/, sample: "550 Adresse de l'expéditeur refusée" },
  { pattern: /exp[ée]diteur (?:inconnu|refus[ée]|rejet[ée])/, sample: '550 Expéditeur inconnu' },
  { pattern: /absender-?(?:adresse|domain)|(?:adresse|domain) des absenders/, sample: '550 Absenderadresse abgelehnt' },
  { pattern: /absender (?:ist )?(?:unbekannt|abgelehnt)/, sample: '550 Absender unbekannt' },
  { pattern: /(?:direcci[óo]n|dominio) del remitente|remitente (?:desconocido|rechazad[oa]|no existe)/, sample: '550 Dirección del remitente rechazada' },
  { pattern: /envelope sender/, sample: '553 sorry, your envelope sender has been denied' },
  { pattern: /badmailfrom/, sample: '553 sorry, your address is in my badmailfrom list' },
  { pattern: /sending (?:quota|limit)/, sample: '550 5.4.5 Sending quota exceeded for this account' },
  { pattern: /daily (?:user )?sending/, sample: '550 5.4.5 Daily sending volume exceeded for this account' },
];
export const SENDER_SIDE = anyOf(SENDER_SIDE_ALTERNATIVES);

/**
 * Mailbox over quota. "sending quota" is excluded: that is the sender's quota. Samples are 4xx,
 * where this is checked first (a 5xx is checked for a size limit before).
 */
export const MAILBOX_FULL_ALTERNATIVES: readonly TextAlternative[] = [
  { pattern: /over ?quota/, sample: '452 <alice@example.org>: user is overquota' },
  { pattern: /(?<!sending |send )quota (?:exceeded|exceeds)/, sample: '452 4.0.0 Recipient quota exceeded' },
  { pattern: /exceeded (?:its |their |the |his |her )?(?:storage|quota|mailbox)/, sample: '452 The recipient has exceeded their storage' },
  { pattern: /mail ?box (?:is )?full/, sample: '450 4.0.0 <alice@example.org>: mailbox is full' },
  { pattern: /full mail ?box/, sample: '452 Full mailbox for alice@example.org' },
  { pattern: /mail ?box (?:size|storage|quota) (?:limit )?(?:exceeded|reached)/, sample: '452 Mailbox size limit exceeded' },
  { pattern: /quotaexceeded/, sample: '452 4.0.0 STOREDRV.Deliver.Exception:QuotaExceededException' },
  // RFC 5321's own 552 wording; also matched by `exceeded ... storage` above.
  { pattern: /exceeded storage allocation/, sample: '452 Requested mail action aborted: exceeded storage allocation' },
  { pattern: /insufficient (?:disk )?(?:space|storage) (?:in|for) (?:the )?(?:mailbox|user|recipient)/, sample: '452 4.0.0 Insufficient disk space for the user' },
  // "your quota" and "sending quota" stay out: those are ours.
  { pattern: /reached (?:its |their |the |his |her )?(?:disk |mailbox |storage )?quota/, sample: '452 Recipient reached disk quota' },
  // qmail-style local delivery ("the user's mailfolder is full").
  { pattern: /mail ?folder (?:is )?full/, sample: "452 The user's mailfolder is full" },
];
export const MAILBOX_FULL = anyOf(MAILBOX_FULL_ALTERNATIVES);

export const GREYLIST = /gr[ae]y[- ]?list/i;

/** Rate limiting and throttling (Gmail "receiving mail too quickly", "too many connections"...). */
export const RATE_LIMIT_ALTERNATIVES: readonly TextAlternative[] = [
  { pattern: /too many (?:\w+ )?(?:connections|messages|mails|emails|recipients|sessions|requests|concurrent)/, sample: '421 Too many concurrent SMTP connections; please try again later' },
  { pattern: /rate[- ]?limit/, sample: '451 Ratelimit exceeded for <alice@example.org>' },
  { pattern: /receiving mail (?:too quickly|at a rate)/, sample: '450 4.2.1 The user you are trying to contact is receiving mail at a rate that prevents additional messages from being delivered.' },
  { pattern: /too (?:fast|quickly)/, sample: '450 You are sending messages too quickly' },
  { pattern: /unusual rate/, sample: '421 Our system has detected an unusual rate of mail originating from your IP address' },
  { pattern: /throttl/, sample: '450 Delivery throttled for this sender' },
  { pattern: /slow down/, sample: '421 Please slow down' },
  { pattern: /how many messages/, sample: '450 The receiving server limits how many messages it accepts per hour' },
  { pattern: /connection limit/, sample: '421 Connection limit exceeded' },
  { pattern: /(?:message|sending) rate/, sample: '451 Message rate exceeded for this sender' },
  { pattern: /exceeded (?:the )?(?:maximum )?(?:number|rate) of/, sample: '452 Exceeded the maximum number of connections per hour' },
  { pattern: /login attempts/, sample: '421 Too many login attempts' },
];
export const RATE_LIMIT = anyOf(RATE_LIMIT_ALTERNATIVES);

/** The receiving server's own trouble (storage, resources, lookups, configuration). */
export const SERVER_TROUBLE_ALTERNATIVES: readonly TextAlternative[] = [
  { pattern: /local problem/, sample: '451 Temporary local problem - please try later' },
  { pattern: /system (?:problem|resources|storage|error)/, sample: '452 Insufficient system storage' },
  { pattern: /lookup fail/, sample: '451 Temporary lookup failure' },
  { pattern: /configuration (?:problem|error)/, sample: '451 Server configuration problem' },
  { pattern: /server (?:is )?(?:busy|error)/, sample: '451 Server is busy, please try again later' },
  { pattern: /service (?:is )?(?:temporarily )?(?:not available|unavailable)/, sample: '451 Service temporarily unavailable' },
  { pattern: /internal (?:server )?error/, sample: '451 Internal error while processing the message' },
  { pattern: /queue (?:is )?full/, sample: '452 Queue is full' },
  { pattern: /resources? (?:temporarily )?unavailable/, sample: '451 Internal resource temporarily unavailable' },
  // qmail adds "(#4.3.0)", whose X.3 subject alone would decide: left out of the sample.
  { pattern: /qq temporary problem/, sample: '451 qq temporary problem' },
];
export const SERVER_TROUBLE = anyOf(SERVER_TROUBLE_ALTERNATIVES);

/** "try again later", "please come back in 00:05:00": greylisting-style deferral (450/451). */
export const TRY_LATER = /\b(?:try|come back|retry|resend)\b(?:\s+\w+){0,2}?\s+(?:later|in|after)\b/i;

/** RFC 5321 4.5.3.1.10: a 552 "too many recipients" is to be treated as temporary. */
export const TOO_MANY_RECIPIENTS = /too many recipients/i;

/** The message is too big. Samples use 552, which without these words is a full mailbox. */
export const TOO_LARGE_ALTERNATIVES: readonly TextAlternative[] = [
  { pattern: /(?:message|mail|email) (?:size|length) exceed/, sample: '552 Message size exceeds the limit of this server' },
  { pattern: /exceeds? (?:the )?(?:maximum |fixed )?(?:allowed |permitted )?(?:message )?size/, sample: '552 This message exceeds the maximum allowed size' },
  { pattern: /(?:message|mail|email) (?:is |was )?too (?:large|big)/, sample: '552 Message is too large' },
  { pattern: /size limit/, sample: '552 Size limit exceeded' },
  // qmail adds "(#5.3.4)", whose code alone would decide: left out of the sample.
  { pattern: /databytes/, sample: '552 sorry, that message exceeds my databytes limit' },
  { pattern: /maximum (?:message )?size/, sample: '552 Maximum message size is 25 MB' },
  { pattern: /exceeded (?:the )?maximum (?:inbound |incoming )?(?:message )?size/, sample: '552 Exceeded maximum inbound message size' },
];
export const TOO_LARGE = anyOf(TOO_LARGE_ALTERNATIVES);

/** Spam, blocklists, SPF/DKIM/DMARC, relaying and access policy: the sender's problem. */
export const POLICY_ALTERNATIVES: readonly TextAlternative[] = [
  { pattern: /\b(?:SC|OU|DY)-00\d\b/, sample: '550 DY-001 (SNT004-MC1F43) Unfortunately, your mail could not be delivered' },
  { pattern: /messages from \S+ weren'?t sent/, sample: "550 Unfortunately, messages from 203.0.113.5 weren't sent." },
  { pattern: /spam/, sample: '550 Message rejected as spam' },
  { pattern: /block ?list/, sample: '554 Sending host is on our blocklist' },
  { pattern: /black ?list/, sample: '554 Service unavailable; client host blacklisted' },
  { pattern: /blocked/, sample: '550 Mail from your domain has been blocked' },
  { pattern: /listed (?:on|in|at|by)/, sample: '554 Client host [203.0.113.5] listed in zen.example.net' },
  { pattern: /\brbl\b/, sample: '550 Rejected by RBL' },
  { pattern: /dnsbl/, sample: '554 Rejected: see the DNSBL entry for 203.0.113.5' },
  // Every Spamhaus reply also matches `spam` above: kept for the reader.
  { pattern: /spamhaus/, sample: '554 Client host rejected: https://www.spamhaus.org/query/ip/203.0.113.5' },
  { pattern: /reputation/, sample: '550 Rejected due to the poor reputation of the sending network' },
  { pattern: /\bspf\b/, sample: '550 SPF check failed' },
  { pattern: /\bdkim\b/, sample: '550 DKIM signature did not verify' },
  { pattern: /\bdmarc\b/, sample: '550 Message failed DMARC evaluation' },
  { pattern: /unauthenticated/, sample: '550 Unauthenticated email rejected' },
  { pattern: /authentication (?:required|failed|checks)/, sample: '530 Authentication required' },
  { pattern: /not authori[sz]ed/, sample: '550 Client not authorized to send mail' },
  // Not Sendmail's "relay=[192.0.2.10]", which names the host that spoke to it, whatever the
  // reply says ("553 5.3.0 <a@b>... Addressee unknown, relay=[...]").
  { pattern: /relay(?!\s*=)/, sample: '550 Relaying denied' },
  // qmail adds "(#5.7.1)", whose X.7 subject alone would decide: left out of the sample.
  { pattern: /rcpthosts/, sample: "553 sorry, that domain isn't in my list of allowed rcpthosts" },
  { pattern: /policy/, sample: '550 Rejected by local policy' },
  { pattern: /access denied/, sample: '550 Access denied' },
  { pattern: /administrative prohibition/, sample: '550 Administrative prohibition' },
  { pattern: /prohibited/, sample: '550 Mail from this network is prohibited' },
  { pattern: /complaints?/, sample: '554 Rejected due to user complaints' },
  { pattern: /not accepted from/, sample: '550 Mail not accepted from this sender' },
  // Usually with 5.6.0, whose X.6 subject would make the scope the message: left out of the sample.
  { pattern: /content rejected/, sample: '554 Message content rejected' },
  { pattern: /virus/, sample: '554 Virus found in message' },
  { pattern: /malware/, sample: '554 Malware detected' },
  { pattern: /phish/, sample: '554 Message looks like phishing' },
];
export const POLICY = anyOf(POLICY_ALTERNATIVES);

/** The recipient's domain does not exist or takes no mail. */
export const UNKNOWN_DOMAIN_ALTERNATIVES: readonly TextAlternative[] = [
  { pattern: /domain (?:not found|does not exist|doesn'?t exist|unknown|is not valid)/, sample: '550 <alice@example.invalid>: Recipient address rejected: Domain not found' },
  { pattern: /(?:no such|unknown|non-?existent|invalid) domain/, sample: '550 No such domain at this location' },
  { pattern: /host (?:unknown|not found)/, sample: '550 Host unknown' },
  { pattern: /unknown host/, sample: '550 Unknown host example.invalid' },
  { pattern: /unroute?able address/, sample: '550 Unrouteable address' },
  { pattern: /no mx/, sample: '550 No MX for example.invalid' },
  // RFC 7505 pairs a null MX with 5.1.10, which alone would decide: left out of the sample.
  { pattern: /null mx/, sample: '556 example.org does not accept mail (null MX)' },
  { pattern: /nonexistentdomain/, sample: '550 Rejected: NonExistentDomain' },
  { pattern: /all relevant mx records/, sample: '550 All relevant MX records point to non-existent hosts' },
];
export const UNKNOWN_DOMAIN = anyOf(UNKNOWN_DOMAIN_ALTERNATIVES);

/** "account ... disabled", "mailbox ... suspended": one pattern, e.g. "550 Mailbox is disabled". */
export const MAILBOX_DISABLED = /(?:account|mail ?box|user)\b[^.;]{0,40}\b(?:disabled|inactive|deactivated|suspended|closed|locked|blocked by the user)\b/i;

/**
 * No such mailbox, in French, German and Spanish. Each names the mailbox, the user or the address
 * before its verb, within one sentence (a dot inside an address does not end it), and the words
 * between may not name the sender (expéditeur, Absender, remitente; the return address), so that
 * a reply about our address never suppresses the recipient; SENDER_SIDE also knows those words.
 * Like the English ones they only count in a 5xx reply, or in a report whose mail system gave up.
 */
const FOREIGN_UNKNOWN_USER_ALTERNATIVES: readonly TextAlternative[] = [
  { pattern: /\b(?:adresse|destinataire|utilisateur|compte|bo[iî]te aux lettres)\b(?:(?!exp[ée]diteur|retour|envoi)(?:[^.;]|\.(?!\s|$))){0,60}\bn['’]existe pas\b/, sample: "550 L'adresse de messagerie référencée ci-dessus n'existe pas." },
  { pattern: /\b(?:adresse (?:(?:de messagerie|électronique|e-?mail) )?inconnue|(?:destinataire|utilisateur) inconnu)/, sample: '550 Adresse inconnue' },
  { pattern: /\b(?<!absender-)(?:benutzer|nutzer|empf[äa]nger|adresse|postfach|mailbox|konto)\s+(?:ist\s+)?unbekannt\b/, sample: '550 Empfänger unbekannt' },
  { pattern: /\b(?:benutzer|nutzer|empf[äa]nger|adresse|postfach|mailbox|konto)(?:(?!absender)(?:[^.;]|\.(?!\s|$))){0,40}\bexistiert nicht\b/, sample: '550 Die E-Mail-Adresse existiert nicht' },
  { pattern: /\b(?:usuario|destinatario|direcci[óo]n|cuenta|buz[óo]n)(?:(?!remitente)(?:[^.;]|\.(?!\s|$))){0,40}\bno existe\b/, sample: '550 El usuario no existe' },
  { pattern: /\b(?:usuario|destinatario) desconocido\b/, sample: '550 Destinatario desconocido' },
];

/** No such mailbox at the recipient's domain. */
export const UNKNOWN_USER_ALTERNATIVES: readonly TextAlternative[] = [
  { pattern: /user unknown/, sample: '550 <alice@example.org>: Recipient address rejected: User unknown in local recipient table' },
  { pattern: /unknown (?:user|recipient|mailbox|local ?part)/, sample: '550 Unknown local part alice in <alice@example.org>' },
  { pattern: /no such (?:user|mailbox|recipient|account|address|person)/, sample: '550 No such user here' },
  { pattern: /(?:does not|doesn'?t|not) exist/, sample: '550 The email account that you tried to reach does not exist.' },
  { pattern: /recipient(?:not)? ?found/, sample: '550 RESOLVER.ADR.RecipientNotFound' },
  { pattern: /recipient not found/, sample: '550 Recipient not found' },
  { pattern: /mailbox not found/, sample: '550 Mailbox not found' },
  { pattern: /not a known user/, sample: '550 alice@example.org is not a known user' },
  // qmail adds "(#5.1.1)", whose code alone would decide: left out of the sample.
  { pattern: /no mailbox here/, sample: '550 sorry, no mailbox here by that name.' },
  { pattern: /invalid (?:recipient|mailbox|user)/, sample: '550 Invalid recipient <alice@example.org>' },
  { pattern: /user not found/, sample: '550 User not found' },
  { pattern: /account not found/, sample: '550 Account not found' },
  { pattern: /doesn'?t have an? \S+ account/, sample: "554 delivery error: dd This user doesn't have a yahoo.com account (alice@yahoo.com)" },
  { pattern: /does not have an? \S+ account/, sample: '550 This user does not have an example.org account' },
  { pattern: /address (?:is )?unknown/, sample: '550 Address unknown' },
  { pattern: /unknown address/, sample: '550 Unknown address <alice@example.org>' },
  { pattern: /addressee (?:is )?unknown/, sample: '550 Addressee unknown' },
  { pattern: /(?:user|addressee|recipient) (?:is )?not known/, sample: '550 User not known' },
  { pattern: /invalid final delivery userid/, sample: '550 Invalid final delivery userid: alice@example.org' },
  ...FOREIGN_UNKNOWN_USER_ALTERNATIVES,
];
export const UNKNOWN_USER = anyOf(UNKNOWN_USER_ALTERNATIVES);

/** A malformed recipient address. Samples use 550: a 501 or 553 is one by its basic code alone. */
export const INVALID_ADDRESS_ALTERNATIVES: readonly TextAlternative[] = [
  { pattern: /(?:bad|invalid|illegal|malformed) (?:recipient |destination )?address/, sample: '550 Illegal address <alice@@example.org>' },
  { pattern: /address syntax/, sample: '550 Recipient address syntax error' },
  { pattern: /syntax (?:error )?(?:in|of) (?:the )?(?:recipient|address|mailbox)/, sample: '550 Syntax error in mailbox address' },
  { pattern: /fully[- ]qualified address/, sample: '550 <alice>: Recipient address rejected: need fully-qualified address' },
  { pattern: /not a valid (?:rfc[- ]?\d+ )?address/, sample: '550 <alice@example> is not a valid RFC-5321 address' },
];
export const INVALID_ADDRESS = anyOf(INVALID_ADDRESS_ALTERNATIVES);

/**
 * A failure without a status code that names a connection problem. Samples carry no error code
 * (ECONNREFUSED, ETIMEDOUT, ...), which would decide on its own.
 */
export const CONNECTION_TEXT_ALTERNATIVES: readonly TextAlternative[] = [
  { pattern: /greeting never received/, sample: 'Greeting never received' },
  { pattern: /connection (?:timed out|timeout|refused|reset|closed|lost|dropped)/, sample: 'Connection refused by mx.example.org' },
  { pattern: /socket (?:closed|hang up|timeout)/, sample: 'socket hang up' },
  { pattern: /unexpected socket close/, sample: 'Unexpected socket close' },
  { pattern: /closed unexpectedly/, sample: 'SMTP stream closed unexpectedly' },
  { pattern: /timed out/, sample: 'Timed out waiting for the server greeting' },
  { pattern: /getaddrinfo/, sample: 'getaddrinfo failed for mx.example.org' },
  { pattern: /\btls\b/, sample: 'TLS negotiation failed' },
  { pattern: /\bssl\b/, sample: 'SSL routines:ssl3_get_record:wrong version number' },
  { pattern: /certificate/, sample: "Hostname/IP does not match certificate's altnames" },
  { pattern: /handshake/, sample: 'Handshake failed with mx.example.org' },
  { pattern: /(?:computer|host|server|system) (?:was |is )?(?:not reachable|unreachable)/, sample: 'The destination computer was not reachable within the allowed queue period' },
  { pattern: /(?:host|server) (?:\S+ )?(?:is )?not responding/, sample: 'Host corel.com is not responding' },
];
export const CONNECTION_TEXT = anyOf(CONNECTION_TEXT_ALTERNATIVES);

/**
 * Text about the sending side (our IP, host, domain or reputation): Exim "Too many concurrent
 * SMTP connections from this IP address", "too many connections from your IP", Yahoo's "[TS01]"
 * / "[TSS04]" deferrals, Outlook.com's RP-00x (rate), SC-00x / OU-00x / DY-00x (IP blocked)
 * codes. A literal IP alone ("too many connections from 203.0.113.5") does not count: it names
 * no reason, and X.4 throttling of that kind is the receiving site's capacity. Samples are 4xx
 * without an X.7 code: a policy block or an X.7 code makes the scope `sender` anyway.
 */
export const SENDER_SOURCE_ALTERNATIVES: readonly TextAlternative[] = [
  { pattern: /\b(?:from|of|for) (?:your|this|the sending) (?:ip|host|server|network|domain|mail server|mta)\b/, sample: '421 Too many concurrent SMTP connections from this IP address' },
  { pattern: /\byour (?:sending )?ip\b/, sample: '451 Your IP has sent too many messages' },
  { pattern: /\bsending (?:ip|host|server|mta)\b/, sample: '421 Sending host temporarily deferred' },
  { pattern: /\b(?:ip|sender|domain) reputation\b/, sample: '421 Temporarily rejected due to poor IP reputation' },
  { pattern: /\[TSS?\d\d\]/, sample: '421 [TSS04] Messages from 203.0.113.5 temporarily deferred due to unexpected volume or user complaints' },
  { pattern: /\b(?:RP|SC|OU|DY)-00\d\b/, sample: "421 RP-001 (BAY004-MC1F41) Unfortunately, some messages from 203.0.113.5 weren't sent. Please try again." },
];
export const SENDER_SOURCE = anyOf(SENDER_SOURCE_ALTERNATIVES);

export const TEXT_PATTERN_ALTERNATIVES = {
  SENDER_SIDE: SENDER_SIDE_ALTERNATIVES,
  MAILBOX_FULL: MAILBOX_FULL_ALTERNATIVES,
  RATE_LIMIT: RATE_LIMIT_ALTERNATIVES,
  SERVER_TROUBLE: SERVER_TROUBLE_ALTERNATIVES,
  TOO_LARGE: TOO_LARGE_ALTERNATIVES,
  POLICY: POLICY_ALTERNATIVES,
  UNKNOWN_DOMAIN: UNKNOWN_DOMAIN_ALTERNATIVES,
  UNKNOWN_USER: UNKNOWN_USER_ALTERNATIVES,
  INVALID_ADDRESS: INVALID_ADDRESS_ALTERNATIVES,
  CONNECTION_TEXT: CONNECTION_TEXT_ALTERNATIVES,
  SENDER_SOURCE: SENDER_SOURCE_ALTERNATIVES,
} as const;

