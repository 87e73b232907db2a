// What `rebound mcp` offers AI agents (README "For AI agents: rebound mcp"): each tool's name,
// description and input shape (zod, which the MCP SDK turns into the JSON Schema agents see).
// The shapes describe the JSON types (and the profile names), as the HTTP API's schemas do
// (src/api/contract.ts): what a value means is checked by the SDK's own validation, so an error
// names a field exactly as `ReboundClient.send()` and the API do (`to[0]`, `headers["X-A"]`).
// A value of the wrong JSON type, or an unknown field, is refused by the MCP SDK against the
// shape (server.ts makes each a strict object), naming its path.
import { z } from 'zod';
import { PROFILE_NAMES, type MessageState, type ProfileName } from '../delivery/contract';

export const MCP_SERVER_NAME = 'rebound';
/** The actor recorded with a suppression lifted through `rebound mcp`. */
export const MCP_ACTOR = 'mcp';

/** wait_for_outcome's bounds, in seconds: an agent's call should not hang for hours. */
export const WAIT_DEFAULT_SECONDS = 60;
export const WAIT_MAX_SECONDS = 600;
/** How often wait_for_outcome reads the status while it waits. */
export const WAIT_POLL_MS = 1_000;
/** list_retrying's bounds. */
export const RETRYING_DEFAULT_LIMIT = 20;
export const RETRYING_MAX_LIMIT = 100;

export const TOOL_NAMES = ['send_message', 'get_delivery_status', 'wait_for_outcome', 'check_suppression', 'lift_suppression', 'get_domain_health', 'list_retrying'] as const;
export type ToolName = (typeof TOOL_NAMES)[number];

const addressOrList = z.union([z.string(), z.array(z.string())]);
const duration = z.union([z.string(), z.number()]);
const messageId = z.string().describe('the message id that send_message answered (messageId)');

export const sendMessageShape = {
  from: z.string().describe('sender: "a@example.com" or "Name <a@example.com>"'),
  to: addressOrList.describe('recipient address, or a list of them (at least one in to, cc or bcc; at most 1000 in all)'),
  cc: addressOrList.optional().describe('copy recipients'),
  bcc: addressOrList.optional().describe('blind copy recipients'),
  replyTo: z.string().optional().describe('Reply-To address'),
  subject: z.string().describe('subject line (at most 998 characters)'),
  text: z.string().optional().describe('plain-text body (text or html, or both)'),
  html: z.string().optional().describe('HTML body'),
  headers: z.record(z.string(), z.string()).optional().describe('extra headers such as X-Campaign; not the structural ones (From, To, Subject, Message-ID, ...)'),
  profile: z.enum(PROFILE_NAMES as [ProfileName, ...ProfileName[]]).optional().describe('retry profile: standard (5m..4h, 72h deadline), urgent (30s..5m, 15m), bulk (15m..8h, 72h)'),
  delays: z.array(duration).optional().describe('own delays between attempts, e.g. ["30s","2m","10m"] (the last repeats; numbers are milliseconds)'),
  deadline: duration.optional().describe('own deadline from now, e.g. "1h" (at most 30 days)'),
  idempotencyKey: z.string().optional().describe('the message id, and the idempotency key: sending again with the same key and content returns the first message and never sends twice; 1..200 of [A-Za-z0-9._:@+-]'),
  id: z.string().optional().describe('the same as idempotencyKey (give one, or the same in both)'),
};

export const messageIdShape = { messageId };

export const waitShape = {
  messageId,
  timeoutSeconds: z.number().optional().describe(`how long to wait for a final state, in seconds (default ${WAIT_DEFAULT_SECONDS}, at most ${WAIT_MAX_SECONDS})`),
};

export const addressShape = { address: z.string().describe('the recipient address') };

export const liftShape = {
  address: z.string().describe('the suppressed recipient address'),
  reason: z.string().describe('why it is lifted (recorded with the lift, actor "mcp"), e.g. "mailbox fixed, confirmed by the user"'),
};

export const domainShape = {
  domain: z.string().describe('the recipient domain, e.g. gmail.com'),
  window: z.string().optional().describe('whole hours ending now: 1h, 24h (default), 7d, any Nh or Nd up to 30d'),
};

export const retryingShape = {
  domain: z.string().optional().describe('only messages to this recipient domain'),
  limit: z.number().optional().describe(`at most this many (default ${RETRYING_DEFAULT_LIMIT}, at most ${RETRYING_MAX_LIMIT})`),
};

export const TOOL_DESCRIPTIONS: Record<ToolName, string> = {
  send_message:
    'Send one email through Rebound: validated, stored and delivered durably (soft bounces retried on the profile\'s schedule, hard bounces stopped, suppressed addresses skipped). ' +
    'Answers {messageId, workflowId, state, existing}; existing is true when this idempotency key was sent before (nothing new is sent). An invalid field is an error naming it, and nothing is sent.',
  get_delivery_status: "A message's delivery status: its state (queued, sending, retrying, delivered, partially_delivered, failed, cancelled) and each recipient's state, attempts, next attempt and last SMTP reply.",
  wait_for_outcome: 'Waits until a message reaches a final state (delivered, partially_delivered, failed, cancelled) or timeoutSeconds pass; answers {final, status}. Call again when final is false: a retrying message may take hours.',
  check_suppression: 'Whether Rebound skips an address right now (suppressed after hard bounces or repeated failed sends, or by an operator), why, and until when.',
  lift_suppression: 'Lifts the suppression of an address so that messages are sent to it again; the reason is recorded. Only do this when the user says the address works again.',
  get_domain_health: "A recipient domain's health over a window: attempts, soft- and hard-bounce rates with a verdict (healthy under 2 %, watch 2-5 %, bad over 5 %), its top replies and the messages to it retrying now.",
  list_retrying: 'Messages waiting for their next attempt after a soft bounce, newest first, optionally to one recipient domain.',
};

/** send_message's answer. */
export interface SendMessageResult {
  messageId: string;
  workflowId: string;
  state: MessageState;
  /** True when this id was sent before: nothing new was stored or started. */
  existing: boolean;
}

/** A failed tool call's structured content: the HTTP API's problem body (RFC 9457). */
export interface ToolProblem {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: { field: string; message: string }[];
}
