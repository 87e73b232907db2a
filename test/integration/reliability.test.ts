// What the delivery workflow does when PostgreSQL goes away at the worst moment — right after
// the server accepted a message — on the time-skipping server with real workflows, the real
// simulator and PostgreSQL: the replies stay in the history, the log is written later, and
// nothing is sent twice.
import assert from 'node:assert/strict';
import { localActivityType } from '../../src/delivery/attempt-events';
import { after, before, describe, test } from 'node:test';
import { failingStatements, type FaultyPool } from '../helpers/faulty-pool';
import { recordHistory } from '../helpers/history';
import { startTimeSkippingStack, testAddress, testMessage, uid, type TimeSkippingStack } from '../helpers/stack';

let stack: TimeSkippingStack;
let faulty: FaultyPool;
before(async () => {
  // The first two attempt-log writes fail as a dropped connection would: the send activity's
  // own, and the first try of the workflow's follow-up.
  stack = await startTimeSkippingStack({}, { workerPool: (pool) => (faulty = failingStatements(pool, /INSERT INTO attempts/, 2)).pool });
});
after(async () => {
  await stack?.teardown();
});

describe('reliability (time-skipping server)', () => {
  test('PostgreSQL lost right after the 250: delivered once, the attempt log and the final state written by the workflow', async () => {
    const tag = uid();
    const [ok, full] = [testAddress('alice', tag), testAddress('full-1', tag)];
    const { messageId } = await stack.rebound.send(testMessage([ok, full]));
    const final = await stack.rebound.result(messageId);
    assert.equal(final.state, 'delivered');
    assert.equal(faulty.failed(), 2, 'the attempt log was refused twice');
    const header = (await stack.pool.query('SELECT message_id_header FROM messages WHERE id = $1', [messageId])).rows[0].message_id_header;
    assert.equal(stack.sink.deliveries(header, ok), 1, 'accepted once, never resent');
    assert.equal(stack.sink.deliveries(header, full), 1);
    const logged = await stack.pool.query('SELECT attempt, recipient, kind FROM attempts WHERE message_id = $1 ORDER BY attempt, recipient', [messageId]);
    assert.deepEqual(logged.rows.map((r) => [r.attempt, r.recipient, r.kind]), [[1, ok, 'delivered'], [1, full, 'soft'], [2, full, 'delivered']].sort());
    const row = (await stack.pool.query('SELECT state FROM messages WHERE id = $1', [messageId])).rows[0];
    assert.equal(row.state, 'delivered');
    const events = (await stack.rebound.handle(messageId).fetchHistory()).events ?? [];
    const scheduled = events.map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? (localActivityType(e) ? `local ${localActivityType(e)}` : null)).filter(Boolean);
    // The second attempt (to the mailbox that had room again) wrote its log and the final state itself.
    assert.deepEqual(scheduled, ['local sendAttempt', 'recordAttemptLog', 'local sendAttempt']);
    const followUp = events.find((e) => e.activityTaskStartedEventAttributes && events.some((s) => s.activityTaskScheduledEventAttributes?.activityType?.name === 'recordAttemptLog' && Number(s.eventId) === Number(e.activityTaskStartedEventAttributes!.scheduledEventId)));
    assert.equal(followUp?.activityTaskStartedEventAttributes?.attempt, 2, 'the follow-up was retried until the database answered');
    await recordHistory(stack.rebound.handle(messageId), 'attempt-log-handed-over');
  });
});
