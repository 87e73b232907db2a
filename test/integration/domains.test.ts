// Domain health on a real PostgreSQL: attempts and expiries recorded the way the activities
// record them (retried activities included) and `Domains.list/get` compared with a count made
// independently from the attempt log and the expirations. No Temporal server: the client points
// at a closed port, so `retrying` must come back null while the numbers still work.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import type { Pool } from 'pg';
import { Domains } from '../../src/client/domains';
import { recordAttempt } from '../../src/delivery/attempts';
import { insertMessage, recordDeliveryState } from '../../src/delivery/messages';
import { createPool } from '../../src/db/pool';
import { prepareDatabase } from '../../src/db/setup';
import type { DomainHealth } from '../../src/domains/contract';
import { domainCounts } from '../../src/domains/store';
import { ValidationError } from '../../src/errors';
import { PROFILES } from '../../src/delivery/schedule';
import type { AttemptReply, BounceCategory, ReplyKind, ReplyScope } from '../../src/delivery/contract';
import { TEST_DATABASE_URL, uid } from '../helpers/stack';

const tag = uid();
const A = `a-${tag}.example.test`;
const B = `b-${tag}.example.test`;
const C = `c-${tag}.example.test`;
const OURS = [A, B, C];

let pool: Pool;
let connection: Connection;
let domains: Domains;

before(async () => {
  await prepareDatabase(TEST_DATABASE_URL);
  pool = createPool(TEST_DATABASE_URL);
  // Nothing listens on port 1: every Temporal call fails, as when the server is down.
  connection = Connection.lazy({ address: '127.0.0.1:1' });
  // A short visibility timeout keeps the test quick; the default waits 3 s before giving up.
  domains = new Domains(new Client({ connection }), pool, { visibilityTimeoutMs: 300 });
});

after(async () => {
  await pool.query(`DELETE FROM messages WHERE id LIKE $1`, [`${tag}-%`]);
  await pool.query(`DELETE FROM domain_hourly WHERE domain LIKE $1`, [`%-${tag}.example.test`]);
  await pool.query(`DELETE FROM domain_daily WHERE domain LIKE $1`, [`%-${tag}.example.test`]);
  await pool.query(`DELETE FROM domain_reply_hourly WHERE domain LIKE $1`, [`%-${tag}.example.test`]);
  await connection.close().catch(() => undefined);
  await pool.end();
});

async function message(id: string, recipients: string[]): Promise<string> {
  const messageId = `${tag}-${id}`;
  await insertMessage(pool, {
    id: messageId,
    contentHash: 'hash',
    mailFrom: 'sender@rebound.test',
    recipients,
    messageIdHeader: `<${messageId}@rebound.test>`,
    raw: Buffer.from('Subject: test\r\n\r\nbody\r\n'),
    profile: 'standard',
    schedule: PROFILES.standard,
  });
  return messageId;
}

/** A classified reply; `scope` undefined stands for a reply classified before scopes existed. */
function reply(address: string, kind: ReplyKind, category: BounceCategory, scope: ReplyScope | undefined, code: number | null, enhanced: string | null, text: string): AttemptReply {
  return { address, kind, category, scope: scope as ReplyScope, code, enhanced, text, retryAfterMs: null };
}

const delivered = (address: string): AttemptReply => reply(address, 'delivered', 'delivered', 'recipient', 250, '2.0.0', 'OK queued');
const attempt = (messageId: string, n: number, replies: AttemptReply[]) => recordAttempt(pool, { messageId, attempt: n, replies, finalState: null });

/** What the rollups must say, counted from the attempt log and the expirations over the same whole hours. */
async function independentCount(hours: number): Promise<Map<string, Record<string, number>>> {
  const since = `date_trunc('hour', now(), 'UTC') - make_interval(hours => ${hours - 1})`;
  const res = await pool.query(
    `WITH a AS (
       SELECT split_part(recipient, '@', 2) AS domain, kind, coalesce(scope, fallback_reply_scope(category)) AS scope,
              attempt = min(attempt) OVER (PARTITION BY message_id, recipient) AS first, at
         FROM attempts WHERE split_part(recipient, '@', 2) = ANY($1)
     ), counted AS (
       SELECT domain, count(*) AS attempts, count(*) FILTER (WHERE first) AS sends, count(*) FILTER (WHERE kind = 'delivered') AS delivered,
              count(*) FILTER (WHERE kind = 'soft' AND scope = 'recipient') AS recipient, count(*) FILTER (WHERE kind = 'soft' AND scope = 'destination') AS destination,
              count(*) FILTER (WHERE kind = 'soft' AND scope = 'sender') AS sender, count(*) FILTER (WHERE kind = 'soft' AND scope = 'message') AS message,
              count(*) FILTER (WHERE kind = 'soft') AS soft, count(*) FILTER (WHERE kind = 'hard') AS hard
         FROM a WHERE at >= ${since} GROUP BY domain
     ), expired AS (
       SELECT split_part(recipient, '@', 2) AS domain, count(*) AS expired FROM expirations
        WHERE split_part(recipient, '@', 2) = ANY($1) AND at >= ${since} GROUP BY 1
     )
     SELECT coalesce(c.domain, e.domain) AS domain, c.attempts, c.sends, c.delivered, c.recipient, c.destination, c.sender, c.message, c.soft, c.hard, e.expired
       FROM counted c FULL JOIN expired e USING (domain)`,
    [OURS],
  );
  return new Map(res.rows.map((r) => [r.domain, Object.fromEntries(Object.entries(r).filter(([k]) => k !== 'domain').map(([k, v]) => [k, Number(v ?? 0)]))]));
}

