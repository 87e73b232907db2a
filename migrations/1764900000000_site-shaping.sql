-- Up Migration

-- Traffic shaping (README "Traffic shaping"), shared by every worker.
-- A suspension applies to a whole site or to one recipient domain at it (a rule's scope).
ALTER TABLE site_suspensions ADD COLUMN scope text NOT NULL DEFAULT 'site' CHECK (scope IN ('site', 'domain'));
ALTER TABLE site_suspensions DROP CONSTRAINT site_suspensions_pkey;
ALTER TABLE site_suspensions ADD PRIMARY KEY (scope, site);

-- A rule's temporary change of a site's limits (action `rate` or `connections`) until `until`.
CREATE TABLE site_adjustments (
  scope               text        NOT NULL CHECK (scope IN ('site', 'domain')),
  site                text        NOT NULL,
  until               timestamptz NOT NULL,
  connections         integer     CHECK (connections > 0),
  messages_per_minute integer     CHECK (messages_per_minute > 0),
  rule                text        NOT NULL,
  reply               text,
  created_at          timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (scope, site)
);

-- Down Migration

DROP TABLE site_adjustments;
DELETE FROM site_suspensions WHERE scope = 'domain';
ALTER TABLE site_suspensions DROP CONSTRAINT site_suspensions_pkey;
ALTER TABLE site_suspensions DROP COLUMN scope;
ALTER TABLE site_suspensions ADD PRIMARY KEY (site);
