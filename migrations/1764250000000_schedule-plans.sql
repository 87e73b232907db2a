-- Up Migration

-- Each recipient's retry schedule (the message's own, its domain's rule, or the default), as
-- the message was started with it: a repeated request with the same id starts from what is
-- stored. Null for messages stored before per-domain policies (one schedule: `schedule`).
ALTER TABLE messages ADD COLUMN plans jsonb;

-- Down Migration
ALTER TABLE messages DROP COLUMN plans;
