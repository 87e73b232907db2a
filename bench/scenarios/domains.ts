// Scenario 6: domain health at scale (README "Domain health"). Generates, with set-based SQL,
// the rollup rows that N attempts over the last 7 days across D recipient domains leave (a few
// big domains and a long tail), then times `Domains.list` (24h, 7d; by volume and by rate) and
// `Domains.get` of the biggest domain, median of 5 runs after a warm-up. It also measures what
// the rollups add to the write path: recordAttempt per attempt, against a copy of its statement
// from before the rollups, one at a time and 16 at once on one hot domain. Everything it writes
// is deleted at the end (domains under .bench.test, messages under <tag>-dh-).
import type { Pool } from 'pg';
import { Domains } from '../../src/client/domains';
import { recordAttempt, type AttemptRecord } from '../../src/delivery/attempts';
import type { DomainSort } from '../../src/domains/contract';
import { ROLLUP_COUNTERS } from '../../src/domains/store';
import { REPLY_SCOPES, type AttemptReply, type BounceCategory } from '../../src/delivery/contract';
import type { ModeContext } from '../context';
import { round, runBounded, summarize } from '../measure';

export interface DomainsSizes {
  /** Attempts the generated rollups stand for, over 7 days. */
  attempts: number;
  domains: number;
  /** recordAttempt calls per variant (with rollups, before them). */
  writes: number;
}

export interface DomainsResult {
  attempts: number;
  domains: number;
  /** Domains that got at least one attempt (the tail's smallest may get none). */
  domainsWithAttempts: number;
  hourlyRows: number;
  dailyRows: number;
  replyRows: number;
  generateSeconds: number;
  /** Domains.list, median ms: by volume (the default) and by rate. */
  listMs24h: number | null;
  listMs24hRate: number | null;
  listMs7d: number | null;
  listMs7dRate: number | null;
  /** Domains.get of the biggest domain over 7d, visibility lookup included. */
  getMs: number | null;
  getDomain: string;
  getDomainAttempts7d: number;
  /** recordAttempt calls made per variant (one recipient each; a soft first attempt gets a second). */
  recordAttempts: number;
  recordAttemptMsPerAttempt: number | null;
  recordAttemptMsPerAttemptBefore: number | null;
  /** 16 in flight, all to the biggest domain: its rollup rows are every writer's. */
  recordAttemptsPerSecondHot16: number | null;
  recordAttemptsPerSecondHot16Before: number | null;
}

type Ctx = Pick<ModeContext, 'tag' | 'temporal' | 'pool' | 'log'>;

const SUFFIX = '.bench.test';
const domainName = (tag: string, k: number): string => `d${k}.${tag}${SUFFIX}`;

/** One reply per kind and scope: the generated top replies and the synthetic attempts. */
const REPLIES: { kind: 'soft' | 'hard'; scope: (typeof REPLY_SCOPES)[number]; category: BounceCategory; code: number; enhanced: string; text: string }[] = [
  { kind: 'soft', scope: 'recipient', category: 'mailbox_full', code: 452, enhanced: '4.2.2', text: 'The email account that you tried to reach is over quota' },
  { kind: 'soft', scope: 'destination', category: 'greylisted', code: 451, enhanced: '4.7.1', text: 'Greylisted, please try again later' },
  { kind: 'soft', scope: 'sender', category: 'rate_limited', code: 421, enhanced: '4.7.28', text: 'Our system has detected an unusual rate of unsolicited mail' },
  { kind: 'soft', scope: 'message', category: 'temporary_failure', code: 451, enhanced: '4.6.0', text: 'Content conversion temporarily failed' },
  { kind: 'hard', scope: 'recipient', category: 'unknown_user', code: 550, enhanced: '5.1.1', text: 'The email account that you tried to reach does not exist' },
  { kind: 'hard', scope: 'destination', category: 'unknown_domain', code: 550, enhanced: '5.1.2', text: 'Host or domain name not found' },
  { kind: 'hard', scope: 'sender', category: 'policy_block', code: 550, enhanced: '5.7.1', text: 'Message rejected due to local policy' },
  { kind: 'hard', scope: 'message', category: 'message_too_large', code: 552, enhanced: '5.3.4', text: 'Message size exceeds fixed limit' },
];

/**
 * Rank k of D gets an attempt with probability ln((k+1)/k) / ln(D+1) (k = floor((D+1)^u)): about
 * 1/k, so the biggest domain gets ~8 % of 1,000,000 and the smallest a few dozen. Every tenth
 * domain bounces a lot (bad), the next one somewhat (watch), the rest little (healthy).
 */
