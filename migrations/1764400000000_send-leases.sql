-- Up Migration

-- Who may send a message's next SMTP transaction (README "Reliability"). A send activity takes
-- the lease when it reads the message and renews it while it runs; it writes the message's
-- body only while it still holds it. A retry that Temporal starts because the first run went
-- silent (a paused or partitioned worker) waits until the first run's lease has lapsed, and the
-- first run, should it wake up, finds the lease gone and abandons its transaction before the
-- final ".". One row per message with an attempt in flight; the row goes when the attempt ends.
CREATE TABLE send_leases (
  message_id text PRIMARY KEY,
  holder text NOT NULL,
  until timestamptz NOT NULL
);

-- Down Migration
DROP TABLE send_leases;
