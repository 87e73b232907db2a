// `rebound mcp` end to end: the MCP SDK's own Client starts `node bin/rebound.js mcp` as a child
// over stdio, as an agent's MCP client does, in front of the dev stack (Temporal dev server,
// PostgreSQL, the bounce simulator, a worker). The child reaches them through its environment.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { WorkflowNotFoundError } from '@temporalio/client';
import { deliveryWorkflowId, type DeliveryStatus } from '../../src/delivery/contract';
import { getMessage } from '../../src/delivery/messages';
import { TOOL_NAMES, type ToolProblem } from '../../src/mcp/contract';
import { startDevStack, type DevStack } from '../helpers/dev-stack';
import { TEST_DATABASE_URL, testAddress, uid } from '../helpers/stack';
import { eventually } from '../helpers/wait';

const BIN = path.resolve(__dirname, '../../../bin/rebound.js');
/** A subject that must appear in no log line. */
const SECRET_SUBJECT = `Private subject ${uid()}`;

let stack: DevStack;
let mcp: Client;
let stderr = '';

before(async () => {
  stack = await startDevStack();
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [BIN, 'mcp'],
    env: {
      ...(process.env as Record<string, string>),
      TEMPORAL_ADDRESS: stack.server.address,
      REBOUND_TASK_QUEUE: stack.config.taskQueue,
      DATABASE_URL: TEST_DATABASE_URL,
      REBOUND_LOG_LEVEL: 'info',
    },
    stderr: 'pipe',
  });
  transport.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  mcp = new Client({ name: 'rebound-test', version: '1.0.0' });
  await mcp.connect(transport);
});

after(async () => {
  await mcp?.close();
  await stack?.teardown();
});

interface ToolAnswer<T = any> {
  isError: boolean;
  text: string;
  value: T;
}

async function call<T = any>(name: string, args: Record<string, unknown>): Promise<ToolAnswer<T>> {
  const result = (await mcp.callTool({ name, arguments: args })) as { isError?: boolean; content: { type: string; text: string }[]; structuredContent?: unknown };
  const text = result.content.map((c) => c.text).join('\n');
  return { isError: result.isError === true, text, value: result.structuredContent as T };
}

/** A tool error naming the field, in its text and in its structured problem. */
async function assertFieldError(answer: ToolAnswer<{ error: ToolProblem }>, field: string, status: number): Promise<void> {
  assert.equal(answer.isError, true, answer.text);
  assert.equal(answer.value.error.status, status, answer.text);
  assert.deepEqual(answer.value.error.errors?.map((e) => e.field), [field], answer.text);
  assert.ok(answer.text.includes(field), answer.text);
}

async function assertNothingFor(id: string): Promise<void> {
  assert.equal(await getMessage(stack.pool, id), null, `no message row for ${id}`);
  await assert.rejects(stack.client.workflow.getHandle(deliveryWorkflowId(id)).describe(), WorkflowNotFoundError);
}

const message = (to: string[], extra: Record<string, unknown> = {}) => ({ from: 'agent@rebound.test', to, subject: SECRET_SUBJECT, text: 'Body the logs never hold', ...extra });

