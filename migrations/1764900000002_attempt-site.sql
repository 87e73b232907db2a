-- Up Migration

-- Sites in the attempt log (README "Traffic shaping", visibility): the site each recipient's
-- reply came from, or was held back for, so `rebound sites`, the API and the dashboard can show
-- a site's recent attempts and its queue of deferred recipients. Null for attempts recorded
-- before this, or when the sender did not know the site.
ALTER TABLE attempts ADD COLUMN site text;
-- The connection-level error code of the reply (ECONNREFUSED, ETLSREQUIRED, ...): ESITESUSPENDED
-- and ESITETHROTTLED mark a recipient Rebound held back itself, without an SMTP attempt.
ALTER TABLE attempts ADD COLUMN error_code text;
-- A site's attempts by time: the last hour's counts, whether it was seen in the last 24 h, and
-- its deferred recipients (soft attempts of open messages, no older than the longest deadline).
CREATE INDEX attempts_site_at_idx ON attempts (site, at) WHERE site IS NOT NULL;

-- When the end of an expired suspension was told (its `site.resumed` webhook event written,
-- README "Webhooks"). The sweeper sets it once per suspension; a new suspension of the site
-- replaces the row and clears it.
ALTER TABLE site_suspensions ADD COLUMN resumed_at timestamptz;
CREATE INDEX site_suspensions_untold_idx ON site_suspensions (until) WHERE resumed_at IS NULL;

-- Down Migration

DROP INDEX site_suspensions_untold_idx;
ALTER TABLE site_suspensions DROP COLUMN resumed_at;
DROP INDEX attempts_site_at_idx;
ALTER TABLE attempts DROP COLUMN error_code;
ALTER TABLE attempts DROP COLUMN site;
