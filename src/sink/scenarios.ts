// The bounce simulator's scenarios as one table: which recipient local part selects which
// scenario, what the sink replies to its RCPT (and, for `toolarge`, to the end of DATA), and a
// one-line description. The same rows drive the replies the SMTP server gives (src/sink/smtp.ts
// through the ledger), the scenario list of `rebound sink --help` and the table in the README
// section "The bounce simulator" (scenarioMarkdown(), checked by test/unit/sink-scenarios.test.ts).
// Pure: no state, no I/O.
//
// Reply texts are templates: {addr} is the recipient in angle brackets, {N} the greylisting hint
// in seconds, {id} the queue id; the help and the README show them as <addr>, N and <id>.
// Enhanced status codes are part of the text the sink writes (see the notes in src/sink/smtp.ts).
//
// Three scenarios accept like `accept` and then, S seconds later, mail a report about the
// recipient to wherever the sink's `reportTo` points (Rebound's inbound listener), the way a relay
// that answered 250 reports the real outcome later (README "Late outcomes"): `later` names the
// report; src/sink/reports.ts writes it, src/sink/reporter.ts mails it.

export type ScenarioKind =
  | 'accept'
  | 'greylist'
  | 'full'
  | 'soft'
  | 'ratelimit'
  | 'unknown'
  | 'toolarge'
  | 'blocked'
  | 'drop'
  | 'slow'
  | 'bouncelater'
  | 'delaylater'
  | 'complain';

/** A report mailed after the message was queued: a failed or a delayed DSN, or an ARF complaint. */
export type LateReportKind = 'dsn-failed' | 'dsn-delayed' | 'complaint';

/** The delay before a late report when the local part gives none (`bouncelater` vs `bouncelater-30`). */
export const DEFAULT_REPORT_DELAY_SECONDS = 2;

export interface Scenario {
  kind: ScenarioKind;
  /** Display name, e.g. 'accept', 'greylist-30', 'soft-2'. */
  name: string;
  /** Lower-cased local part without the '+tag'. */
  base: string;
  /** The '+tag', lower-cased, or null. */
  tag: string | null;
  /** State key: the whole address, trimmed and lower-cased. */
  key: string;
  /** greylist: hint in seconds from `greylist-N`; null = use the sink's default. */
  hintSeconds?: number | null;
  /** soft, full-K: how many attempts fail before the address accepts (full: absent = always). */
  failures?: number;
  /** slow-MS: how long the RCPT reply is held back, in milliseconds. */
  delayMs?: number;
  /** bouncelater-S, delaylater-S, complain-S: seconds from the 250 to the report. */
  reportDelaySeconds?: number;
}

export interface ScenarioReply {
  code: number;
  /** Enhanced status code, e.g. '4.2.0'. */
  enhanced: string;
  /** Reply text after the enhanced code; may hold {addr}, {N}, {id}. */
  text: string;
  /** Shorter text for the help and the README ('...' marks what is left out); default: text. */
  shown?: string;
}

export interface ScenarioRow {
  kind: ScenarioKind;
  /** The local parts as documented ('K', 'N', 'MS' stand for numbers). */
  localParts: string[];
  /**
   * Whether a lower-cased local part (without '+tag') selects this row, and the scenario's name
   * and parameters when it does. The fallback row (accept) has none.
   */
  match?: (base: string) => { name: string; params?: Partial<Scenario> } | null;
  /** The RCPT reply; null = the connection is destroyed instead of answered. */
  rcpt: ScenarioReply | null;
  /** How many first RCPTs of the address get `rcpt`; later ones get RCPT_OK. Absent: every RCPT. */
  failures?: (s: Scenario) => number;
  /** The reply to the end of DATA when a transaction names this recipient; default QUEUED. */
  data?: ScenarioReply;
  /** The report mailed about the recipient once the message is queued; absent: none. */
  later?: LateReportKind;
  /** One line: when the reply is given and what follows (the "when" column of the README table). */
  description: string;
}

/** The greylisting hint when the local part gives none (`greylist` vs `greylist-30`). */
export const DEFAULT_GREYLIST_HINT_SECONDS = 60;