describe('rebound mcp', () => {
  test('lists every tool with its input schema', async () => {
    const { tools } = await mcp.listTools();
    assert.deepEqual(tools.map((t) => t.name).sort(), [...TOOL_NAMES].sort());
    const send = tools.find((t) => t.name === 'send_message')!;
    assert.equal(send.inputSchema.type, 'object');
    assert.deepEqual([...(send.inputSchema.required ?? [])].sort(), ['from', 'subject', 'to']);
    for (const field of ['from', 'to', 'cc', 'bcc', 'subject', 'text', 'html', 'headers', 'profile', 'delays', 'deadline', 'idempotencyKey', 'id']) {
      assert.ok(send.inputSchema.properties?.[field], `send_message takes ${field}`);
    }
    assert.deepEqual((send.inputSchema.properties!.profile as { enum: string[] }).enum, ['standard', 'urgent', 'bulk']);
    assert.deepEqual(tools.find((t) => t.name === 'lift_suppression')!.inputSchema.required, ['address', 'reason']);
    for (const t of tools) assert.ok(t.description && t.description.length > 20, `${t.name} is described`);
  });

  test('send_message, then wait_for_outcome reaches delivered; get_delivery_status answers the same', async () => {
    const tag = uid();
    const sent = await call('send_message', message([testAddress('ok', tag)], { idempotencyKey: `mcp-${tag}`, delays: ['1s'], deadline: '30s' }));
    assert.equal(sent.isError, false, sent.text);
    assert.deepEqual(sent.value, { messageId: `mcp-${tag}`, workflowId: `delivery:mcp-${tag}`, state: 'queued', existing: false });
    assert.deepEqual(JSON.parse(sent.text), sent.value);
    const waited = await call<{ final: boolean; status: DeliveryStatus }>('wait_for_outcome', { messageId: `mcp-${tag}`, timeoutSeconds: 120 });
    assert.equal(waited.isError, false, waited.text);
    assert.equal(waited.value.final, true);
    assert.equal(waited.value.status.state, 'delivered');
    assert.equal(waited.value.status.recipients[0].state, 'delivered');
    const status = await call<DeliveryStatus>('get_delivery_status', { messageId: `mcp-${tag}` });
    assert.equal(status.value.state, 'delivered');
    assert.equal(status.value.messageId, `mcp-${tag}`);
  });

  test('the same key with the same content answers the same message; different content is an error naming id', async () => {
    const tag = uid();
    const request = message([testAddress('ok', tag)], { idempotencyKey: `mcp-idem-${tag}` });
    const first = await call('send_message', request);
    const again = await call('send_message', request);
    assert.equal(again.isError, false, again.text);
    assert.equal(again.value.messageId, first.value.messageId);
    assert.equal(again.value.existing, true);
    const other = await call('send_message', { ...request, text: 'different content' });
    await assertFieldError(other, 'id', 409);
    assert.match(other.text, new RegExp(`mcp-idem-${tag}`));
    // The key as `id` is the same key; the two given and different is an error naming the key.
    assert.equal((await call('send_message', { ...request, idempotencyKey: undefined, id: `mcp-idem-${tag}` })).value.existing, true);
    await assertFieldError(await call('send_message', { ...request, id: `other-${tag}` }), 'idempotencyKey', 422);
  });

  test('invalid fields are errors naming them, and nothing is stored or started', async () => {
    const tag = uid();
    const cases: [Record<string, unknown>, string][] = [
      [message(['bob@'], { idempotencyKey: `mcp-bad-to-${tag}` }), 'to[0]'],
      [message([testAddress('ok', tag)], { idempotencyKey: `mcp-bad-hdr-${tag}`, headers: { Subject: 'x' } }), 'headers["Subject"]'],
      [message([testAddress('ok', tag)], { idempotencyKey: `mcp-bad-delay-${tag}`, delays: ['soon'] }), 'delays[0]'],
      [message([testAddress('ok', tag)], { idempotencyKey: 'not a valid id' }), 'id'],
    ];
    for (const [args, field] of cases) await assertFieldError(await call('send_message', args), field, 422);
    for (const id of [`mcp-bad-to-${tag}`, `mcp-bad-hdr-${tag}`, `mcp-bad-delay-${tag}`]) await assertNothingFor(id);
    // A value of the wrong JSON type is refused against the input schema, naming its path.
    const wrongType = await call('send_message', { ...message([]), to: 5, idempotencyKey: `mcp-bad-type-${tag}` });
    assert.equal(wrongType.isError, true);
    assert.match(wrongType.text, /\bto\b/);
    await assertNothingFor(`mcp-bad-type-${tag}`);
    const unknownField = await call('send_message', { ...message([testAddress('ok', tag)]), body: 'x', idempotencyKey: `mcp-bad-field-${tag}` });
    assert.equal(unknownField.isError, true);
    assert.match(unknownField.text, /body/);
    await assertNothingFor(`mcp-bad-field-${tag}`);
  });

  test('an unknown message id, and timeouts out of bounds, are errors that name them', async () => {
    const unknown = await call('get_delivery_status', { messageId: 'never-sent-123' });
    assert.equal(unknown.isError, true);
    assert.equal(unknown.value.error.status, 404);
    assert.match(unknown.text, /never-sent-123/);
    assert.equal((await call('wait_for_outcome', { messageId: 'never-sent-123', timeoutSeconds: 1 })).value.error.status, 404);
    for (const timeoutSeconds of [0, 601, -5]) await assertFieldError(await call('wait_for_outcome', { messageId: 'x', timeoutSeconds }), 'timeoutSeconds', 422);
  });

  test('wait_for_outcome answers final: false at its timeout, and list_retrying lists the retrying message', async () => {
    const tag = uid();
    const to = testAddress('full', tag);
    const sent = await call('send_message', message([to], { idempotencyKey: `mcp-full-${tag}`, delays: ['1h'], deadline: '2h' }));
    const waited = await call('wait_for_outcome', { messageId: sent.value.messageId, timeoutSeconds: 1 });
    assert.equal(waited.isError, false, waited.text);
    assert.equal(waited.value.final, false);
    assert.ok(['queued', 'sending', 'retrying'].includes(waited.value.status.state), waited.value.status.state);
    const listed = await eventually(
      'list_retrying shows the message',
      () => call('list_retrying', { domain: 'example.test', limit: 100 }),
      (a) => a.value?.messages?.some((m: { messageId: string }) => m.messageId === `mcp-full-${tag}`),
    );
    const entry = listed.value.messages.find((m: { messageId: string }) => m.messageId === `mcp-full-${tag}`);
    assert.equal(entry.workflowId, `delivery:mcp-full-${tag}`);
    await assertFieldError(await call('list_retrying', { limit: 1000 }), 'limit', 422);
    await stack.rebound.cancel(`mcp-full-${tag}`);
  });

  test('a hard bounce suppresses; check_suppression shows it and lift_suppression lifts it with its reason', async () => {
    const tag = uid();
    const to = testAddress('unknown', tag);
    const sent = await call('send_message', message([to], { idempotencyKey: `mcp-hard-${tag}` }));
    assert.equal((await call('wait_for_outcome', { messageId: sent.value.messageId, timeoutSeconds: 120 })).value.status.state, 'failed');
    const suppressed = await eventually('the address is suppressed', () => call('check_suppression', { address: to }), (a) => a.value?.suppressed === true);
    assert.equal(suppressed.value.reason, 'hard_bounce');
    await assertFieldError(await call('lift_suppression', { address: to, reason: '  ' }), 'reason', 422);
    const missing = await call('lift_suppression', { address: to });
    assert.equal(missing.isError, true);
    assert.match(missing.text, /reason/);
    const lifted = await call('lift_suppression', { address: to, reason: 'the user fixed the mailbox' });
    assert.equal(lifted.isError, false, lifted.text);
    assert.equal(lifted.value.suppressed, false);
    assert.equal((await call('check_suppression', { address: to })).value.suppressed, false);
    const row = await stack.pool.query('SELECT lift_reason, lifted_by FROM suppressions WHERE address = $1', [to]);
    assert.deepEqual(row.rows[0], { lift_reason: 'the user fixed the mailbox', lifted_by: 'mcp' });
    await assertFieldError(await call('check_suppression', { address: 'not-an-address' }), 'address', 422);
  });

  test('get_domain_health answers the domain\'s figures; a bad domain is an error naming it', async () => {
    const health = await call('get_domain_health', { domain: 'example.test', window: '1h' });
    assert.equal(health.isError, false, health.text);
    assert.equal(health.value.domain, 'example.test');
    assert.equal(health.value.window, '1h');
    assert.ok(health.value.attempts >= 1, JSON.stringify(health.value));
    assert.ok(['healthy', 'watch', 'bad'].includes(health.value.verdict));
    assert.ok(Array.isArray(health.value.topReplies));
    await assertFieldError(await call('get_domain_health', { domain: 'a@example.test' }), 'domain', 422);
    await assertFieldError(await call('get_domain_health', { domain: 'example.test', window: '90d' }), 'window', 422);
  });

  test('the logs are on stderr, name the tools, and never hold a subject or a body', async () => {
    await eventually('the child has logged its calls', async () => stderr, (s) => s.includes('"tool":"send_message"'));
    const lines = stderr.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
    assert.ok(lines.some((l) => l.msg === 'mcp ready on stdio'));
    assert.ok(lines.some((l) => l.tool === 'send_message' && l.status === 422 && l.fields?.includes('to[0]')));
    assert.ok(!stderr.includes(SECRET_SUBJECT), 'no subject in the logs');
    assert.ok(!stderr.includes('Body the logs never hold'), 'no body in the logs');
  });
});
