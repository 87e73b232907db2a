// Which site tables (README "Traffic shaping": `sites`, `site_*`) a SQL statement reads or
// writes, from its text: the names after FROM, INTO, UPDATE or JOIN. A column called `site` in
// another table does not count. Pure; bench/pg-count-preload.ts counts statements with it.

const SITE_TABLE = /\b(?:from|into|update|join)\s+"?(sites?(?:_[a-z0-9_]+)?)"?(?=[\s(;,]|$)/gi;

/** The site tables `sql` names, lower-cased, in order of appearance (repeats kept). */
export function siteTablesOf(sql: string): string[] {
  return [...sql.matchAll(SITE_TABLE)].map((m) => m[1]!.toLowerCase());
}
