// The Model Context Protocol server of `rebound mcp` (README "For AI agents: rebound mcp"): the
// tools of tools.ts on an McpServer from the official SDK, over a connected ReboundClient. Every
// answer is JSON, as text and as structured content; every failure is a tool error
// (`isError: true`) carrying the HTTP API's problem body, so a field is named as the API names it.
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { problemOf } from '../api/problems';
import type { ReboundClient } from '../client/rebound-client';
import { logger as rootLogger, type Logger } from '../log';
import {
  addressShape,
  domainShape,
  liftShape,
  MCP_SERVER_NAME,
  messageIdShape,
  retryingShape,
  sendMessageShape,
  TOOL_DESCRIPTIONS,
  waitShape,
  type ToolName,
  type ToolProblem,
} from './contract';
import { checkSuppression, getDeliveryStatus, getDomainHealth, liftSuppression, listRetrying, sendMessage, UnknownMessageError, waitForOutcome } from './tools';

export const MCP_SERVER_VERSION = '1.0.0';

/** The problem a failure is, as the HTTP API would answer it; anything unknown is an internal one that says what failed. */
export function toolProblem(err: unknown): ToolProblem {
  if (err instanceof UnknownMessageError) {
    return { type: 'urn:rebound:problem:not-found', title: 'Not found', status: 404, detail: err.message };
  }
  const problem = problemOf(err);
  if (problem) return problem.body();
  return { type: 'urn:rebound:problem:internal', title: 'Internal error', status: 500, detail: `the call failed inside Rebound: ${(err as Error)?.message ?? String(err)}` };
}

/** A tool error: the text names each field (for agents that read text only), the structured content is the problem body. */
export function toolError(problem: ToolProblem): CallToolResult {
  const fields = problem.errors?.length ? `\nfield: ${problem.errors.map((e) => e.field).join(', ')}` : '';
  return {
    isError: true,
    content: [{ type: 'text', text: `${problem.title} (${problem.status}): ${problem.detail}${fields}` }],
    structuredContent: { error: problem },
  };
}

function toolAnswer(value: object): CallToolResult {
  return { content: [{ type: 'text', text: JSON.stringify(value) }], structuredContent: value as Record<string, unknown> };
}

export interface McpServerOptions {
  rebound: ReboundClient;
  logger?: Logger;
}

export function buildMcpServer(opts: McpServerOptions): McpServer {
  const { rebound } = opts;
  const log = (opts.logger ?? rootLogger).child({ component: 'mcp' });
  const server = new McpServer(
    { name: MCP_SERVER_NAME, version: MCP_SERVER_VERSION },
    { instructions: 'Rebound delivers email durably. Send with send_message (give an idempotencyKey so a retry of your call never sends twice), then follow the message with get_delivery_status or wait_for_outcome.' },
  );

  /**
   * Runs one tool and logs the call by name, message id and outcome: never a subject, a body or
   * other arguments, which may hold personal data.
   */
  async function run(tool: ToolName, args: { messageId?: string }, fn: () => Promise<object>): Promise<CallToolResult> {
    const started = Date.now();
    try {
      const value = await fn();
      const messageId = args.messageId ?? (value as { messageId?: string }).messageId;
      log.info({ tool, messageId, ms: Date.now() - started }, 'tool call');
      return toolAnswer(value);
    } catch (err) {
      const problem = toolProblem(err);
      const fields = problem.errors?.map((e) => e.field);
      if (problem.status >= 500) log.warn({ tool, messageId: args.messageId, status: problem.status, err }, 'tool call failed');
      else log.info({ tool, messageId: args.messageId, status: problem.status, fields }, 'tool call refused');
      return toolError(problem);
    }
  }

  /** What agents see of a tool besides its input: a title, the description, and whether it changes anything. */
  const meta = (name: ToolName, title: string, readOnlyHint: boolean) => ({
    title,
    description: TOOL_DESCRIPTIONS[name],
    annotations: { readOnlyHint, destructiveHint: false, idempotentHint: true, openWorldHint: name === 'send_message' },
  });

  server.registerTool('send_message', { ...meta('send_message', 'Send an email', false), inputSchema: z.strictObject(sendMessageShape) }, (args) =>
    run('send_message', { messageId: args.idempotencyKey ?? args.id }, () => sendMessage(rebound, args)),
  );
  server.registerTool('get_delivery_status', { ...meta('get_delivery_status', 'Delivery status', true), inputSchema: z.strictObject(messageIdShape) }, (args) =>
    run('get_delivery_status', args, () => getDeliveryStatus(rebound, args)),
  );
  server.registerTool('wait_for_outcome', { ...meta('wait_for_outcome', 'Wait for the outcome', true), inputSchema: z.strictObject(waitShape) }, (args, extra) =>
    run('wait_for_outcome', args, () => waitForOutcome(rebound, args, extra.signal)),
  );
  server.registerTool('check_suppression', { ...meta('check_suppression', 'Check a suppression', true), inputSchema: z.strictObject(addressShape) }, (args) =>
    run('check_suppression', {}, () => checkSuppression(rebound, args)),
  );
  server.registerTool('lift_suppression', { ...meta('lift_suppression', 'Lift a suppression', false), inputSchema: z.strictObject(liftShape) }, (args) =>
    run('lift_suppression', {}, () => liftSuppression(rebound, args)),
  );
  server.registerTool('get_domain_health', { ...meta('get_domain_health', 'Domain health', true), inputSchema: z.strictObject(domainShape) }, (args) =>
    run('get_domain_health', {}, () => getDomainHealth(rebound, args)),
  );
  server.registerTool('list_retrying', { ...meta('list_retrying', 'Messages retrying', true), inputSchema: z.strictObject(retryingShape) }, (args) =>
    run('list_retrying', {}, () => listRetrying(rebound, args)),
  );
  return server;
}

/** Serves the tools on this process's stdin and stdout; resolves once the client has closed stdin. */
export async function serveStdio(opts: McpServerOptions): Promise<{ closed: Promise<void>; close(): Promise<void> }> {
  const server = buildMcpServer(opts);
  const closed = new Promise<void>((resolve) => process.stdin.once('end', resolve));
  await server.connect(new StdioServerTransport());
  return { closed, close: () => server.close() };
}
