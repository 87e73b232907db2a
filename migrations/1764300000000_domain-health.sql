-- Up Migration

-- Per-recipient-domain health (README "Domain health"): hourly and daily rollups that
-- recordAttempt and recordDeliveryState (src/db) keep in the same statement as the attempt log,
-- so reading a domain's rates over 1 h, 24 h or 7 d never scans the log. Buckets are whole UTC
-- hours and days (date_trunc(..., 'UTC'), whatever the session's time zone).

-- Whom each reply was about (spec 1-2). Null for rows written before scopes existed.
ALTER TABLE attempts ADD COLUMN scope text;
-- The recipient's domain, derived as suppressions.domain is (addresses hold exactly one "@").
-- Adding a stored generated column rewrites the table once.
ALTER TABLE attempts ADD COLUMN domain text GENERATED ALWAYS AS (split_part(recipient, '@', 2)) STORED;
CREATE INDEX attempts_domain_at_idx ON attempts (domain, at);

-- The scope to count a reply under when it has none (rows from before scopes). Deliberately
-- coarse, from the category alone: greylisting, unavailable servers and network errors are the
-- destination's; rate limits and policy blocks the sender's; size limits the message's;
-- everything else (full mailboxes, unknown users, other failures) the recipient's.
CREATE FUNCTION fallback_reply_scope(category text) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$
    SELECT CASE
      WHEN category IN ('greylisted', 'server_unavailable', 'network_error') THEN 'destination'
      WHEN category IN ('rate_limited', 'policy_block') THEN 'sender'
      WHEN category = 'message_too_large' THEN 'message'
      ELSE 'recipient'
    END
  $$;

-- One row per recipient domain and hour. `attempts` counts attempt rows (one per recipient per
-- SMTP transaction), `sends` those that were a recipient's first attempt of a message (the
-- denominator of the hard-bounce rate), soft_<scope> the soft replies by whom they were about.
CREATE TABLE domain_hourly (
  domain           text        NOT NULL,
  hour             timestamptz NOT NULL,
  attempts         integer     NOT NULL DEFAULT 0,
  sends            integer     NOT NULL DEFAULT 0,
  delivered        integer     NOT NULL DEFAULT 0,
  soft_recipient   integer     NOT NULL DEFAULT 0,
  soft_destination integer     NOT NULL DEFAULT 0,
  soft_sender      integer     NOT NULL DEFAULT 0,
  soft_message     integer     NOT NULL DEFAULT 0,
  hard             integer     NOT NULL DEFAULT 0,
  expired          integer     NOT NULL DEFAULT 0,
  PRIMARY KEY (domain, hour)
);
-- "All domains over the last N hours". The primary key serves one domain.
CREATE INDEX domain_hourly_hour_idx ON domain_hourly (hour);

-- The same counters per UTC day, written in the same statements as the hours: a window reads
-- whole days from here and only its edge hours from domain_hourly, so 7 d and 30 d windows
-- read about a day's worth of hourly rows instead of all of them.
CREATE TABLE domain_daily (LIKE domain_hourly INCLUDING DEFAULTS);
ALTER TABLE domain_daily RENAME COLUMN hour TO day;
ALTER TABLE domain_daily ADD PRIMARY KEY (domain, day);
CREATE INDEX domain_daily_day_idx ON domain_daily (day);

-- The non-delivered replies of each domain and hour, grouped by what they mean, with the first
-- reply text seen as a sample: a domain's "top replies".
CREATE TABLE domain_reply_hourly (
  domain   text        NOT NULL,
  hour     timestamptz NOT NULL,
  kind     text        NOT NULL,
  category text        NOT NULL,
  scope    text        NOT NULL,
  code     integer,
  enhanced text,
  sample   text        NOT NULL,
  count    integer     NOT NULL DEFAULT 0
);
-- code and enhanced are null for connection failures; no SMTP reply has code 0 or an empty
-- enhanced code, so coalescing them makes the null rows one key.
CREATE UNIQUE INDEX domain_reply_hourly_key ON domain_reply_hourly
  (domain, hour, kind, category, scope, coalesce(code, 0), coalesce(enhanced, ''));

-- Recipients whose send ended expired. The primary key makes counting an expiry idempotent: a
-- retried activity inserts nothing and counts nothing the second time.
CREATE TABLE expirations (
  message_id text        NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
  recipient  text        NOT NULL,
  domain     text        GENERATED ALWAYS AS (split_part(recipient, '@', 2)) STORED,
  at         timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (message_id, recipient)
);

-- Backfill from the attempt log, so the windows are right from the first read. Expiries were
-- not recorded per recipient before this migration: `expired` starts at 0.
INSERT INTO domain_hourly (domain, hour, attempts, sends, delivered, soft_recipient, soft_destination, soft_sender, soft_message, hard)
SELECT domain, hour, count(*), count(*) FILTER (WHERE first), count(*) FILTER (WHERE kind = 'delivered'),
       count(*) FILTER (WHERE kind = 'soft' AND scope = 'recipient'), count(*) FILTER (WHERE kind = 'soft' AND scope = 'destination'),
       count(*) FILTER (WHERE kind = 'soft' AND scope = 'sender'), count(*) FILTER (WHERE kind = 'soft' AND scope = 'message'),
       count(*) FILTER (WHERE kind = 'hard')
  FROM (SELECT domain, date_trunc('hour', at, 'UTC') AS hour, kind, coalesce(scope, fallback_reply_scope(category)) AS scope,
               attempt = min(attempt) OVER (PARTITION BY message_id, recipient) AS first
          FROM attempts) AS a
 GROUP BY domain, hour;

INSERT INTO domain_daily (domain, day, attempts, sends, delivered, soft_recipient, soft_destination, soft_sender, soft_message, hard)
SELECT domain, date_trunc('day', hour, 'UTC'), sum(attempts), sum(sends), sum(delivered),
       sum(soft_recipient), sum(soft_destination), sum(soft_sender), sum(soft_message), sum(hard)
  FROM domain_hourly
 GROUP BY 1, 2;

INSERT INTO domain_reply_hourly (domain, hour, kind, category, scope, code, enhanced, sample, count)
SELECT domain, date_trunc('hour', at, 'UTC'), kind, category, coalesce(scope, fallback_reply_scope(category)), code, enhanced,
       left((array_agg(reply_text ORDER BY at, attempt))[1], 500), count(*)
  FROM attempts
 WHERE kind <> 'delivered'
 GROUP BY 1, 2, 3, 4, 5, 6, 7;

-- Down Migration
DROP TABLE expirations;
DROP TABLE domain_reply_hourly;
DROP TABLE domain_daily;
DROP TABLE domain_hourly;
DROP FUNCTION fallback_reply_scope(text);
DROP INDEX attempts_domain_at_idx;
ALTER TABLE attempts DROP COLUMN domain;
ALTER TABLE attempts DROP COLUMN scope;
