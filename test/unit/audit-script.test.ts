// scripts/audit.js, CI's dependency audit (README "Tests", audit), on saved `npm audit --json`
// answers: advisories found fail it, each one named; an unreachable or refusing endpoint passes
// it with "NOT CHECKED"; a clean answer passes it. (The real audit runs in .ci/run.)
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

const SCRIPT = join(__dirname, '..', '..', '..', 'scripts', 'audit.js');
const dir = mkdtempSync(join(tmpdir(), 'rebound-audit-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function judge(answer: unknown): { status: number | null; out: string } {
  const file = join(dir, `${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(answer));
  const run = spawnSync(process.execPath, [SCRIPT, '--from-json', file], { encoding: 'utf8' });
  return { status: run.status, out: `${run.stdout}${run.stderr}` };
}

const advisory = (severity: string) => ({
  auditReportVersion: 2,
  vulnerabilities: {
    'some-lib': {
      name: 'some-lib',
      severity,
      via: [{ source: 1, name: 'some-lib', title: 'Prototype pollution', url: 'https://github.com/advisories/GHSA-0000-1111-2222', severity, range: '<1.2.3' }],
      range: '<1.2.3',
      fixAvailable: true,
    },
  },
  metadata: { vulnerabilities: { info: 0, low: 0, moderate: 0, high: 1, critical: 0, total: 1 } },
});

test('a high advisory fails the audit, naming the package and the advisory', () => {
  const { status, out } = judge(advisory('high'));
  assert.equal(status, 1);
  assert.match(out, /some-lib@<1\.2\.3: high Prototype pollution \(https:\/\/github\.com\/advisories\/GHSA-0000-1111-2222\)/);
});

test('a moderate advisory does not fail it', () => {
  const { status, out } = judge(advisory('moderate'));
  assert.equal(status, 0, out);
  assert.match(out, /no unexplained high or critical advisory/);
});

test('an endpoint that refuses the query, or cannot be reached, is NOT CHECKED, not clean', () => {
  for (const answer of [{ message: '405 Method Not Allowed - POST https://registry.example/-/npm/v1/security/advisories/bulk', statusCode: 405 }, { error: { code: 'ENOTFOUND', summary: 'getaddrinfo ENOTFOUND' } }]) {
    const { status, out } = judge(answer);
    assert.equal(status, 0, out);
    assert.match(out, /npm audit: NOT CHECKED: /);
  }
});

test('an answer that is neither fails it', () => {
  const { status, out } = judge({ something: 'else' });
  assert.equal(status, 1);
  assert.match(out, /unexpected answer/);
});
