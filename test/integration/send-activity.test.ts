// The send activity itself, outside any workflow: a retried activity (as after a worker crash)
// must not send again what the server already accepted.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { Pool } from 'pg';
import { createSendActivities } from '../../activities/send';
import { ReboundClient } from '../../src/client/rebound-client';
import { createPool } from '../../src/db/pool';
import { prepareDatabase } from '../../src/db/setup';
import { startSink, type BounceSink } from '../../src/sink';
import { createSmtpTransport, type SmtpTransport } from '../../src/smtp/transport';
import type { SendAttemptInput, SendAttemptResult } from '../../src/types';
import { TEST_DATABASE_URL, uid } from '../helpers/stack';

let pool: Pool;
let sink: BounceSink;
let transport: SmtpTransport;

before(async () => {
  await prepareDatabase(TEST_DATABASE_URL);
  pool = createPool(TEST_DATABASE_URL);
  sink = await startSink({ port: 0, log: () => undefined });
  transport = createSmtpTransport(sink.url);
});
after(async () => {
  transport?.close();
  await sink?.close();
  await pool?.end();
});

/** Runs one send activity call in an activity context, as a worker would. */
function runSend(activities: ReturnType<typeof createSendActivities>, input: SendAttemptInput): Promise<SendAttemptResult> {
  return new MockActivityEnvironment().run(activities.sendAttempt, input) as Promise<SendAttemptResult>;
}

/** Stores a message the way the client does, without starting a workflow. */
async function storeMessage(to: string[]): Promise<{ id: string; header: string }> {
  const id = `activity-${uid()}`;
  const client = new ReboundClient({ client: { workflow: { start: async () => undefined } } as never, pool, taskQueue: 'unused' });
  await client.send({ id, from: 'sender@rebound.test', to, subject: 'Hello', text: 'Body' });
  const res = await pool.query('SELECT message_id_header FROM messages WHERE id = $1', [id]);
  return { id, header: res.rows[0].message_id_header };
}

describe('send activity', () => {
  test('classifies each recipient and records the attempt log', async () => {
    const tag = uid();
    const to = [`ok+${tag}@example.test`, `unknown+${tag}@example.test`, `full+${tag}@example.test`];
    const { id } = await storeMessage(to);
    const activities = createSendActivities({ pool, transport });
    const { replies } = await runSend(activities, { messageId: id, attempt: 1, recipients: to });
    assert.deepEqual(
      replies.map((r) => [r.address, r.kind, r.category]),
      [
        [to[0], 'delivered', 'delivered'],
        [to[1], 'hard', 'unknown_user'],
        [to[2], 'soft', 'mailbox_full'],
      ],
    );
    const log = await pool.query('SELECT recipient, category FROM attempts WHERE message_id = $1 ORDER BY recipient', [id]);
    assert.equal(log.rowCount, 3);
  });

  test('a second run of the same attempt does not resend to recipients already accepted', async () => {
    const tag = uid();
    const to = [`ok+${tag}@example.test`, `soft-1+${tag}@example.test`];
    const { id, header } = await storeMessage(to);
    const activities = createSendActivities({ pool, transport });
    const first = await runSend(activities, { messageId: id, attempt: 1, recipients: to });
    assert.equal(first.replies[0].kind, 'delivered');
    assert.equal(first.replies[1].kind, 'soft');
    // The worker crashed before reporting completion: Temporal runs the activity again.
    const retried = await runSend(activities, { messageId: id, attempt: 1, recipients: to });
    assert.equal(retried.replies[0].kind, 'delivered');
    assert.equal(retried.replies[0].alreadyAccepted, true);
    assert.equal(retried.replies[1].kind, 'delivered', 'the soft-bounced recipient is attempted again');
    assert.equal(sink.deliveries(header, to[0]), 1, 'accepted exactly once');
    assert.equal(sink.deliveries(header, to[1]), 1);
    assert.deepEqual(sink.duplicates(), []);
  });

  test('a connection-level failure is a network_error reply for every recipient, not an exception', async () => {
    const tag = uid();
    const to = [`a+${tag}@example.test`, `b+${tag}@example.test`];
    const { id } = await storeMessage(to);
    const dead = createSmtpTransport('smtp://127.0.0.1:1?starttls=never');
    try {
      const activities = createSendActivities({ pool, transport: dead });
      const { replies } = await runSend(activities, { messageId: id, attempt: 1, recipients: to });
      for (const r of replies) {
        assert.equal(r.kind, 'soft');
        assert.equal(r.category, 'network_error');
      }
    } finally {
      dead.close();
    }
  });

  test('a message missing from the database fails without retry', async () => {
    const activities = createSendActivities({ pool, transport });
    await assert.rejects(
      runSend(activities, { messageId: `missing-${uid()}`, attempt: 1, recipients: ['x@example.test'] }),
      (err: Error & { type?: string; nonRetryable?: boolean }) => err.type === 'MessageNotFound' && err.nonRetryable === true,
    );
  });
});
