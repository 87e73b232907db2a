-- Up Migration

-- Per-site limits shared by every worker (README "Traffic shaping", Limits). Each table is
-- touched by single statements that read and write one row under its row lock (INSERT ... ON
-- CONFLICT DO UPDATE ... RETURNING), so two workers never both take the last slot.

-- Matches of a rule with a threshold ({count, window}): one row per rule and what it applies to
-- (the site, or the recipient domain for scope domain), holding the times of the latest
-- matches. Each match drops the times older than the window and appends now(); the rule acts
-- when as many remain as its count. At most `count` times are kept.
CREATE TABLE site_rule_hits (
  rule  text          NOT NULL,
  scope text          NOT NULL CHECK (scope IN ('site', 'domain')),
  key   text          NOT NULL,
  hits  timestamptz[] NOT NULL,
  PRIMARY KEY (rule, scope, key)
);

-- Messages per minute (GCRA): `tat` is the theoretical arrival time, when the next message to
-- the site (or to the domain, for a domain's rate adjustment) may go. Taking a slot sets it to
-- max(tat, now()) + interval_ms, the spacing at the rate in force.
CREATE TABLE site_pacing (
  scope       text             NOT NULL CHECK (scope IN ('site', 'domain')),
  key         text             NOT NULL,
  tat         timestamptz      NOT NULL,
  interval_ms double precision NOT NULL,
  PRIMARY KEY (scope, key)
);

-- Connections open to a site, all workers together. `connection_limit` is the slow-start
-- limit (a real number, Postfix-like feedback: up by 1/limit per good transaction, down by one
-- per failed connection or 421), the connections allowed being its floor, never above the
-- site's cap. `leases` maps each open connection's lease id to when it expires (epoch ms): a
-- worker renews its leases while their connections live, so a crashed worker's come back.
CREATE TABLE site_connections (
  site             text             PRIMARY KEY,
  connection_limit double precision NOT NULL CHECK (connection_limit >= 1),
  leases           jsonb            NOT NULL DEFAULT '{}',
  updated_at       timestamptz      NOT NULL DEFAULT now()
);

-- Down Migration

DROP TABLE site_connections;
DROP TABLE site_pacing;
DROP TABLE site_rule_hits;
