// From activity results to metric increments (README "Metrics"): what each activity call counts.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { AttemptReply, ReplyKind, SendAttemptResult } from '../../src/delivery/contract';
import type { WorkerIncrement } from '../../src/metrics/contract';
import { observeActivity, reasonLabel, sourceLabel } from '../../src/metrics/observations';

const CATEGORY = { delivered: 'delivered', soft: 'mailbox_full', hard: 'unknown_user' } as const;
function reply(address: string, kind: ReplyKind, extra: Partial<AttemptReply> = {}): AttemptReply {
  return { address, kind, category: CATEGORY[kind], scope: 'recipient', code: kind === 'delivered' ? 250 : kind === 'soft' ? 452 : 550, enhanced: null, text: '', retryAfterMs: null, ...extra };
}
function result(extra: Partial<SendAttemptResult>): SendAttemptResult {
  return { replies: [], suppressed: [], unreported: [], finalState: null, unrecorded: null, ...extra };
}
/** Domains as they come, so the table shows which domain each increment names. */
const asIs = (d: string) => d;

describe('observeActivity', () => {
  const rows: { name: string; type: string; args?: unknown[]; result?: unknown; increments: WorkerIncrement[] }[] = [
    {
      name: 'sendAttempt: one attempt increment per reply, with kind, category, scope and domain',
      type: 'sendAttempt',
      result: result({ replies: [reply('a@x.test', 'delivered'), reply('b@y.test', 'soft'), reply('c@x.test', 'hard', { category: 'policy_block', scope: 'sender' })] }),
      increments: [
        { metric: 'attempts', labels: { kind: 'delivered', category: 'delivered', scope: 'recipient', domain: 'x.test' } },
        { metric: 'attempts', labels: { kind: 'soft', category: 'mailbox_full', scope: 'recipient', domain: 'y.test' } },
        { metric: 'attempts', labels: { kind: 'hard', category: 'policy_block', scope: 'sender', domain: 'x.test' } },
      ],
    },
    {
      name: 'sendAttempt: the final state it recorded, and the suppressed recipients it skipped',
      type: 'sendAttempt',
      result: result({
        replies: [reply('a@x.test', 'delivered')],
        suppressed: [{ address: 's@x.test', reason: 'hard_bounce' }, { address: 't@x.test', reason: 'customer asked by phone' }],
        finalState: 'partially_delivered',
      }),
      increments: [
        { metric: 'attempts', labels: { kind: 'delivered', category: 'delivered', scope: 'recipient', domain: 'x.test' } },
        { metric: 'suppressedSkips', labels: { reason: 'hard_bounce' } },
        { metric: 'suppressedSkips', labels: { reason: 'other' } },
        { metric: 'messagesFinal', labels: { state: 'partially_delivered' } },
      ],
    },
    {
      name: 'sendAttempt: a reply recorded before scopes existed gets its derived scope',
      type: 'sendAttempt',
      result: result({ replies: [{ ...reply('a@x.test', 'soft'), scope: undefined as never, code: 452, enhanced: '4.2.2', text: 'mailbox full' }] }),
      increments: [{ metric: 'attempts', labels: { kind: 'soft', category: 'mailbox_full', scope: 'recipient', domain: 'x.test' } }],
    },
    {
      name: 'sendAttempt: a log handed over to the workflow counts no final state (recordAttemptLog does)',
      type: 'sendAttempt',
      result: result({ replies: [reply('a@x.test', 'delivered')], finalState: null, unrecorded: { messageId: 'm', attempt: 1, replies: [], finalState: 'delivered' } }),
      increments: [{ metric: 'attempts', labels: { kind: 'delivered', category: 'delivered', scope: 'recipient', domain: 'x.test' } }],
    },
    {
      name: 'recordAttemptLog: the final state of the handed-over log',
      type: 'recordAttemptLog',
      args: [{ messageId: 'm', attempt: 1, replies: [reply('a@x.test', 'delivered')], finalState: 'delivered' }],
      increments: [{ metric: 'messagesFinal', labels: { state: 'delivered' } }],
    },
    { name: 'recordAttemptLog: no final state, nothing', type: 'recordAttemptLog', args: [{ messageId: 'm', attempt: 1, replies: [], finalState: null }], increments: [] },
    {
      name: 'recordDeliveryState: expired recipients and the final state',
      type: 'recordDeliveryState',
      args: [{ messageId: 'm', state: 'failed', expired: [{ address: 'a@x.test', reply: reply('a@x.test', 'soft') }] }],
      increments: [
        { metric: 'recipientsExpired', labels: { category: 'mailbox_full', scope: 'recipient', domain: 'x.test' } },
        { metric: 'messagesFinal', labels: { state: 'failed' } },
      ],
    },
    { name: 'recordDeliveryState: cancelled', type: 'recordDeliveryState', args: [{ messageId: 'm', state: 'cancelled' }], increments: [{ metric: 'messagesFinal', labels: { state: 'cancelled' } }] },
    {
      name: 'recordDeliveryState: expiries while other recipients are open',
      type: 'recordDeliveryState',
      args: [{ messageId: 'm', state: null, expired: [{ address: 'a@y.test', reply: reply('a@y.test', 'soft', { category: 'greylisted', scope: 'destination' }) }] }],
      increments: [{ metric: 'recipientsExpired', labels: { category: 'greylisted', scope: 'destination', domain: 'y.test' } }],
    },
    {
      name: 'writeSuppression: an automatic one',
      type: 'writeSuppression',
      args: [{ address: 'a@x.test', reason: 'soft_bounce_threshold', source: 'auto' }],
      increments: [{ metric: 'suppressions', labels: { reason: 'soft_bounce_threshold', source: 'auto' } }],
    },
    {
      name: "writeSuppression: an operator's free-text reason is 'other'",
      type: 'writeSuppression',
      args: [{ address: 'a@x.test', reason: 'asked us by phone', source: 'manual' }],
      increments: [{ metric: 'suppressions', labels: { reason: 'other', source: 'manual' } }],
    },
    { name: 'other activities count nothing', type: 'loadSuppression', args: ['a@x.test'], result: null, increments: [] },
  ];
  for (const row of rows) {
    test(row.name, () => {
      assert.deepEqual(observeActivity(row.type, row.args ?? [], row.result, asIs), row.increments);
    });
  }

  test('no increment carries an address: the domain labeller is asked for the domain only', () => {
    const asked: string[] = [];
    const label = (d: string) => (asked.push(d), 'other');
    const incs = observeActivity('sendAttempt', [], result({ replies: [reply('Alice+tag@Mail.Example.test', 'delivered')] }), label);
    assert.deepEqual(asked, ['mail.example.test']);
    assert.ok(!JSON.stringify(incs).includes('@'));
  });
});

describe('bounded label vocabularies', () => {
  const reasons: [string | null, string][] = [['soft_bounce_threshold', 'soft_bounce_threshold'], ['hard_bounce', 'hard_bounce'], ['manual', 'manual'], ['import', 'import'], ['complaint', 'complaint'], ['anything else', 'other'], [null, 'other']];
  for (const [reason, label] of reasons) test(`reason ${JSON.stringify(reason)} -> ${label}`, () => assert.equal(reasonLabel(reason), label));
  const sources: [string | null, string][] = [['auto', 'auto'], ['manual', 'manual'], ['import', 'import'], ['api', 'other'], [null, 'other']];
  for (const [source, label] of sources) test(`source ${JSON.stringify(source)} -> ${label}`, () => assert.equal(sourceLabel(source), label));
});