export const RCPT_OK: ScenarioReply = { code: 250, enhanced: '2.1.5', text: 'Recipient OK' };
export const QUEUED: ScenarioReply = { code: 250, enhanced: '2.0.0', text: 'Ok: queued as {id}' };
export const TOO_LARGE: ScenarioReply = { code: 552, enhanced: '5.3.4', text: 'Message size exceeds fixed limit' };
/** Gmail's answer when the sending IP is over its rate: the `ratelimit-ip` scenario, and every RCPT over a sink's rateLimit. */
export const RATE_LIMITED_IP: ScenarioReply = {
  code: 421,
  enhanced: '4.7.28',
  text: '[127.0.0.1] Our system has detected an unusual rate of unsolicited mail originating from your IP address. To protect our users from spam, mail sent from your IP address has been temporarily rate limited.',
  shown: '... mail sent from your IP address has been temporarily rate limited.',
};

/** Matches any of `names`; the scenario is named after the first. */
const one = (...names: string[]) => (base: string) => (names.includes(base) ? { name: names[0]! } : null);
/** Matches `re` (one group of digits) when the number is at least `min`. */
const numbered = (re: RegExp, min: number, fn: (n: number) => { name: string; params?: Partial<Scenario> }) =>
  (base: string) => {
    const m = base.match(re);
    return m && Number(m[1]) >= min ? fn(Number(m[1])) : null;
  };
/** `name` or `name-S`: a late-report scenario and its delay in seconds. */
const later = (name: string) => (base: string) => {
  const m = base.match(new RegExp(`^${name}(?:-(\\d{1,5}))?$`));
  if (!m) return null;
  const seconds = m[1] === undefined ? DEFAULT_REPORT_DELAY_SECONDS : Number(m[1]);
  return { name: m[1] === undefined ? name : `${name}-${seconds}`, params: { reportDelaySeconds: seconds } };
};
/** The "when" column of a late-report row: what is mailed, from the null sender, to --report-to. */
const reportWhen = (what: string): string =>
  `accepted; S seconds later (${DEFAULT_REPORT_DELAY_SECONDS} when absent) ${what}, mailed from \`<>\` to the sink's --report-to`;

