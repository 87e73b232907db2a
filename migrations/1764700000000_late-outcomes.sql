-- Up Migration

-- Late outcomes (README "Late outcomes"): what is heard after the relay's 250.
--
-- Every report as it arrived, before anything is done with it: a mail taken by `rebound
-- inbound` (SMTP) or fetched from a bounce mailbox (IMAP), kept as its raw bytes, or an event
-- of a provider's webhook (SES, SendGrid, Mailgun, Postmark), kept normalised. The listener
-- answers 250 (the API 200) only once this row is written. `dedupe_key` is a digest of the raw
-- bytes or the provider's event id: the same report given twice (an MTA retrying, a provider
-- redelivering) is one row. Workers process each row once (`processed_at`), in a workflow
-- `report:<id>` started by their sweeper (`started_at`).
CREATE TABLE inbound_reports (
  id            bigserial   PRIMARY KEY,
  source        text        NOT NULL CHECK (source IN ('smtp', 'imap', 'ses', 'sendgrid', 'mailgun', 'postmark')),
  dedupe_key    text        NOT NULL UNIQUE,
  -- SMTP: the envelope (the VERP token is in envelope_to); IMAP: Delivered-To/To when known.
  envelope_from text,
  envelope_to   text,
  raw           bytea,
  event         jsonb,
  received_at   timestamptz NOT NULL DEFAULT now(),
  started_at    timestamptz,
  processed_at  timestamptz,
  -- What processing made of it: matched (a late outcome recorded), ignored (an auto-reply, a
  -- delivered or relayed notice, not a bounce), orphan (no message found), forged (a token
  -- whose HMAC does not verify).
  outcome       text        CHECK (outcome IN ('matched', 'ignored', 'orphan', 'forged')),
  report_type   text,
  message_id    text,
  detail        text
);
CREATE INDEX inbound_reports_unstarted_idx ON inbound_reports (received_at) WHERE started_at IS NULL;
CREATE INDEX inbound_reports_outcome_idx ON inbound_reports (outcome, received_at);

-- What `rebound inbound` refused before taking a message, counted per day and reason
-- (forged_token: a return-path token whose HMAC does not verify; relay_denied: a recipient
-- outside REBOUND_BOUNCE_DOMAIN; too_large, rate_limited, too_many_connections).
CREATE TABLE inbound_refusals (
  day    date   NOT NULL,
  reason text   NOT NULL,
  count  bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (day, reason)
);

-- One row per message, recipient and kind of late outcome: a report heard twice (two MTAs,
-- two paths, a DSN and the provider's event for the same bounce) counts once. `told_at` is set
-- once the reputation workflow, the delivery workflow and the webhook outbox have heard it.
CREATE TABLE late_outcomes (
  message_id  text        NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
  recipient   text        NOT NULL,
  kind        text        NOT NULL CHECK (kind IN ('bounced', 'delayed', 'complained')),
  report_id   bigint      NOT NULL REFERENCES inbound_reports (id) ON DELETE CASCADE,
  source      text        NOT NULL,
  action      text,
  status      text,
  code        integer,
  diagnostic  text,
  category    text        NOT NULL,
  scope       text,
  feedback_type text,
  at          timestamptz NOT NULL DEFAULT now(),
  told_at     timestamptz,
  PRIMARY KEY (message_id, recipient, kind)
);
CREATE INDEX late_outcomes_report_idx ON late_outcomes (report_id);

-- Complaints and provider events quote the original Message-ID header.
CREATE INDEX messages_message_id_header_idx ON messages (message_id_header);

-- The return path's token names a message by the first 20 hex digits of the SHA-256 of its id
-- (src/bounces/verp.ts), so existing messages are found without a new column.
-- convert_to is only STABLE (it depends on the encoding, which a database never changes).
CREATE FUNCTION bounce_ref(message_id text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT left(encode(sha256(convert_to(message_id, 'UTF8')), 'hex'), 20)
$$;
CREATE INDEX messages_bounce_ref_idx ON messages (bounce_ref(id));

-- The relay's queue id from its 250 ("250 2.0.0 Ok: queued as 4Xyz", SES's "250 Ok <id>",
-- Exim's "250 OK id=1abc-..."), which provider events name the message by.
CREATE FUNCTION relay_queue_id(reply text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT nullif(trim(both '<>' from coalesce(
    (regexp_match(reply, 'queued as\s+<?([A-Za-z0-9][A-Za-z0-9._@=+-]*)', 'i'))[1],
    (regexp_match(reply, '\mid=([A-Za-z0-9][A-Za-z0-9._-]*)', 'i'))[1],
    (regexp_match(reply, '^\s*(?:2\.\d{1,3}\.\d{1,3}\s+)?ok:?\s+<?([A-Za-z0-9][A-Za-z0-9._@=+-]{11,})>?\s*$', 'i'))[1],
    (regexp_match(reply, '^\s*(?:2\.\d{1,3}\.\d{1,3}\s+)?([A-Za-z0-9]{8,})\s+message accepted', 'i'))[1]
  )), '')
$$;
ALTER TABLE accepted_recipients ADD COLUMN relay_queue_id text GENERATED ALWAYS AS (relay_queue_id(reply_text)) STORED;
CREATE INDEX accepted_recipients_queue_id_idx ON accepted_recipients (relay_queue_id) WHERE relay_queue_id IS NOT NULL;

-- Down Migration
DROP INDEX accepted_recipients_queue_id_idx;
ALTER TABLE accepted_recipients DROP COLUMN relay_queue_id;
DROP FUNCTION relay_queue_id(text);
DROP INDEX messages_bounce_ref_idx;
DROP FUNCTION bounce_ref(text);
DROP INDEX messages_message_id_header_idx;
DROP TABLE late_outcomes;
DROP TABLE inbound_refusals;
DROP TABLE inbound_reports;
