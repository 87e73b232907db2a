// The send activity itself, outside any workflow: a retried activity (as after a worker crash)
// must not send again what the server already accepted.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { Pool } from 'pg';
import { createSendActivities } from '../../activities/delivery';
import { ReboundClient } from '../../src/client/rebound-client';
import { createPool } from '../../src/db/pool';
import { DATABASE_UNAVAILABLE, DatabaseOutage } from '../../src/db/outage';
import { logger } from '../../src/log';
import { prepareDatabase } from '../../src/db/setup';
import { startSink, type BounceSink } from '../../src/sink';
import { createSmtpTransport, type SmtpTransport } from '../../src/smtp/transport';
import { relaySender } from '../../src/smtp/sender';
import { createDirectSender } from '../../src/smtp/direct/sender';
import { startDnsServer } from '../helpers/dns-server';
import type { ReputationNotice } from '../../src/reputation/contract';
import type { SendAttemptInput, SendAttemptResult } from '../../src/delivery/contract';
import { failingStatements } from '../helpers/faulty-pool';
import { TEST_DATABASE_URL, uid } from '../helpers/stack';
import { eventually } from '../helpers/wait';

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
function runSend(activities: ReturnType<typeof createSendActivities>, input: Pick<SendAttemptInput, 'messageId' | 'attempt' | 'recipients'> & Partial<SendAttemptInput>): Promise<SendAttemptResult> {
  const full: SendAttemptInput = { progress: { recipientsTotal: input.recipients.length, deliveredBefore: 0 }, ...input };
  return new MockActivityEnvironment().run(activities.sendAttempt, full) as Promise<SendAttemptResult>;
}

/** The notices the activity hands to reputation workflows, kept for the assertions. */
function recordingNotifier(): { notices: ReputationNotice[]; notify: (n: ReputationNotice[]) => Promise<void> } {
  const notices: ReputationNotice[] = [];
  return { notices, notify: async (n) => void notices.push(...n) };
}

