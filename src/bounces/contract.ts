// The bounces contract (README "Late outcomes"): what Rebound reads from a message that comes
// back after the relay's 250 — a delivery status notification (RFC 3464, or an MTA's plain-text
// bounce), a complaint (ARF, RFC 5965), an auto-reply (RFC 3834) — and what the intake paths
// (inbound SMTP, provider webhooks, IMAP) hand on. `rebound bounces parse --json` prints a
// ParsedReport per input, with `file` added: scripts depend on these field names.
// Imported by workflow code: no I/O, no Node built-ins.
import type { BounceCategory, ReplyKind, ReplyScope } from '../delivery/contract';

export const REPORT_TYPES = ['dsn', 'complaint', 'auto_reply', 'not_a_bounce'] as const;
export type ReportType = (typeof REPORT_TYPES)[number];

/** RFC 3464 section 2.3.3 actions. */
export const DSN_ACTIONS = ['failed', 'delayed', 'delivered', 'relayed', 'expanded'] as const;
export type DsnAction = (typeof DSN_ACTIONS)[number];

/** One recipient a report is about. */
export interface ReportRecipient {
  /** The recipient as it was sent (Original-Recipient, else Final-Recipient, else from the text), lower-cased domain. */
  address: string;
  action: DsnAction | null;
  /** The enhanced status code, e.g. "5.1.1", or null when none was found. */
  status: string | null;
  /** The SMTP reply code as text, e.g. "550", or null. */
  code: string | null;
  /** The remote server's diagnostic (Diagnostic-Code, or the human text's reason), bounded in length. */
  diagnostic: string | null;
  /** What the outcome means, by the project's classifier; `complaint` for ARF reports. */
  kind: ReplyKind | 'complaint';
  category: BounceCategory | 'complaint';
  scope: ReplyScope | null;
}

export interface ParsedReport {
  type: ReportType;
  /** The Message-ID of the message the report is about, from the returned headers, or null. */
  originalMessageId: string | null;
  /** The X-Rebound-Ref header of the returned message, when the report quotes it. */
  reboundRef: string | null;
  recipients: ReportRecipient[];
  /** ARF Feedback-Type (abuse, fraud, virus, other, not-spam, ...), else null. */
  feedbackType: string | null;
  /** For not_a_bounce (and auto_reply): why, in a few words. */
  reason: string | null;
}

/** The header every sent message carries so that complaints, which quote headers, find it. */
export const REBOUND_REF_HEADER = 'X-Rebound-Ref';

/** Where a report came from: a mail by SMTP or IMAP, or a provider's event webhook. */
export const REPORT_SOURCES = ['smtp', 'imap', 'ses', 'sendgrid', 'mailgun', 'postmark'] as const;
export type ReportSource = (typeof REPORT_SOURCES)[number];
export type ProviderName = Extract<ReportSource, 'ses' | 'sendgrid' | 'mailgun' | 'postmark'>;

/**
 * One recipient's outcome as a provider's event webhook tells it, once its signature is
 * verified, normalised to one shape whatever the provider. What names the message differs by
 * provider: its queue id from the relay's 250, the Message-ID header, or the X-Rebound-Ref
 * header; any of them may be null, not all.
 */
export interface ProviderEvent {
  provider: ProviderName;
  /** The provider's own id of this event (SNS MessageId, sg_event_id, Mailgun event id, Postmark ID), for duplicates. */
  eventId: string;
  type: 'bounce' | 'delayed' | 'complaint';
  recipient: string;
  /** When the provider says it happened, ISO. */
  at: string;
  queueId: string | null;
  messageIdHeader: string | null;
  reboundRef: string | null;
  /** Enhanced status code ("5.1.1"), SMTP code ("550") and the remote server's text, where given. */
  status: string | null;
  code: string | null;
  diagnostic: string | null;
  /** The provider's own verdict, where it gives one: true permanent, false transient. */
  permanent: boolean | null;
  /** Complaints: the feedback type (abuse, ...), where given. */
  feedbackType: string | null;
}

/** What processing one stored report came to (the report workflow's result: counts, no content). */
export interface ReportProcessing {
  outcome: 'matched' | 'ignored' | 'orphan' | 'forged' | 'gone';
  /** Late outcomes this report added (none when another report had said the same). */
  recorded: number;
  /** Late outcomes told to workflows by this run. */
  told: number;
}

export const REPORT_WORKFLOW_TYPE = 'inboundReportWorkflow';
export const reportWorkflowId = (reportId: string): string => `report:${reportId}`;