const GENERATE = `
  WITH v AS MATERIALIZED (
    SELECT k, h, CASE WHEN u < soft THEN 'soft' WHEN u < soft + hard THEN 'hard' ELSE 'delivered' END AS kind,
           (ARRAY['recipient', 'destination', 'sender', 'message'])[1 + floor(random() * 4)::int] AS scope,
           random() < 0.9 AS first, random() < 0.003 AS expired
      FROM (SELECT k, h, u, CASE k % 10 WHEN 0 THEN 0.08 WHEN 1 THEN 0.03 ELSE 0.01 END AS soft,
                   CASE k % 10 WHEN 0 THEN 0.03 ELSE 0.005 END AS hard
              FROM (SELECT least($2::int, floor(exp(random() * ln($2::int + 1))))::int AS k, floor(random() * 168)::int AS h, random() AS u
                      FROM generate_series(1, $1::int)) AS g) AS p
  ), buckets AS MATERIALIZED (
    SELECT 'd' || k || $3::text AS domain, date_trunc('hour', now(), 'UTC') - make_interval(hours => h) AS hour,
           count(*) AS attempts, count(*) FILTER (WHERE first) AS sends, count(*) FILTER (WHERE kind = 'delivered') AS delivered,
           count(*) FILTER (WHERE kind = 'soft' AND scope = 'recipient') AS soft_recipient,
           count(*) FILTER (WHERE kind = 'soft' AND scope = 'destination') AS soft_destination,
           count(*) FILTER (WHERE kind = 'soft' AND scope = 'sender') AS soft_sender,
           count(*) FILTER (WHERE kind = 'soft' AND scope = 'message') AS soft_message,
           count(*) FILTER (WHERE kind = 'hard') AS hard, count(*) FILTER (WHERE expired) AS expired
      FROM v GROUP BY k, h
  ), hourly AS (
    INSERT INTO domain_hourly (domain, hour, ${ROLLUP_COUNTERS.join(', ')})
    SELECT domain, hour, ${ROLLUP_COUNTERS.join(', ')} FROM buckets RETURNING 1
  ), daily AS (
    INSERT INTO domain_daily (domain, day, ${ROLLUP_COUNTERS.join(', ')})
    SELECT domain, date_trunc('day', hour, 'UTC'), ${ROLLUP_COUNTERS.map((c) => `sum(${c})`).join(', ')} FROM buckets GROUP BY 1, 2 RETURNING 1
  ), replies AS (
    INSERT INTO domain_reply_hourly (domain, hour, kind, category, scope, code, enhanced, sample, count)
    SELECT 'd' || v.k || $3::text, date_trunc('hour', now(), 'UTC') - make_interval(hours => v.h), v.kind, r.category, v.scope, r.code, r.enhanced, r.text, count(*)
      FROM v JOIN jsonb_to_recordset($4::jsonb) AS r(kind text, scope text, category text, code int, enhanced text, text text) USING (kind, scope)
     GROUP BY v.k, v.h, v.kind, r.category, v.scope, r.code, r.enhanced, r.text
    RETURNING 1
  )
  SELECT (SELECT count(*) FROM hourly)::int AS hourly, (SELECT count(*) FROM daily)::int AS daily, (SELECT count(*) FROM replies)::int AS replies,
         (SELECT count(DISTINCT k) FROM v)::int AS domains`;

async function generate(pool: Pool, tag: string, sizes: DomainsSizes) {
  const t0 = performance.now();
  const r = await pool.query(GENERATE, [sizes.attempts, sizes.domains, `.${tag}${SUFFIX}`, JSON.stringify(REPLIES)]);
  // As autovacuum would leave them: statistics and a visibility map.
  await pool.query('VACUUM (ANALYZE) domain_hourly, domain_daily, domain_reply_hourly');
  const row = r.rows[0];
  return { hourlyRows: row.hourly, dailyRows: row.daily, replyRows: row.replies, domainsWithAttempts: row.domains, generateSeconds: round((performance.now() - t0) / 1000, 2)! };
}

async function medianMs(fn: () => Promise<unknown>, runs = 5): Promise<number | null> {
  await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return round(summarize(times).p50, 1);
}

async function timeReads(domains: Domains, biggest: string) {
  const list = (window: string, sort: DomainSort) => () => domains.list({ window, sort, limit: 100 });
  return {
    listMs24h: await medianMs(list('24h', 'volume')),
    listMs24hRate: await medianMs(list('24h', 'rate')),
    listMs7d: await medianMs(list('7d', 'volume')),
    listMs7dRate: await medianMs(list('7d', 'rate')),
    getMs: await medianMs(() => domains.get(biggest, { window: '7d' })),
  };
}

// ---------------------------------------------------------------- the write path

