-- Up Migration

-- Outcome webhooks (README "Webhooks"). An endpoint is a URL, the event types it subscribes to
-- and its signing secret (`whsec_...`, kept to sign with, shown once when registered). A 410
-- from the receiver disables it; DELETE removes it. Deliveries in flight read the row at each
-- try and stop when it is gone or disabled.
CREATE TABLE webhook_endpoints (
  id              text        PRIMARY KEY,
  url             text        NOT NULL,
  events          text[]      NOT NULL,
  secret          text        NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  disabled_at     timestamptz,
  disabled_reason text
);

-- The outbox: one row per event, written in the same statement as the fact it reports (an
-- attempt's replies, an expiry, a cancellation, a suppression added or lifted), and only when
-- an active endpoint subscribes to its type. `key` names the fact (type, message, recipient;
-- or address and time), so a retried activity adds no second event; `id` is derived from it
-- and is the `webhook-id` receivers deduplicate on. Workers start one delivery workflow per
-- (event, endpoint) and set `dispatched_at`; the sweeper starts those a crash left undispatched.
-- `endpoint_id` restricts an event to one endpoint (the test event).
CREATE TABLE webhook_events (
  id            text        PRIMARY KEY,
  key           text        NOT NULL UNIQUE,
  type          text        NOT NULL,
  payload       jsonb       NOT NULL,
  endpoint_id   text,
  created_at    timestamptz NOT NULL DEFAULT now(),
  dispatched_at timestamptz
);
CREATE INDEX webhook_events_undispatched_idx ON webhook_events (created_at) WHERE dispatched_at IS NULL;

-- Down Migration
DROP TABLE webhook_events;
DROP TABLE webhook_endpoints;
