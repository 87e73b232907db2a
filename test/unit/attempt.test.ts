// settleAttempt: what one attempt's replies decide, for the send activity and the workflow alike.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { recipientStateAfter, settleAttempt } from '../../src/delivery/attempt';
import type { AttemptProgress, AttemptReply, ReplyKind } from '../../src/delivery/contract';

const CATEGORY = { delivered: 'delivered', soft: 'mailbox_full', hard: 'unknown_user' } as const;
function reply(address: string, kind: ReplyKind): AttemptReply {
  return { address, kind, category: CATEGORY[kind], scope: 'recipient', code: kind === 'delivered' ? 250 : kind === 'soft' ? 452 : 550, enhanced: null, text: '', retryAfterMs: null };
}

describe('settleAttempt', () => {
  const rows: { name: string; progress: AttemptProgress; kinds: ReplyKind[]; finalState: string | null; ended: number }[] = [
    { name: 'every recipient delivered', progress: { recipientsTotal: 2, deliveredBefore: 0 }, kinds: ['delivered', 'delivered'], finalState: 'delivered', ended: 2 },
    { name: 'one delivered, one hard bounce', progress: { recipientsTotal: 2, deliveredBefore: 0 }, kinds: ['delivered', 'hard'], finalState: 'partially_delivered', ended: 2 },
    { name: 'every recipient hard-bounced', progress: { recipientsTotal: 2, deliveredBefore: 0 }, kinds: ['hard', 'hard'], finalState: 'failed', ended: 2 },
    { name: 'a soft bounce keeps the message open', progress: { recipientsTotal: 2, deliveredBefore: 0 }, kinds: ['delivered', 'soft'], finalState: null, ended: 1 },
    { name: 'recipients open elsewhere keep it open', progress: { recipientsTotal: 3, deliveredBefore: 0, openElsewhere: 1 }, kinds: ['delivered', 'delivered'], finalState: null, ended: 2 },
    { name: 'earlier deliveries count: last recipient delivered', progress: { recipientsTotal: 3, deliveredBefore: 2 }, kinds: ['delivered'], finalState: 'delivered', ended: 1 },
    { name: 'earlier deliveries count: last recipient bounced', progress: { recipientsTotal: 3, deliveredBefore: 2 }, kinds: ['hard'], finalState: 'partially_delivered', ended: 1 },
    { name: 'suppressed recipients are in the total, not delivered', progress: { recipientsTotal: 2, deliveredBefore: 0 }, kinds: ['delivered'], finalState: 'partially_delivered', ended: 1 },
    { name: 'nothing attempted (all suppressed)', progress: { recipientsTotal: 1, deliveredBefore: 0 }, kinds: [], finalState: 'failed', ended: 0 },
  ];
  for (const row of rows) {
    test(row.name, () => {
      const replies = row.kinds.map((k, i) => reply(`r${i}@example.test`, k));
      const settled = settleAttempt(row.progress, replies);
      assert.equal(settled.finalState, row.finalState);
      assert.equal(settled.ended.length, row.ended);
      assert.ok(settled.ended.every((r) => r.kind !== 'soft'), 'a soft bounce ends no send');
      assert.deepEqual(settled.recipients.map((r) => r.state), row.kinds.map((k) => recipientStateAfter({ kind: k })));
    });
  }

  test('recipientStateAfter: delivered and hard close the recipient, soft retries', () => {
    assert.equal(recipientStateAfter({ kind: 'delivered' }), 'delivered');
    assert.equal(recipientStateAfter({ kind: 'hard' }), 'bounced');
    assert.equal(recipientStateAfter({ kind: 'soft' }), 'retrying');
  });
});
