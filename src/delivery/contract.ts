// The delivery contract: what clients, workers, the delivery workflow and tests share about a
// message's delivery (README "Behaviour"): replies and their classification vocabulary, retry
// schedules, recipient and message states, the workflow's input, its `status` query and
// `retryNow` signal, its search attributes, and the send activity's input and result.
// Imported by workflow code: no I/O, no Node built-ins.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { ReputationNotice, SuppressionCheck } from '../reputation/contract';

/** What a reply means for a recipient: delivered, retry later, or never retry. */
export type ReplyKind = 'delivered' | 'soft' | 'hard';

export const SOFT_CATEGORIES = [
  'mailbox_full',
  'greylisted',
  'rate_limited',
  'server_unavailable',
  'network_error',
  'temporary_failure',
] as const;

export const HARD_CATEGORIES = [
  'unknown_user',
  'unknown_domain',
  'mailbox_disabled',
  'invalid_address',
  'policy_block',
  'message_too_large',
  'permanent_failure',
] as const;

export type SoftCategory = (typeof SOFT_CATEGORIES)[number];
export type HardCategory = (typeof HARD_CATEGORIES)[number];
export type BounceCategory = 'delivered' | SoftCategory | HardCategory;

/**
 * Whom a reply is about (README "Behaviour", classification): the mailbox or address, the receiving server or domain, the
 * sending IP, domain or authentication, or the message's content or size. Only `recipient`
 * replies can count against an address (README "Reputation and suppression").
 */
export const REPLY_SCOPES = ['recipient', 'destination', 'sender', 'message'] as const;
export type ReplyScope = (typeof REPLY_SCOPES)[number];

/** A raw SMTP answer, or a connection-level failure (then `code` is null and `errorCode` set). */
export interface RawReply {
  /** Basic reply code (e.g. 452), null for a connection-level failure. */
  code: number | null;
  /** RFC 3463 enhanced status code (e.g. "4.2.2") when the server gave one. */
  enhanced: string | null;
  /** The reply text, without the codes. */
  text: string;
  /** Node/nodemailer error code for connection failures (ECONNREFUSED, ETIMEDOUT, ...). */
  errorCode?: string | null;
}

/** A reply after classification: what the server said and what it means. */
export interface ClassifiedReply {
  code: number | null;
  enhanced: string | null;
  text: string;
  kind: ReplyKind;
  category: BounceCategory;
  /**
   * Whom the reply is about. Activity results recorded before scopes existed lack it; workflow
   * code reads it through `replyScope()` (src/delivery/classify.ts), which derives it then.
   */
  scope: ReplyScope;
  /** Wait hint parsed from the text ("try again in 300 seconds"), in milliseconds. */
  retryAfterMs: number | null;
  /**
   * Rebound deferred the recipient itself, without an SMTP attempt: its site (or domain) was
   * suspended, throttled or busy (README "Traffic shaping"). Its wait hint is when the site takes
   * mail again, so the next attempt honours the hint alone. Absent otherwise, and in results
   * recorded before it existed.
   */
  heldBack?: true;
}

/** The errorCodes of Rebound's own deferrals at a held site (src/sites/deferral.ts makes them). */
export const HELD_BACK_ERROR_CODES: readonly string[] = ['ESITESUSPENDED', 'ESITETHROTTLED', 'ESITEBUSY'];

export type ProfileName = 'standard' | 'urgent' | 'bulk';
export const PROFILE_NAMES: readonly ProfileName[] = ['standard', 'urgent', 'bulk'];

/** Delays between attempts and the deadline, counted from the workflow start. */
export interface RetrySchedule {
  /** Delay before attempt 2, 3, 4, ...; the last one repeats. */
  delaysMs: number[];
  /** Deadline, counted from the moment the message was accepted. */
  deadlineMs: number;
}

export type RecipientState = 'pending' | 'retrying' | 'delivered' | 'bounced' | 'expired' | 'suppressed' | 'cancelled';

export type MessageState = 'queued' | 'sending' | 'retrying' | 'delivered' | 'partially_delivered' | 'failed' | 'cancelled';
export const FINAL_MESSAGE_STATES: readonly MessageState[] = ['delivered', 'partially_delivered', 'failed', 'cancelled'];

/** Where a recipient's retry schedule came from (README "Retry policy per domain"). */
export type ScheduleSource = 'message' | 'domain' | 'default';