/** Every scenario, in the order the help and the README list them; the first row is the fallback. */
export const SCENARIOS: readonly ScenarioRow[] = [
  {
    kind: 'accept',
    localParts: ['anything else'],
    rcpt: RCPT_OK,
    data: QUEUED,
    description: 'always; the message is stored (alice@, ok@, accept-1@, ...)',
  },
  {
    kind: 'greylist',
    localParts: ['greylist', 'greylist-N'],
    match: (base) => {
      const m = base.match(/^greylist(?:-(\d{1,6}))?$/);
      if (!m) return null;
      const hint = m[1] === undefined ? null : Number(m[1]);
      return { name: hint === null ? 'greylist' : `greylist-${hint}`, params: { hintSeconds: hint } };
    },
    rcpt: { code: 450, enhanced: '4.2.0', text: '{addr}: Recipient address rejected: Greylisted, try again in {N} seconds' },
    failures: () => 1,
    description: `the address's first RCPT (N: ${DEFAULT_GREYLIST_HINT_SECONDS} when absent), then accepted whenever it comes back`,
  },
  {
    kind: 'full',
    localParts: ['full', 'mailbox-full'],
    match: one('full', 'mailbox-full'),
    rcpt: { code: 452, enhanced: '4.2.2', text: '{addr}: mailbox full, over quota' },
    description: 'always',
  },
  {
    kind: 'full',
    localParts: ['full-K'],
    match: numbered(/^full-(\d{1,6})$/, 1, (k) => ({ name: `full-${k}`, params: { failures: k } })),
    rcpt: { code: 452, enhanced: '4.2.2', text: '{addr}: mailbox full, over quota' },
    failures: (s) => s.failures ?? Infinity,
    description: "the address's first K RCPTs, then accepted",
  },
  {
    kind: 'soft',
    localParts: ['soft-K', 'softK'],
    match: numbered(/^soft-?(\d{1,6})$/, 1, (k) => ({ name: `soft-${k}`, params: { failures: k } })),
    rcpt: { code: 451, enhanced: '4.3.0', text: 'Temporary local problem, please try again later' },
    failures: (s) => s.failures ?? 1,
    description: "the address's first K RCPTs, then accepted",
  },
  {
    kind: 'ratelimit',
    localParts: ['ratelimit', 'rate-limit'],
    match: one('ratelimit', 'rate-limit'),
    rcpt: { code: 421, enhanced: '4.7.0', text: 'Too many messages, slow down' },
    description: 'always; the server closes the connection',
  },
  {
    kind: 'ratelimit',
    localParts: ['ratelimit-ip'],
    match: one('ratelimit-ip'),
    rcpt: RATE_LIMITED_IP,
    description: "always (Gmail's answer when the sending IP is over its rate); the server closes the connection",
  },
  {
    kind: 'unknown',
    localParts: ['unknown', 'nouser'],
    match: one('unknown', 'nouser'),
    rcpt: { code: 550, enhanced: '5.1.1', text: '{addr}: Recipient address rejected: User unknown' },
    description: 'always',
  },
  {
    kind: 'toolarge',
    localParts: ['toolarge', 'too-large'],
    match: one('toolarge', 'too-large'),
    rcpt: RCPT_OK,
    data: TOO_LARGE,
    description: 'always; the DATA reply rejects the whole transaction, for every recipient',
  },
  {
    kind: 'blocked',
    localParts: ['blocked', 'policy'],
    match: one('blocked', 'policy'),
    rcpt: { code: 554, enhanced: '5.7.1', text: '{addr}: Relay access denied: message rejected due to policy' },
    description: 'always',
  },
  {
    kind: 'drop',
    localParts: ['drop'],
    match: one('drop'),
    rcpt: null,
    description: 'always: the connection is destroyed at RCPT',
  },
  {
    kind: 'slow',
    localParts: ['slow-MS'],
    // accepted, but only after MS ms, so that a fault (a killed worker, a database that goes
    // away) can be made to land inside an SMTP transaction (README "Tests", faults)
    match: numbered(/^slow-(\d{1,6})$/, 0, (ms) => ({ name: `slow-${ms}`, params: { delayMs: ms } })),
    rcpt: RCPT_OK,
    description: 'always, the RCPT reply held back MS milliseconds (so that a fault can land inside the transaction)',
  },
  {
    kind: 'bouncelater',
    localParts: ['bouncelater', 'bouncelater-S'],
    match: later('bouncelater'),
    rcpt: RCPT_OK,
    data: QUEUED,
    later: 'dsn-failed',
    description: reportWhen("a failed DSN (Postfix's, `550 5.1.1` User unknown) for the envelope sender"),
  },
  {
    kind: 'delaylater',
    localParts: ['delaylater', 'delaylater-S'],
    match: later('delaylater'),
    rcpt: RCPT_OK,
    data: QUEUED,
    later: 'dsn-delayed',
    description: reportWhen("a delayed DSN (Postfix's, `451 4.4.7`, still being retried) for the envelope sender"),
  },
  {
    kind: 'complain',
    localParts: ['complain', 'complain-S'],
    match: later('complain'),
    rcpt: RCPT_OK,
    data: QUEUED,
    later: 'complaint',
    description: reportWhen("an ARF abuse complaint (the original headers, To: redacted) for fbl@ the envelope sender's domain"),
  },
];

const FALLBACK = SCENARIOS[0]!;

/** The scenario an address selects and the table row behind it. */
function lookup(address: string): { row: ScenarioRow; scenario: Scenario } {
  const key = address.trim().toLowerCase();
  const at = key.lastIndexOf('@');
  const local = at < 0 ? key : key.slice(0, at);
  const plus = local.indexOf('+');
  const base = plus < 0 ? local : local.slice(0, plus);
  const tag = plus < 0 ? null : local.slice(plus + 1);
  for (const row of SCENARIOS) {
    const hit = row.match?.(base);
    if (hit) return { row, scenario: { kind: row.kind, name: hit.name, base, tag, key, ...hit.params } };
  }
  return { row: FALLBACK, scenario: { kind: FALLBACK.kind, name: FALLBACK.kind, base, tag, key } };
}

/** Which scenario a recipient address selects. */
export function scenarioFor(address: string): Scenario {
  return lookup(address).scenario;
}

/** One RCPT answer: the reply code and the text that follows it (enhanced code included). */
export interface RcptDecision {
  scenario: Scenario;
  code: number;
  text: string;
  /** Destroy the connection instead of replying. */
  drop?: boolean;
  /** Hold the reply back this long (slow-MS). */
  delayMs?: number;
}