/** recordAttempt's statement as it was before the rollups (migration 1764300000000), for comparison only. */
const RECORD_ATTEMPT_BEFORE_ROLLUPS = `WITH logged AS (
    INSERT INTO attempts (message_id, attempt, recipient, code, enhanced, reply_text, kind, category, retry_after_ms)
    SELECT $1, $2, r.recipient, r.code, r.enhanced, r.reply_text, r.kind, r.category, r.retry_after_ms
      FROM unnest($3::text[], $4::int[], $5::text[], $6::text[], $7::text[], $8::text[], $9::int[])
        AS r(recipient, code, enhanced, reply_text, kind, category, retry_after_ms)
    ON CONFLICT (message_id, attempt, recipient) DO UPDATE
      SET code = EXCLUDED.code, enhanced = EXCLUDED.enhanced, reply_text = EXCLUDED.reply_text,
          kind = EXCLUDED.kind, category = EXCLUDED.category, retry_after_ms = EXCLUDED.retry_after_ms, at = now()
  ), ledger AS (
    INSERT INTO accepted_recipients (message_id, recipient, attempt, code, enhanced, reply_text)
    SELECT $1, r.recipient, $2, r.code, r.enhanced, r.reply_text
      FROM unnest($10::text[], $11::int[], $12::text[], $13::text[]) AS r(recipient, code, enhanced, reply_text)
    ON CONFLICT (message_id, recipient) DO NOTHING
  ), final AS (
    UPDATE messages SET state = $14, finished_at = coalesce(finished_at, now())
     WHERE id = $1 AND $14::text IS NOT NULL
  )
  SELECT 1`;

async function recordAttemptBefore(pool: Pool, { messageId, attempt, replies, finalState }: AttemptRecord): Promise<void> {
  const accepted = replies.filter((r) => r.kind === 'delivered');
  const col = <K extends keyof AttemptReply>(rs: AttemptReply[], k: K) => rs.map((r) => r[k]);
  await pool.query(RECORD_ATTEMPT_BEFORE_ROLLUPS, [
    messageId, attempt,
    col(replies, 'address'), col(replies, 'code'), col(replies, 'enhanced'), col(replies, 'text'), col(replies, 'kind'), col(replies, 'category'), col(replies, 'retryAfterMs'),
    col(accepted, 'address'), col(accepted, 'code'), col(accepted, 'enhanced'), col(accepted, 'text'),
    finalState,
  ]);
}

type Writer = (pool: Pool, record: AttemptRecord) => Promise<void>;

/** A recipient's synthetic reply: 85 % delivered, 12 % soft, 3 % hard, scopes at random. */
function syntheticReply(address: string, delivered: boolean): AttemptReply {
  const u = Math.random();
  if (delivered || u < 0.85) return { address, kind: 'delivered', category: 'delivered', scope: 'recipient', code: 250, enhanced: '2.0.0', text: 'OK', retryAfterMs: null };
  const r = REPLIES[(u < 0.97 ? 0 : 4) + Math.floor(Math.random() * 4)]!;
  return { address, kind: r.kind, category: r.category, scope: r.scope, code: r.code, enhanced: r.enhanced, text: r.text, retryAfterMs: null };
}

/** Messages of one recipient each, to domains drawn like the generated ones (or all to `only`). */
async function writeMessages(pool: Pool, prefix: string, n: number, pick: () => string): Promise<{ id: string; to: string }[]> {
  const messages = Array.from({ length: n }, (_, i) => ({ id: `${prefix}${i}`, to: `r${i}@${pick()}` }));
  await pool.query(
    `INSERT INTO messages (id, content_hash, mail_from, recipients, message_id_header, raw, size_bytes, profile, schedule)
     SELECT m.id, 'bench', 'bench@rebound.test', ARRAY[m.recipient], '<' || m.id || '@rebound.test>', '\\x00'::bytea, 1, 'standard', '{}'
       FROM unnest($1::text[], $2::text[]) AS m(id, recipient)`,
    [messages.map((m) => m.id), messages.map((m) => m.to)],
  );
  return messages;
}

/** Attempt 1 of each message and, when it soft-bounced, attempt 2 (delivered). */
function attemptsOf(messages: { id: string; to: string }[]): AttemptRecord[] {
  return messages.flatMap(({ id, to }) => {
    const first = syntheticReply(to, false);
    const records: AttemptRecord[] = [{ messageId: id, attempt: 1, replies: [first], finalState: first.kind === 'soft' ? null : 'delivered' }];
    if (first.kind === 'soft') records.push({ messageId: id, attempt: 2, replies: [syntheticReply(to, true)], finalState: 'delivered' });
    return records;
  });
}