function activitiesWith(t: SmtpTransport = transport, notify = recordingNotifier().notify) {
  return createSendActivities({ pool, sender: relaySender(t), notifyReputation: notify, outage: new DatabaseOutage(logger) });
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
    const activities = activitiesWith();
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
    const activities = activitiesWith();
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
      const activities = activitiesWith(dead);
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
    const activities = activitiesWith();
    await assert.rejects(
      runSend(activities, { messageId: `missing-${uid()}`, attempt: 1, recipients: ['x@example.test'] }),
      (err: Error & { type?: string; nonRetryable?: boolean }) => err.type === 'MessageNotFound' && err.nonRetryable === true,
    );
  });

  test('suppressed recipients are skipped before the SMTP transaction', async () => {
    const tag = uid();
    const to = [`ok+${tag}@example.test`, `ok2+${tag}@example.test`];
    const { id, header } = await storeMessage(to);
    await pool.query(`INSERT INTO suppressions (address, reason, source) VALUES ($1, 'manual', 'manual')`, [to[1]]);
    const { replies, suppressed, finalState } = await runSend(activitiesWith(), { messageId: id, attempt: 1, recipients: to });
    assert.deepEqual(suppressed, [{ address: to[1], reason: 'manual' }]);
    assert.deepEqual(replies.map((r) => r.address), [to[0]]);
    assert.equal(finalState, 'partially_delivered', 'nothing is left open: the final state is recorded');
    assert.equal(sink.deliveries(header, to[1]), 0);
    assert.equal(sink.transactions().filter((t) => t.rcpt.some((r) => r.address === to[1])).length, 0, 'never named in a transaction');
    const state = await pool.query('SELECT state FROM messages WHERE id = $1', [id]);
    assert.equal(state.rows[0].state, 'partially_delivered');
  });

  test('reputation hears the sends an attempt ends, with their scope; a failure to tell it is handed back, not retried over SMTP', async () => {
    const tag = uid();
    const to = [`ok+${tag}@example.test`, `unknown+${tag}@example.test`, `full+${tag}@example.test`];
    const { id } = await storeMessage(to);
    const recorder = recordingNotifier();
    await runSend(activitiesWith(transport, recorder.notify), { messageId: id, attempt: 1, recipients: to });
    // The full mailbox is still retrying: its send has not ended, so it is not reported.
    assert.deepEqual(recorder.notices.map((n) => [n.address, n.event, n.category, n.scope, n.messageId]), [
      [to[0], 'delivered', 'delivered', 'recipient', id],
      [to[1], 'hardBounced', 'unknown_user', 'recipient', id],
    ]);
    const again = recordingNotifier();
    await runSend(activitiesWith(transport, again.notify), { messageId: id, attempt: 2, recipients: [to[2]] });
    assert.deepEqual(again.notices, []);

    const failing = async () => {
      throw new Error('Temporal is unreachable');
    };
    const late = `ok2+${tag}@example.test`;
    const second = await storeMessage([late]);
    const before = sink.transactions().length;
    const result = await runSend(activitiesWith(transport, failing), { messageId: second.id, attempt: 1, recipients: [late] });
    assert.deepEqual(result.unreported.map((n) => [n.address, n.event]), [[late, 'delivered']]);
    assert.equal(sink.transactions().length, before + 1, 'one SMTP transaction, not repeated');
  });

  test('an attempt that leaves recipients open elsewhere records no final state', async () => {
    const tag = uid();
    const to = [`ok+${tag}@example.test`, `full+${tag}@example.test`];
    const { id } = await storeMessage(to);
    const result = await runSend(activitiesWith(), { messageId: id, attempt: 1, recipients: [to[0]], progress: { recipientsTotal: 2, deliveredBefore: 0, openElsewhere: 1 } });
    assert.equal(result.finalState, null);
    const state = await pool.query('SELECT state FROM messages WHERE id = $1', [id]);
    assert.equal(state.rows[0].state, 'queued');
  });

  test('PostgreSQL lost after the SMTP transaction: the activity completes with the replies and hands the log over; nothing is sent twice', async () => {
    const tag = uid();
    const to = [`ok+${tag}@example.test`];
    const { id, header } = await storeMessage(to);
    // The connection drops as the attempt log is written (a restart, a failover).
    const flaky = failingStatements(pool, /INSERT INTO attempts/).pool;
    const activities = createSendActivities({ pool: flaky, sender: relaySender(transport), notifyReputation: recordingNotifier().notify, outage: new DatabaseOutage(logger) });
    const result = await runSend(activities, { messageId: id, attempt: 1, recipients: to });
    assert.deepEqual(result.replies.map((r) => [r.address, r.kind]), [[to[0], 'delivered']]);
    assert.ok(result.unrecorded, 'the log is handed to the workflow');
    assert.equal(result.finalState, null, 'no final state claimed before it is written');
    assert.equal(sink.deliveries(header, to[0]), 1);
    // The workflow's follow-up activity writes it once the database answers.
    await new MockActivityEnvironment().run(activitiesWith().recordAttemptLog, result.unrecorded);
    const logged = await pool.query('SELECT kind FROM attempts WHERE message_id = $1', [id]);
    assert.deepEqual(logged.rows.map((r) => r.kind), ['delivered']);
    const ledger = await pool.query('SELECT count(*)::int AS n FROM accepted_recipients WHERE message_id = $1', [id]);
    assert.equal(ledger.rows[0].n, 1);
  });

  test('PostgreSQL unreachable before the SMTP transaction: a retryable DatabaseUnavailable failure, nothing sent', async () => {
    const tag = uid();
    const to = [`ok+${tag}@example.test`];
    const { id } = await storeMessage(to);
    const down = createPool('postgres://postgres@127.0.0.1:1/rebound_test', { connectionTimeoutMillis: 1000 });
    try {
      const before = sink.transactions().length;
      const activities = createSendActivities({ pool: down, sender: relaySender(transport), notifyReputation: recordingNotifier().notify, outage: new DatabaseOutage(logger) });
      await assert.rejects(runSend(activities, { messageId: id, attempt: 1, recipients: to }), (err: Error & { type?: string; nonRetryable?: boolean }) => {
        return err.type === DATABASE_UNAVAILABLE && err.nonRetryable === false;
      });
      assert.equal(sink.transactions().length, before, 'no SMTP transaction');
    } finally {
      await down.end();
    }
  });

  test('send() while PostgreSQL is unreachable: a clear, retryable error naming the message, and nothing started', async () => {
    const down = createPool('postgres://postgres@127.0.0.1:1/rebound_test', { connectionTimeoutMillis: 1000 });
    const starts: unknown[] = [];
    try {
      const client = new ReboundClient({ client: { workflow: { start: async (...args: unknown[]) => void starts.push(args) } } as never, pool: down, taskQueue: 'unused' });
      await assert.rejects(client.send({ id: `down-${uid()}`, from: 'sender@rebound.test', to: ['a@example.test'], subject: 'Hello', text: 'Body' }), (err: Error & { retryable?: boolean }) => {
        return err.name === 'ServiceUnavailableError' && err.retryable === true && /was not stored: PostgreSQL is unreachable/.test(err.message) && /same id/.test(err.message);
      });
      assert.equal(starts.length, 0, 'no workflow started');
    } finally {
      await down.end();
    }
  });

  describe('the send lease: one run of an attempt writes the body', () => {
    type Failure = Error & { type?: string; nonRetryable?: boolean };
    const leaseOf = (id: string) => pool.query('SELECT holder, until FROM send_leases WHERE message_id = $1', [id]).then((r) => r.rows[0] as { holder: string; until: Date } | undefined);

    test('an earlier run still holding the lease: this run waits (SendLeaseBusy, retryable), nothing sent', async () => {
      const to = [`ok+${uid()}@example.test`];
      const { id, header } = await storeMessage(to);
      await pool.query(`INSERT INTO send_leases (message_id, holder, until) VALUES ($1, 'elsewhere/1/x', now() + interval '20 seconds')`, [id]);
      await assert.rejects(runSend(activitiesWith(), { messageId: id, attempt: 1, recipients: to }), (err: Failure) => err.type === 'SendLeaseBusy' && err.nonRetryable === false && /holds the send lease until/.test(err.message));
      assert.equal(sink.deliveries(header, to[0]), 0);
      assert.equal((await leaseOf(id))?.holder, 'elsewhere/1/x', 'the other run keeps its lease');
      // Lapsed: the next run takes it, sends once, and drops it when it ends.
      await pool.query(`UPDATE send_leases SET until = now() - interval '1 second' WHERE message_id = $1`, [id]);
      const { replies } = await runSend(activitiesWith(), { messageId: id, attempt: 1, recipients: to });
      assert.equal(replies[0].kind, 'delivered');
      assert.equal(sink.deliveries(header, to[0]), 1);
      assert.equal(await leaseOf(id), undefined, 'released');
    });

    test('lease taken over while the server holds the RCPT reply (a paused worker): the transaction is abandoned before the body, never delivered', async () => {
      const to = [`slow-1500+${uid()}@example.test`];
      const { id, header } = await storeMessage(to);
      const run = runSend(activitiesWith(), { messageId: id, attempt: 1, recipients: to });
      run.catch(() => undefined);
      // The retry Temporal started elsewhere takes the lapsed lease while this run waits on RCPT.
      await eventually('the first run holds the lease', () => leaseOf(id), (l) => l !== undefined);
      await pool.query(`UPDATE send_leases SET holder = 'retry-elsewhere/1/y' WHERE message_id = $1`, [id]);
      await assert.rejects(run, (err: Failure) => err.type === 'SendLeaseLost' && /sent nothing/.test(err.message));
      assert.equal(sink.deliveries(header, to[0]), 0, 'the server got no final "." from the run that lost its lease');
      const tx = await eventually('the abandoned transaction is logged', async () => sink.transactions().filter((t) => t.rcpt.some((r) => r.address === to[0])), (t) => t.length === 1);
      assert.equal(tx[0].outcome, 'dropped', 'the connection closed mid-DATA');
      assert.equal(tx[0].data, undefined, 'no reply to the end of DATA: the body never ended');
      assert.deepEqual(tx[0].accepted, []);
      assert.equal((await leaseOf(id))?.holder, 'retry-elsewhere/1/y', 'the run that lost it does not release the new holder\'s lease');
    });

    test('PostgreSQL unreachable when the body is due: abandoned, DatabaseUnavailable (retried), nothing delivered', async () => {
      const to = [`ok+${uid()}@example.test`];
      const { id, header } = await storeMessage(to);
      const flaky = failingStatements(pool, /UPDATE send_leases/).pool;
      const activities = createSendActivities({ pool: flaky, sender: relaySender(transport), notifyReputation: recordingNotifier().notify, outage: new DatabaseOutage(logger) });
      await assert.rejects(runSend(activities, { messageId: id, attempt: 1, recipients: to }), (err: Failure) => err.type === DATABASE_UNAVAILABLE && err.nonRetryable === false && /send lease/.test(err.message));
      assert.equal(sink.deliveries(header, to[0]), 0);
      const { replies } = await runSend(activitiesWith(), { messageId: id, attempt: 1, recipients: to });
      assert.equal(replies[0].kind, 'delivered');
      assert.equal(sink.deliveries(header, to[0]), 1, 'delivered once, by the retry');
    });

    test('a run whose release PostgreSQL did not take: the next run in the same process takes its lease at once', async () => {
      const to = [`ok+${uid()}@example.test`];
      const { id, header } = await storeMessage(to);
      // PostgreSQL goes away after the lease is taken: the check before the body fails, and so
      // does the release at the end of the run. Then it is back.
      const flaky = failingStatements(pool, /UPDATE send_leases|DELETE FROM send_leases/, 2).pool;
      const activities = createSendActivities({ pool: flaky, sender: relaySender(transport), notifyReputation: recordingNotifier().notify, outage: new DatabaseOutage(logger) });
      await assert.rejects(runSend(activities, { messageId: id, attempt: 1, recipients: to }), (err: Failure) => err.type === DATABASE_UNAVAILABLE);
      const held = await leaseOf(id);
      assert.ok(held && held.until.getTime() > Date.now(), 'the lease outlives the run');
      // Another process must wait for it to lapse; the same process (same activities), which
      // knows that run has ended, need not.
      const healthy = createSendActivities({ pool, sender: relaySender(transport), notifyReputation: recordingNotifier().notify, outage: new DatabaseOutage(logger) });
      await assert.rejects(runSend(healthy, { messageId: id, attempt: 1, recipients: to }), (err: Failure) => err.type === 'SendLeaseBusy', 'another process must wait');
      const retried = await runSend(activities, { messageId: id, attempt: 1, recipients: to });
      assert.equal(retried.replies[0].kind, 'delivered');
      assert.equal(sink.deliveries(header, to[0]), 1);
    });
  });
});