/** The retry schedule some recipients of a message follow, and why. */
export interface SchedulePlan {
  recipients: string[];
  schedule: RetrySchedule;
  profile: ProfileName | 'custom';
  source: ScheduleSource;
  /** The configuration file's domain rule that chose it (`example.org`, `*.example.com`), for source `domain`. */
  rule: string | null;
}

/** A recipient's effective schedule, as the status query shows it. */
export interface RecipientSchedule {
  profile: ProfileName | 'custom';
  source: ScheduleSource;
  rule: string | null;
  delaysMs: number[];
  /** ISO time of this recipient's deadline. */
  deadline: string;
}

export interface RecipientStatus {
  address: string;
  state: RecipientState;
  attempts: number;
  schedule: RecipientSchedule;
  /** When this recipient is attempted next, while it is retrying. */
  nextAttemptAt: string | null;
  lastReply: ClassifiedReply | null;
  /** Set when the recipient ended `suppressed`: why the address is on the list. */
  suppressionReason?: string | null;
  firstAttemptAt: string | null;
  lastAttemptAt: string | null;
  finishedAt: string | null;
  /**
   * True when the state came from a report heard after the relay's 250 (README "Late
   * outcomes"): a delivered recipient that bounced later; `lastReply` is then the report's.
   */
  late?: boolean;
  /** What was heard after the 250, oldest first: a late bounce, delayed notices, a complaint. Absent: nothing. */
  lateOutcomes?: LateOutcome[];
}

/** What a late outcome is: a bounce, a delay notice (changes nothing) or a complaint (README "Late outcomes"). */
export type LateOutcomeKind = 'bounced' | 'delayed' | 'complained';

/** One recipient's outcome heard after the relay's 250, in one shape: the table row, the status, the signal. */
export interface LateOutcome {
  recipient: string;
  kind: LateOutcomeKind;
  /** Which intake path heard it: smtp, imap, ses, sendgrid, mailgun, postmark. */
  source: string;
  /** When Rebound heard it, ISO. */
  at: string;
  /** The reply the report gives (status, code, diagnostic), classified; null for a complaint. */
  reply: ClassifiedReply | null;
  /** Complaints: the feedback type (abuse, fraud, ...). */
  feedbackType: string | null;
}

/** The answer to the `status` query. */
export interface DeliveryStatus {
  messageId: string;
  workflowId: string;
  state: MessageState;
  profile: ProfileName | 'custom';
  createdAt: string;
  deadline: string;
  attempts: number;
  nextAttemptAt: string | null;
  recipients: RecipientStatus[];
}

/** What the client passes to the delivery workflow: references, never content or credentials. */
export interface DeliveryInput {
  messageId: string;
  /** Envelope recipients (to, cc and bcc), normalised and de-duplicated. */
  recipients: string[];
  schedule: RetrySchedule;
  profile: ProfileName | 'custom';
  /**
   * Each recipient's schedule (a message's own schedule, its domain's rule, or the default).
   * Absent from inputs written before per-domain policies: every recipient follows `schedule`.
   */
  plans?: SchedulePlan[];
  /**
   * `activity`: attempts run as regular activity tasks. Absent: as local activities in runs
   * started since they exist (README "Performance"), as activity tasks in older runs.
   */
  attemptAs?: 'activity';
}

/** One recipient's outcome of one attempt, as the send activity reports it. */
export interface AttemptReply extends ClassifiedReply {
  address: string;
  /** True when the server had already accepted this recipient in an earlier run of the activity. */
  alreadyAccepted?: boolean;
}

/** Where the message stands as an attempt starts: enough for the attempt to tell whether it ends the message. */
export interface AttemptProgress {
  recipientsTotal: number;
  /** Recipients delivered by earlier attempts. */
  deliveredBefore: number;
  /** Open recipients not in this attempt (another schedule group); absent means none. */
  openElsewhere?: number;
}

export interface SendAttemptInput {
  messageId: string;
  attempt: number;
  /** The recipients due now: each is checked against the suppression list first. */
  recipients: string[];
  /**
   * To record the message's final state when this attempt ends it: only when no recipient
   * outside this attempt is still open (`openElsewhere` 0) and none of these soft-bounces.
   */
  progress: AttemptProgress;
  /**
   * Set by workflows that record each recipient's first soft bounce (`message.deferred`) once
   * its next attempt is planned (recordDeferrals): the activity then leaves that event out.
   * Absent in runs started before (README "Webhooks").
   */
  deferralsAfterPlan?: boolean;
}