/** One call at a time, the two variants interleaved so both see the same machine. */
async function sequentialMsPerAttempt(pool: Pool, variants: [AttemptRecord[], Writer][]): Promise<(number | null)[]> {
  const totals = variants.map(() => 0);
  const n = Math.min(...variants.map(([records]) => records.length));
  for (let i = 0; i < n; i++) {
    for (const [v, [records, write]] of variants.entries()) {
      const t0 = performance.now();
      await write(pool, records[i]!);
      totals[v] += performance.now() - t0;
    }
  }
  return totals.map((t) => round(t / n, 3));
}

async function perSecond(pool: Pool, records: AttemptRecord[], write: Writer): Promise<number | null> {
  const t0 = performance.now();
  await runBounded(records, 16, (r) => write(pool, r));
  return round(records.length / ((performance.now() - t0) / 1000), 0);
}

async function measureWrites(ctx: Ctx, sizes: DomainsSizes) {
  const { pool, tag } = ctx;
  const skewed = (): string => domainName(tag, Math.min(sizes.domains, Math.floor(Math.exp(Math.random() * Math.log(sizes.domains + 1)))));
  const hot = (): string => domainName(tag, 1);
  const [withRollups, before, hotWith, hotBefore] = await Promise.all([
    writeMessages(pool, `${tag}-dh-r`, sizes.writes, skewed),
    writeMessages(pool, `${tag}-dh-b`, sizes.writes, skewed),
    writeMessages(pool, `${tag}-dh-hr`, sizes.writes, hot),
    writeMessages(pool, `${tag}-dh-hb`, sizes.writes, hot),
  ]);
  const measured: [AttemptRecord[], Writer][] = [
    [attemptsOf(withRollups), recordAttempt],
    [attemptsOf(before), recordAttemptBefore],
  ];
  // A warm-up of both statements (plans, caches), not measured.
  const warm = 20;
  await sequentialMsPerAttempt(pool, measured.map(([records, write]) => [records.slice(0, warm), write]));
  const [msWith, msBefore] = await sequentialMsPerAttempt(pool, measured.map(([records, write]) => [records.slice(warm), write]));
  return {
    recordAttempts: Math.min(...measured.map(([records]) => records.length)) - warm,
    recordAttemptMsPerAttempt: msWith!,
    recordAttemptMsPerAttemptBefore: msBefore!,
    recordAttemptsPerSecondHot16: await perSecond(pool, attemptsOf(hotWith), recordAttempt),
    recordAttemptsPerSecondHot16Before: await perSecond(pool, attemptsOf(hotBefore), recordAttemptBefore),
  };
}

// ---------------------------------------------------------------- the scenario

async function cleanup(pool: Pool, tag: string): Promise<void> {
  await pool.query(`DELETE FROM messages WHERE id LIKE $1`, [`${tag}-dh-%`]);
  for (const table of ['domain_hourly', 'domain_daily', 'domain_reply_hourly']) {
    await pool.query(`DELETE FROM ${table} WHERE domain LIKE $1`, [`%${SUFFIX}`]);
  }
}

export async function runDomains(ctx: Ctx, sizes: DomainsSizes): Promise<DomainsResult> {
  const { pool, tag, log } = ctx;
  log(`scenario 6: domain health, rollups of ${sizes.attempts} attempts over 7 days across ${sizes.domains} domains`);
  // Rows an interrupted run left behind would count in the list.
  await cleanup(pool, tag);
  try {
    const generated = await generate(pool, tag, sizes);
    log(`  generated ${generated.hourlyRows} hourly, ${generated.dailyRows} daily and ${generated.replyRows} reply rows in ${generated.generateSeconds} s`);
    const domains = new Domains(ctx.temporal, pool);
    const biggest = domainName(tag, 1);
    const reads = await timeReads(domains, biggest);
    const getDomainAttempts7d = (await domains.get(biggest, { window: '7d' })).attempts;
    log(`  list 24h ${reads.listMs24h} ms (by rate ${reads.listMs24hRate}), 7d ${reads.listMs7d} ms (by rate ${reads.listMs7dRate}); get ${biggest} (7d) ${reads.getMs} ms`);
    const writes = await measureWrites(ctx, sizes);
    log(`  recordAttempt ${writes.recordAttemptMsPerAttempt} ms per attempt with rollups, ${writes.recordAttemptMsPerAttemptBefore} ms before them; ` +
      `16 in flight on one domain: ${writes.recordAttemptsPerSecondHot16}/s (before: ${writes.recordAttemptsPerSecondHot16Before}/s)`);
    return { attempts: sizes.attempts, domains: sizes.domains, ...generated, ...reads, getDomain: biggest, getDomainAttempts7d, ...writes };
  } finally {
    await cleanup(pool, tag);
  }
}
