// The pg-boss peer's worker, a child process of the bench like Rebound's worker, so its CPU is
// read the same way (by pid). It creates its schema (pg-boss's tables and peer_messages), the
// queue `peer-send`, then takes one job per attempt: claims the message row, sends through ONE
// pooled nodemailer transport, classifies each reply with Rebound's classifier, and on a soft
// bounce queues the next attempt's job with startAfter from Rebound's schedule policy, in the
// same transaction as the row's update. Prints one JSON line when ready; stops on SIGTERM.
//
// Arguments: database URL, SMTP URL (smtp://host:port). Errors go to stderr as pino JSON.
import nodemailer from 'nodemailer';
import { Pool } from 'pg';
import PgBoss from 'pg-boss';
import pino from 'pino';
import { classifyReply } from '../../src/delivery/classify';
import { sendRaw } from '../../src/smtp/send-raw';
import { transportOptions } from '../../src/smtp/transport';
import { decideAfterAttempt } from './decide';
import { CREATE_TABLE, PEER_QUEUE, PEER_SCHEMA, singletonKey, type PeerJob } from './schema';
import { inTransaction } from './transaction';
import { PEER_TUNING } from './tuning';

const log = pino({ level: 'warn', base: { service: 'rebound-bench', component: 'peer' } }, pino.destination({ fd: 2 }));

async function main(): Promise<void> {
  const [databaseUrl, smtpUrl] = process.argv.slice(2);
  if (!databaseUrl || !smtpUrl) throw new Error('usage: worker-child.js DATABASE_URL SMTP_URL');
  const pool = new Pool({ connectionString: databaseUrl, max: PEER_TUNING.poolSize });
  // A fresh schema per run, like the bench's TRUNCATE of Rebound's tables.
  await pool.query(`DROP SCHEMA IF EXISTS ${PEER_SCHEMA} CASCADE`);
  const boss = new PgBoss({ connectionString: databaseUrl, schema: PEER_SCHEMA, max: PEER_TUNING.poolSize, schedule: false });
  boss.on('error', (err) => log.error({ err: err.message }, 'pg-boss error'));
  await boss.start();
  await pool.query(CREATE_TABLE);
  // `short`: at most one queued job per singleton key (message + attempt). Unexpected errors
  // (the database, not an SMTP answer) are retried by pg-boss; a job whose worker died is
  // expired after expireInSeconds, when pg-boss's maintenance (every 2 minutes, in a live
  // worker) sees it, and retried: the retry sends again (README "Performance", the trade).
  await boss.createQueue(PEER_QUEUE, { name: PEER_QUEUE, policy: 'short', retryLimit: 3, retryDelay: 1, expireInSeconds: 60 });

  // The same connection settings as Rebound's transport, through nodemailer's own pool.
  const { connection, maxConnections } = transportOptions(smtpUrl);
  const mailer = nodemailer.createTransport({ ...connection, pool: true, maxConnections, maxMessages: 1000 });
  const transport = { send: (envelope: { from: string; to: string[] }, raw: Buffer) => mailer.sendMail({ envelope, raw }) };

  const attemptOne = async (job: PgBoss.Job<PeerJob>): Promise<void> => {
    const { id, attempt } = job.data;
    // Claim: the attempt before this one is over, or this same attempt was cut short (a crash,
    // a retried job). A stale or repeated job finds nothing and ends.
    const claim = await pool.query<{ mail_from: string; pending: string[]; delivered: string[]; failed: string[]; raw: Buffer; created_at: Date }>(
      `UPDATE ${PEER_SCHEMA}.peer_messages SET attempts = $2, state = 'sending', updated_at = now()
        WHERE id = $1 AND ((attempts = $2 - 1 AND state IN ('queued', 'deferred')) OR (attempts = $2 AND state = 'sending'))
        RETURNING mail_from, pending, delivered, failed, raw, created_at`,
      [id, attempt],
    );
    const row = claim.rows[0];
    if (!row) return;
    const replies = (await sendRaw(transport, { from: row.mail_from, recipients: row.pending, raw: row.raw })).map((r) => ({ address: r.address, reply: classifyReply(r.reply) }));
    const d = decideAfterAttempt({ replies, delivered: row.delivered, failed: row.failed, attempt, startMs: row.created_at.getTime(), nowMs: Date.now(), random: Math.random });
    const lastReply = replies.map((r) => `${r.reply.code ?? r.reply.category} ${r.reply.category}`).join('; ');
    await inTransaction(pool, async (c, db) => {
      await c.query(`UPDATE ${PEER_SCHEMA}.peer_messages SET state = $2, pending = $3, delivered = $4, failed = $5, last_reply = $6, updated_at = now() WHERE id = $1`, [
        id,
        d.state,
        d.pending,
        d.delivered,
        d.failed,
        lastReply,
      ]);
      if (d.nextAt !== null) {
        const next = { id, attempt: attempt + 1 };
        await boss.send(PEER_QUEUE, next, { singletonKey: singletonKey(next), startAfter: new Date(d.nextAt), db });
      }
    });
  };

  // pg-boss completes or fails a fetched batch as a whole: each job's own failure is reported
  // here, so one bad job does not send the others of its batch again.
  const workerIds: string[] = [];
  for (let w = 0; w < PEER_TUNING.workers; w++) {
    const at = w;
    const workerId = await boss.work<PeerJob>(PEER_QUEUE, { batchSize: PEER_TUNING.batchSize, pollingIntervalSeconds: PEER_TUNING.pollingIntervalSeconds }, async (jobs) => {
      await Promise.all(
        jobs.map((job) =>
          attemptOne(job).catch(async (err: unknown) => {
            const message = err instanceof Error ? err.message : String(err);
            log.error({ job: job.id, message: job.data.id, attempt: job.data.attempt, err: message }, 'peer attempt failed; pg-boss retries the job');
            await boss.fail(PEER_QUEUE, job.id, { message }).catch(() => undefined);
          }),
        ),
      );
      // A full batch means more is waiting: fetch again at once instead of after the polling
      // interval (pg-boss waits the interval after every batch otherwise).
      if (jobs.length === PEER_TUNING.batchSize) boss.notifyWorker(workerIds[at]!);
    });
    workerIds.push(workerId);
  }
  process.stdout.write(JSON.stringify({ ready: true, pid: process.pid }) + '\n');

  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    boss
      .stop({ graceful: true, wait: true, timeout: 10_000 })
      .then(() => mailer.close())
      .then(() => pool.end())
      .finally(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // The bench going away without a signal closes this pipe: stop with it.
  process.stdin.on('end', stop);
  process.stdin.resume();
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
