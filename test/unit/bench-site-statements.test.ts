// What the bench counts as shaping's statements (bench/site-statements.ts, scenario 9): those
// that read or write a site table, whatever else they name.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { siteTablesOf } from '../../bench/site-statements';

const cases: [string, string[]][] = [
  ['SELECT scope, site, until FROM site_suspensions WHERE scope = $1 AND site = $2 AND until > now()', ['site_suspensions']],
  ['INSERT INTO site_suspensions AS s (scope, site, until) VALUES ($1, $2, $3)', ['site_suspensions']],
  ['update site_adjustments set until = now()', ['site_adjustments']],
  ['DELETE FROM "site_suspensions" WHERE site = $1', ['site_suspensions']],
  ['SELECT * FROM sites s JOIN site_limits l ON l.site = s.site', ['sites', 'site_limits']],
  ['WITH x AS (SELECT 1) SELECT * FROM site_rate(now())', ['site_rate']],
  ['INSERT INTO attempts (message_id, site, reply) VALUES ($1, $2, $3)', []],
  ['SELECT site FROM attempts WHERE site = $1', []],
  ['SELECT * FROM messages_sites_view', []],
  ['SELECT * FROM website_hits', []],
];

for (const [sql, tables] of cases) test(`site tables of: ${sql.slice(0, 60)}`, () => assert.deepEqual(siteTablesOf(sql), tables));