describe('send activity, direct delivery: one transaction per recipient domain', () => {
  type Failure = Error & { type?: string };
  test('the send lease lost between two domains: the first domain\'s recipient is on the ledger, and the run that takes over sends only the second', async () => {
    // Both domains' MX is the sink; the second domain's recipient makes it hold the RCPT reply.
    const dns = await startDnsServer({ 'mx.sink.test': { a: ['127.0.0.1'] }, 'first.test': { mx: [[10, 'mx.sink.test']] }, 'second.test': { mx: [[10, 'mx.sink.test']] } });
    const direct = createDirectSender({ dnsServers: [dns.server], port: sink.port, heloName: 'rebound.test', random: () => 0 });
    const activities = createSendActivities({ pool, sender: direct, notifyReputation: recordingNotifier().notify, outage: new DatabaseOutage(logger) });
    try {
      const tag = uid();
      const to = [`ok+${tag}@first.test`, `slow-1500+${tag}@second.test`];
      const { id, header } = await storeMessage(to);
      const run = runSend(activities, { messageId: id, attempt: 1, recipients: to });
      run.catch(() => undefined);
      const ledger = () => pool.query('SELECT recipient FROM accepted_recipients WHERE message_id = $1', [id]).then((r) => r.rows.map((row) => row.recipient as string));
      // The first domain's transaction is over (on the ledger) while the second waits on RCPT.
      assert.deepEqual(await eventually('the first domain on the ledger', ledger, (rows) => rows.length === 1), [to[0]]);
      await pool.query(`UPDATE send_leases SET holder = 'retry-elsewhere/1/y' WHERE message_id = $1`, [id]);
      await assert.rejects(run, (err: Failure) => err.type === 'SendLeaseLost');
      assert.equal(sink.deliveries(header, to[0]), 1);
      assert.equal(sink.deliveries(header, to[1]), 0, 'abandoned before the body');

      await pool.query('DELETE FROM send_leases WHERE message_id = $1', [id]);
      const { replies } = await runSend(activities, { messageId: id, attempt: 1, recipients: to });
      assert.deepEqual(replies.map((r) => [r.address, r.kind, r.alreadyAccepted ?? false]), [[to[0], 'delivered', true], [to[1], 'delivered', false]]);
      assert.equal(sink.deliveries(header, to[0]), 1, 'the first domain\'s recipient was not sent twice');
      assert.equal(sink.deliveries(header, to[1]), 1);
    } finally {
      direct.close();
      await dns.close();
    }
  });

  test('the first domain\'s acceptance cannot be recorded: the second domain is left for the next attempt, not sent', async () => {
    const dns = await startDnsServer({ 'mx.sink.test': { a: ['127.0.0.1'] }, 'first.test': { mx: [[10, 'mx.sink.test']] }, 'second.test': { mx: [[10, 'mx.sink.test']] } });
    const direct = createDirectSender({ dnsServers: [dns.server], port: sink.port, heloName: 'rebound.test', random: () => 0 });
    // Only the ledger write between the transactions fails; the attempt log's own write works.
    const flaky = failingStatements(pool, /^\s*INSERT INTO accepted_recipients/, 1).pool;
    const activities = createSendActivities({ pool: flaky, sender: direct, notifyReputation: recordingNotifier().notify, outage: new DatabaseOutage(logger) });
    try {
      const tag = uid();
      const to = [`ok+${tag}@first.test`, `ok+${tag}@second.test`];
      const { id, header } = await storeMessage(to);
      const { replies } = await runSend(activities, { messageId: id, attempt: 1, recipients: to });
      assert.deepEqual(replies.map((r) => [r.kind, r.category]), [['delivered', 'delivered'], ['soft', 'network_error']]);
      assert.match(replies[1].text, /not attempted: the replies of this message's earlier domains could not be recorded/);
      assert.equal(sink.deliveries(header, to[0]), 1);
      assert.equal(sink.deliveries(header, to[1]), 0);
      const ledger = await pool.query('SELECT recipient FROM accepted_recipients WHERE message_id = $1', [id]);
      assert.deepEqual(ledger.rows.map((r) => r.recipient), [to[0]], 'on the ledger through the attempt log');
    } finally {
      direct.close();
      await dns.close();
    }
  });
});
