-- Up Migration

-- One row per message: the composed MIME bytes are stored once, so every attempt sends the
-- same bytes and workflows carry only the id.
CREATE TABLE messages (
  id              text PRIMARY KEY,
  content_hash    text        NOT NULL,
  mail_from       text        NOT NULL,
  recipients      text[]      NOT NULL,
  message_id_header text      NOT NULL,
  raw             bytea       NOT NULL,
  size_bytes      integer     NOT NULL,
  profile         text        NOT NULL,
  schedule        jsonb       NOT NULL,
  state           text        NOT NULL DEFAULT 'queued',
  created_at      timestamptz NOT NULL DEFAULT now(),
  finished_at     timestamptz
);
CREATE INDEX messages_state_idx ON messages (state) WHERE finished_at IS NULL;

-- The attempt log: one row per recipient per SMTP transaction.
CREATE TABLE attempts (
  message_id     text        NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
  attempt        integer     NOT NULL,
  recipient      text        NOT NULL,
  code           integer,
  enhanced       text,
  reply_text     text        NOT NULL,
  kind           text        NOT NULL,
  category       text        NOT NULL,
  retry_after_ms integer,
  at             timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (message_id, attempt, recipient)
);

-- Recipients the server has accepted. Written before the send activity completes, and read
-- before every send, so a retried activity never delivers twice what was already accepted.
CREATE TABLE accepted_recipients (
  message_id  text        NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
  recipient   text        NOT NULL,
  attempt     integer     NOT NULL,
  code        integer,
  enhanced    text,
  reply_text  text        NOT NULL,
  accepted_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (message_id, recipient)
);

-- The suppression list senders check before every attempt. A row is active while it is not
-- lifted and not expired; lifted rows stay for the record.
CREATE TABLE suppressions (
  address     text PRIMARY KEY,
  domain      text GENERATED ALWAYS AS (split_part(address, '@', 2)) STORED,
  reason      text        NOT NULL,
  category    text,
  source      text        NOT NULL CHECK (source IN ('auto', 'manual', 'import')),
  message_id  text,
  reply       text,
  note        text,
  actor       text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz,
  lifted_at   timestamptz,
  lifted_by   text,
  lift_reason text
);
CREATE INDEX suppressions_domain_reason_idx ON suppressions (domain, reason) WHERE lifted_at IS NULL;
CREATE INDEX suppressions_reason_idx ON suppressions (reason) WHERE lifted_at IS NULL;

-- Down Migration
DROP TABLE suppressions;
DROP TABLE accepted_recipients;
DROP TABLE attempts;
DROP TABLE messages;