/**
 * Rollup rows as the writers leave them, for hours `hoursAgo` before `end` (an SQL timestamp):
 * one attempt (a destination soft bounce) in each hour, and the days summed from those hours.
 */
async function insertBuckets(domain: string, end: string, hoursAgo: number[]): Promise<void> {
  await pool.query(
    `INSERT INTO domain_hourly (domain, hour, attempts, sends, soft_destination)
     SELECT $1, ${end} - make_interval(hours => h), 1, 1, 1 FROM unnest($2::int[]) AS h`,
    [domain, hoursAgo],
  );
  await pool.query(
    `INSERT INTO domain_daily (domain, day, attempts, sends, soft_destination)
     SELECT domain, date_trunc('day', hour, 'UTC'), sum(attempts), sum(sends), sum(soft_destination) FROM domain_hourly WHERE domain = $1 GROUP BY 1, 2`,
    [domain],
  );
}

function numbers(h: DomainHealth): Record<string, number> {
  const s = h.softBounces;
  return {
    attempts: h.attempts, sends: h.sends, delivered: h.delivered, recipient: s.recipient, destination: s.destination,
    sender: s.sender, message: s.message, soft: s.total, hard: h.hardBounces, expired: h.expired,
  };
}

describe('domain health rollups', () => {
  let m1: string;
  let m2: string;

  before(async () => {
    m1 = await message('m1', [`x@${A}`, `y@${A}`, `z@${B}`]);
    m2 = await message('m2', [`w@${A}`, `v@${C}`]);
    const m3 = await message('m3', [`u@${B}`]);

    const first = [
      reply(`x@${A}`, 'soft', 'greylisted', 'destination', 451, '4.7.1', 'Greylisted, try again later'),
      delivered(`y@${A}`),
      reply(`z@${B}`, 'soft', 'mailbox_full', 'recipient', 452, '4.2.2', 'Mailbox full'),
    ];
    await attempt(m1, 1, first);
    // The activity retried after a crash: the same attempt recorded again counts nothing twice.
    await attempt(m1, 1, first);
    const unknownUser = reply(`z@${B}`, 'hard', 'unknown_user', 'recipient', 550, '5.1.1', 'No such user');
    await attempt(m1, 2, [reply(`x@${A}`, 'soft', 'rate_limited', 'sender', 421, '4.7.28', 'Our system has detected an unusual rate'), unknownUser]);
    // Retried again, and this time the server took x: the log now says delivered, so must the rollup.
    await attempt(m1, 2, [delivered(`x@${A}`), unknownUser]);

    await attempt(m2, 1, [
      reply(`w@${A}`, 'soft', 'network_error', 'destination', null, null, 'ECONNREFUSED'),
      reply(`v@${C}`, 'hard', 'policy_block', 'sender', 550, '5.7.1', 'Rejected by policy'),
    ]);
    await attempt(m2, 2, [reply(`w@${A}`, 'soft', 'temporary_failure', 'message', 451, '4.6.0', 'Content conversion failed')]);
    await attempt(m2, 3, [reply(`w@${A}`, 'soft', 'network_error', 'destination', null, null, 'ETIMEDOUT')]);
    // A reply without a scope (classified by an older worker) counts under its category's scope.
    await attempt(m3, 1, [reply(`u@${B}`, 'soft', 'greylisted', undefined, 450, '4.2.0', 'Greylisted')]);

    // w expired: recorded twice (a retried activity), counted once; m1 still has open recipients.
    const expiry = { messageId: m2, state: 'failed' as const, expired: [{ address: `w@${A}`, reply: first[0]! }] };
    await recordDeliveryState(pool, expiry);
    await recordDeliveryState(pool, expiry);
    await recordDeliveryState(pool, { messageId: m1, state: null });
  });

  test('list and get equal a count made independently from the attempt log and the expirations', async () => {
    const expected = await independentCount(24);
    const listed = new Map((await domains.list({ window: '24h', limit: 10_000 })).filter((h) => OURS.includes(h.domain)).map((h) => [h.domain, h]));
    assert.deepEqual([...listed.keys()].sort(), [...OURS].sort());
    for (const d of OURS) {
      assert.deepEqual(numbers(listed.get(d)!), expected.get(d), `list: ${d}`);
      assert.deepEqual(numbers(await domains.get(d, { window: '24h' })), expected.get(d), `get: ${d}`);
    }
    // And what the scenario above makes them, by hand.
    assert.deepEqual(expected.get(A), { attempts: 6, sends: 3, delivered: 2, recipient: 0, destination: 3, sender: 0, message: 1, soft: 4, hard: 0, expired: 1 });
    assert.deepEqual(expected.get(B), { attempts: 3, sends: 2, delivered: 0, recipient: 1, destination: 1, sender: 0, message: 0, soft: 2, hard: 1, expired: 0 });
    assert.deepEqual(expected.get(C), { attempts: 1, sends: 1, delivered: 0, recipient: 0, destination: 0, sender: 0, message: 0, soft: 0, hard: 1, expired: 0 });
  });

  test('rates and verdicts follow from the numbers', async () => {
    const b = await domains.get(B);
    assert.equal(b.window, '24h', 'the default window');
    assert.equal(b.softBounceRate, 2 / 3);
    assert.equal(b.hardBounceRate, 1 / 2);
    assert.deepEqual([b.softVerdict, b.hardVerdict, b.verdict], ['bad', 'bad', 'bad']);
    const bad = await domains.list({ verdict: 'bad', limit: 10_000, sort: 'rate' });
    assert.ok(OURS.every((d) => bad.some((h) => h.domain === d)));
    assert.ok(bad.every((h) => h.verdict === 'bad'));
    const rates = bad.map((h) => Math.max(h.softBounceRate, h.hardBounceRate));
    assert.deepEqual(rates, [...rates].sort((x, y) => y - x), 'worst rate first');
  });

  test('get lists the top replies with their scope and first sample, from the replies that were not deliveries', async () => {
    const a = await domains.get(A, { window: '1d' });
    const replies = a.topReplies.map((r) => [r.count, r.kind, r.category, r.scope, r.code, r.enhanced, r.sample]);
    assert.deepEqual(replies, [
      [2, 'soft', 'network_error', 'destination', null, null, 'ECONNREFUSED'],
      [1, 'soft', 'greylisted', 'destination', 451, '4.7.1', 'Greylisted, try again later'],
      [1, 'soft', 'temporary_failure', 'message', 451, '4.6.0', 'Content conversion failed'],
    ]);
    const res = await pool.query(`SELECT count(*)::int AS n FROM attempts WHERE split_part(recipient, '@', 2) = $1 AND kind <> 'delivered'`, [A]);
    assert.equal(a.topReplies.reduce((n, r) => n + r.count, 0), res.rows[0].n, 'the replaced rate limit no longer counts');
    const b = await domains.get(B);
    assert.ok(b.topReplies.some((r) => r.category === 'greylisted' && r.scope === 'destination'), 'a reply without a scope is shown under its category\'s');
  });

  test('an expiry recorded again changes nothing; the message state is set as with the last attempt', async () => {
    const rows = await pool.query('SELECT id, state, finished_at IS NOT NULL AS finished FROM messages WHERE id = ANY($1) ORDER BY id', [[m1, m2]]);
    assert.deepEqual(rows.rows, [{ id: m1, state: 'queued', finished: false }, { id: m2, state: 'failed', finished: true }]);
    const n = await pool.query('SELECT count(*)::int AS n FROM expirations WHERE message_id = $1', [m2]);
    assert.equal(n.rows[0].n, 1);
    assert.equal((await domains.get(A)).expired, 1);
  });

  test('retrying is null when Temporal is unreachable, and the rest of the answer still comes', async () => {
    const started = Date.now();
    const a = await domains.get(A);
    assert.equal(a.retrying, null);
    assert.match(a.retryingError ?? '', /Temporal/);
    assert.equal(a.attempts, 6);
    assert.ok(Date.now() - started < 5_000, 'the visibility lookup gives up at its timeout');
  });

  test('windows are whole hours: the current one and the N-1 before it', async () => {
    const D = `w-${tag}.example.test`;
    await insertBuckets(D, `date_trunc('hour', now(), 'UTC')`, [0, 23, 24, 167, 168]);
    const attemptsIn = async (window: string) => (await domains.get(D, { window })).attempts;
    assert.deepEqual([await attemptsIn('1h'), await attemptsIn('24h'), await attemptsIn('25h'), await attemptsIn('7d'), await attemptsIn('30d')], [1, 2, 3, 4, 5]);
    const listed = (await domains.list({ window: '7d', limit: 10_000 })).find((h) => h.domain === D);
    assert.deepEqual([listed?.attempts, listed?.softBounces.destination, listed?.window], [4, 4, '7d']);
  });

  test('whole days and edge hours add up to exactly N hours, whatever the time of day', async () => {
    const D = `x-${tag}.example.test`;
    const R0 = '2026-01-10T00:00:00Z';
    // One attempt in every hour from 31 days before R0 to the day after it.
    await insertBuckets(D, `'${R0}'::timestamptz`, Array.from({ length: 32 * 24 }, (_, i) => 31 * 24 - 1 - i));
    for (const offsetMinutes of [0, 30, 60, 10 * 60 + 20, 23 * 60 + 59]) {
      const at = new Date(Date.parse(R0) + offsetMinutes * 60_000);
      for (const hours of [1, 2, 23, 24, 25, 47, 48, 49, 167, 168, 169, 720]) {
        const [c] = await domainCounts(pool, hours, D, at);
        assert.equal(c?.attempts, hours, `${hours} h ending ${at.toISOString()}`);
      }
    }
  });

  test('the daily rollup equals the sum of the hourly one', async () => {
    const res = await pool.query(
      `SELECT h.domain, h.n, d.attempts, h.soft, d.soft_recipient + d.soft_destination + d.soft_sender + d.soft_message AS daily_soft,
              h.expired, d.expired AS daily_expired
         FROM (SELECT domain, date_trunc('day', hour, 'UTC') AS day, sum(attempts)::int AS n,
                      sum(soft_recipient + soft_destination + soft_sender + soft_message)::int AS soft, sum(expired)::int AS expired
                 FROM domain_hourly WHERE domain = ANY($1) GROUP BY 1, 2) AS h
         JOIN domain_daily d ON d.domain = h.domain AND d.day = h.day`,
      [OURS],
    );
    assert.ok(res.rows.length >= 3);
    for (const r of res.rows) assert.deepEqual([r.attempts, r.daily_soft, r.daily_expired], [r.n, r.soft, r.expired], r.domain);
  });

  test('a domain without attempts is healthy with zero counts', async () => {
    const quiet = await domains.get(`Quiet-${tag}.example.test`);
    assert.deepEqual([quiet.domain, quiet.attempts, quiet.softBounceRate, quiet.verdict, quiet.topReplies], [`quiet-${tag}.example.test`, 0, 0, 'healthy', []]);
  });

  test('bad input is refused naming the field, before any query', async () => {
    const field = (f: string) => (err: unknown) => err instanceof ValidationError && err.field === f;
    await assert.rejects(domains.get('alice@example.org'), field('domain'));
    await assert.rejects(domains.get('not a domain'), field('domain'));
    await assert.rejects(domains.get(A, { window: '31d' }), field('window'));
    await assert.rejects(domains.list({ limit: 0 }), field('limit'));
    await assert.rejects(domains.list({ sort: 'worst' as never }), field('sort'));
  });
});

