#!/usr/bin/env node
// Runs every compiled test file (dist/test/**/*.test.js) with node's test runner: unit tests
// first, then the integration tests against the real servers. Arguments filter by path, e.g.
// `node scripts/run-tests.js unit` or `npm test -- e2e`.
const { spawnSync } = require('node:child_process');
const { readdirSync, statSync } = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '../dist/test');

function find(dir) {
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    if (statSync(file).isDirectory()) return find(file);
    return name.endsWith('.test.js') ? [file] : [];
  });
}

const filters = process.argv.slice(2);
const order = (f) => (f.includes(`${path.sep}unit${path.sep}`) ? 0 : 1);
const files = find(root)
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort((a, b) => order(a) - order(b) || a.localeCompare(b));
if (files.length === 0) {
  console.error(`no test files under ${root}${filters.length ? ` matching ${filters.join(', ')}` : ''}`);
  process.exit(1);
}
const result = spawnSync(process.execPath, ['--test', ...files], { stdio: 'inherit' });
process.exit(result.status ?? 1);