/** A recipient's first soft bounce with its planned next attempt, for its `message.deferred` event. */
export interface Deferral {
  address: string;
  nextAttemptAt: string;
  reply: ClassifiedReply;
}

/** A recipient whose send ended `expired`, with the reply that decides how its address is blamed. */
export interface ExpiredRecipient {
  address: string;
  reply: ClassifiedReply;
}

/** What the delivery workflow records without an SMTP attempt: expiries and the final state. */
export interface DeliveryStateRecord {
  messageId: string;
  /** The message's final state, or null while other recipients are still open. */
  state: MessageState | null;
  expired?: ExpiredRecipient[];
}

/** One attempt's entry in the attempt log: its replies and, when it ended the message, the final state. */
export interface AttemptLog {
  messageId: string;
  attempt: number;
  replies: AttemptReply[];
  finalState: MessageState | null;
}

export interface SendAttemptResult {
  /** One reply per attempted recipient. */
  replies: AttemptReply[];
  /**
   * The attempt log the activity could not write (PostgreSQL unreachable after the SMTP
   * transaction): the replies are facts and this result is their record, so the workflow writes
   * it with a follow-up activity instead of repeating the transaction. Null when written.
   */
  unrecorded?: AttemptLog | null;
  /** Recipients not attempted because they are on the suppression list. */
  suppressed: SuppressionCheck[];
  /** Outcomes the activity could not report to reputation workflows: the workflow retries them. */
  unreported: ReputationNotice[];
  /** The final message state, when this attempt ended every recipient and it was recorded. */
  finalState: MessageState | null;
  /** With deferralsAfterPlan: some webhook endpoint subscribes to `message.deferred`. */
  deferralsWanted?: boolean;
}

/** Names shared by the worker, the client and the workflows. */
export const DEFAULT_TASK_QUEUE = 'rebound';
export const DELIVERY_WORKFLOW_TYPE = 'deliveryWorkflow';
export const deliveryWorkflowId = (messageId: string): string => `delivery:${messageId}`;

/** Current delivery status of a message (README "Behaviour", states). */
export const statusQuery = defineQuery<DeliveryStatus>('status');
/** Operator: end the current wait and attempt the pending recipients at once. */
export const retryNowSignal = defineSignal('retryNow');
/** A report heard after the relay's 250 (README "Late outcomes"), for a run that is still open. */
export const lateOutcomeSignal = defineSignal<[LateOutcome]>('lateOutcome');

/** Search attributes the Temporal UI filters on (README "Inspecting and steering runs"); registered by the dev stack. */
export const DeliveryStateKey = defineSearchAttributeKey('DeliveryState', SearchAttributeType.KEYWORD);
export const RecipientDomainsKey = defineSearchAttributeKey('RecipientDomains', SearchAttributeType.KEYWORD_LIST);
export const BounceCategoriesKey = defineSearchAttributeKey('BounceCategories', SearchAttributeType.KEYWORD_LIST);
export const DeliveryAttemptsKey = defineSearchAttributeKey('DeliveryAttempts', SearchAttributeType.INT);

/** The delivery workflow's search attributes, declared once (the keys above). */
export const DELIVERY_SEARCH_ATTRIBUTES = [DeliveryStateKey, RecipientDomainsKey, BounceCategoriesKey, DeliveryAttemptsKey] as const;

/** How the Temporal CLI names each type (`--search-attribute Name=Type`, `operator search-attribute create`). */
const CLI_TYPE_NAME: Record<SearchAttributeType, string> = {
  [SearchAttributeType.TEXT]: 'Text',
  [SearchAttributeType.KEYWORD]: 'Keyword',
  [SearchAttributeType.INT]: 'Int',
  [SearchAttributeType.DOUBLE]: 'Double',
  [SearchAttributeType.BOOL]: 'Bool',
  [SearchAttributeType.DATETIME]: 'Datetime',
  [SearchAttributeType.KEYWORD_LIST]: 'KeywordList',
};

/** Name -> CLI type of every search attribute, for registering them with a server. */
export const SEARCH_ATTRIBUTES: Readonly<Record<string, string>> = Object.fromEntries(DELIVERY_SEARCH_ATTRIBUTES.map((k) => [k.name, CLI_TYPE_NAME[k.type]]));
