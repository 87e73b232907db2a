-- Up Migration

-- Site suspensions (README "Traffic shaping"): a site (a provider's MX hosts, or one MX host)
-- that a receiver's reply, or an operator, asked Rebound to leave alone until `until`. Every
-- worker reads this table before it connects, so the suspension holds across processes. One
-- row per site: a later suspension replaces an expired row or extends a shorter one; resuming
-- deletes the row. A row whose `until` has passed is no longer in force.
CREATE TABLE site_suspensions (
  site       text        PRIMARY KEY,
  until      timestamptz NOT NULL,
  -- The rule that matched (e.g. gmail-421-4.7.28), or "manual" for an operator's.
  rule       text        NOT NULL,
  -- The receiver's reply that matched the rule ("421 4.7.28 ..."); an operator's note for a manual one.
  reply      text,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Down Migration

DROP TABLE site_suspensions;