/** A reply's text as the sink writes it: enhanced code first, placeholders filled in. */
export function replyText(reply: ScenarioReply, fill: { addr?: string; N?: number; id?: string } = {}): string {
  const text = reply.text
    .replace('{addr}', `<${fill.addr ?? ''}>`)
    .replace('{N}', String(fill.N ?? ''))
    .replace('{id}', fill.id ?? '');
  return `${reply.enhanced} ${text}`;
}

/** What `address` is answered on its `attempt`-th RCPT (1-based). */
export function rcptDecision(address: string, attempt: number, defaultHintSeconds = DEFAULT_GREYLIST_HINT_SECONDS): RcptDecision {
  const { row, scenario } = lookup(address);
  if (row.rcpt === null) return { scenario, code: 0, text: '(connection dropped)', drop: true };
  const failing = row.failures === undefined || attempt <= row.failures(scenario);
  const reply = failing ? row.rcpt : RCPT_OK;
  const text = replyText(reply, { addr: address, N: scenario.hintSeconds ?? defaultHintSeconds });
  const decision: RcptDecision = { scenario, code: reply.code, text };
  if (reply.code === 250 && scenario.delayMs !== undefined) decision.delayMs = scenario.delayMs;
  return decision;
}

/** The report an accepted recipient's scenario mails later, and after how many seconds; null: none. */
export function laterReport(address: string): { kind: LateReportKind; delaySeconds: number } | null {
  const { row, scenario } = lookup(address);
  if (!row.later) return null;
  return { kind: row.later, delaySeconds: scenario.reportDelaySeconds ?? DEFAULT_REPORT_DELAY_SECONDS };
}

/**
 * The reply to the end of DATA for a transaction with these accepted recipients: the first
 * recipient whose scenario rejects at DATA decides for the whole transaction (one DATA reply per
 * transaction); otherwise QUEUED.
 */
export function dataReply(recipients: string[]): ScenarioReply {
  for (const r of recipients) {
    const data = lookup(r).row.data;
    if (data && data !== QUEUED) return data;
  }
  return QUEUED;
}

// ---- documentation: the help text and the README table ----

/** A reply as documented: `452 4.2.2 <addr>: mailbox full, over quota`. */
export function shownReply(reply: ScenarioReply): string {
  const text = (reply.shown ?? reply.text).replace('{addr}', '<addr>').replace('{N}', 'N').replace('{id}', '<id>');
  return `${reply.code} ${reply.enhanced} ${text}`;
}

function replies(row: ScenarioRow, code: (s: string) => string): string {
  if (row.rcpt === null) return 'no reply';
  const rcpt = code(shownReply(row.rcpt));
  return row.data ? `${rcpt}; DATA: ${code(shownReply(row.data))}` : rcpt;
}

/** Which recipient local part produces which reply, and when; one entry per row ('+tag' may follow any). */
export const SCENARIO_HELP: { localPart: string; reply: string; when: string }[] = SCENARIOS.map((row) => ({
  localPart: row.localParts.join(', '),
  reply: replies(row, (s) => s),
  when: row.description,
}));

export const SCENARIO_HELP_HEADING =
  'Scenarios by recipient local part: the reply, then when it is given (state per whole address; "+tag" is ignored for the scenario):';

/** The scenario list of `rebound sink --help` (and of the sink's start-up output): two lines a row. */
export function scenarioTable(): string {
  const width = Math.max(...SCENARIO_HELP.map((s) => s.localPart.length));
  const indent = ' '.repeat(width + 4);
  return SCENARIO_HELP.map((s) => `  ${s.localPart.padEnd(width)}  ${s.reply}\n${indent}${s.when}`).join('\n');
}

/** The README table (section "The bounce simulator"), header included, one line per row. */
export function scenarioMarkdown(): string {
  const code = (s: string): string => `\`${s}\``;
  const lines = ['| local part | reply | when |', '|---|---|---|'];
  for (const row of SCENARIOS) {
    const parts = row.match ? row.localParts.map(code).join(', ') : row.localParts.join(', ');
    lines.push(`| ${parts} | ${replies(row, code)} | ${row.description} |`);
  }
  return lines.join('\n');
}