describe('concurrent attempts', () => {
  test('attempts to the same domains in any order neither deadlock nor lose counts', async () => {
    const domainsOf = [`p-${tag}.example.test`, `q-${tag}.example.test`, `r-${tag}.example.test`];
    const ids = await Promise.all(Array.from({ length: 24 }, (_, i) => message(`c${i}`, domainsOf.map((d) => `c${i}@${d}`))));
    // Each message names the domains in a different order; all run at once, twice (retries).
    const runs = ids.flatMap((id, i) => {
      const order = i % 2 === 0 ? domainsOf : [...domainsOf].reverse();
      const replies = order.map((d, j) => (j === i % 3 ? reply(`c${i}@${d}`, 'soft', 'mailbox_full', 'recipient', 452, '4.2.2', 'Full') : delivered(`c${i}@${d}`)));
      return [attempt(id, 1, replies), attempt(id, 1, replies)];
    });
    await Promise.all(runs);
    const listed = (await domains.list({ window: '24h', limit: 10_000 })).filter((h) => domainsOf.includes(h.domain));
    assert.equal(listed.length, 3);
    for (const h of listed) {
      assert.equal(h.attempts, 24, h.domain);
      assert.equal(h.sends, 24, h.domain);
      assert.equal(h.delivered + h.softBounces.recipient, 24, h.domain);
    }
    assert.equal(listed.reduce((n, h) => n + h.softBounces.recipient, 0), 24);
    const daily = await pool.query('SELECT sum(attempts)::int AS n FROM domain_daily WHERE domain = ANY($1) GROUP BY domain', [domainsOf]);
    assert.deepEqual(daily.rows.map((r) => r.n), [24, 24, 24], 'the days too');
  });
});
