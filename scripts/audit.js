#!/usr/bin/env node
// CI's dependency audit (README "Tests", audit): `npm audit --omit=dev --audit-level=high` on the
// production dependencies. It fails on a high or critical advisory unless .ci/audit-explained.json
// explains that advisory (its GitHub advisory id or URL -> why it does not apply, or what is
// waited for); it passes, saying so loudly, only when the registry's advisory endpoint cannot be
// reached or refuses the query — then nothing was checked, which is not the same as clean.
const { spawnSync } = require('node:child_process');
const { existsSync, readFileSync } = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const EXPLAINED_FILE = path.join(root, '.ci', 'audit-explained.json');
const FAILING = new Set(['high', 'critical']);
// npm's network error codes: the endpoint was never reached.
const NETWORK_CODES = /^(?:ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ESOCKETTIMEDOUT|ENETUNREACH|EHOSTUNREACH|EPROTO|CERT_|UNABLE_TO_|SELF_SIGNED_)/;

function explained() {
  if (!existsSync(EXPLAINED_FILE)) return {};
  const data = JSON.parse(readFileSync(EXPLAINED_FILE, 'utf8'));
  for (const [id, why] of Object.entries(data)) {
    if (typeof why !== 'string' || why.trim().length < 10) throw new Error(`${EXPLAINED_FILE}: ${id} needs a sentence saying why it is accepted`);
  }
  return data;
}

/** The reason the audit could not be done, when its answer is an error about reaching the endpoint; else null. */
function unreachable(report, stderr) {
  const error = report && typeof report === 'object' && !('vulnerabilities' in report) ? report : null;
  const code = String(error?.error?.code ?? error?.code ?? '');
  const status = Number(error?.statusCode ?? error?.error?.statusCode ?? NaN);
  if (NETWORK_CODES.test(code)) return `the registry could not be reached (${code})`;
  if (Number.isFinite(status) && (status === 404 || status === 405 || status === 501 || status >= 500)) return `the registry's advisory endpoint answered ${status} (${error.message ?? 'no message'})`;
  if (!error && /audit endpoint returned an error|network|ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT/i.test(stderr)) return `npm says: ${stderr.trim().split('\n').pop()}`;
  return null;
}

// `--from-json FILE` judges a saved `npm audit --json` answer instead (the unit test's way in).
const fromJson = process.argv.indexOf('--from-json');
const run =
  fromJson > 0
    ? { status: null, stdout: readFileSync(process.argv[fromJson + 1], 'utf8'), stderr: '' }
    : spawnSync('npm', ['audit', '--omit=dev', '--audit-level=high', '--json'], { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
let report = null;
try {
  report = JSON.parse(run.stdout);
} catch {
  report = null;
}

const why = unreachable(report, run.stderr ?? '');
if (why) {
  console.error(`npm audit: NOT CHECKED: ${why}. The production dependencies were not audited; run \`npm audit --omit=dev\` where the registry's audit endpoint is reachable.`);
  process.exit(0);
}
if (!report || typeof report.vulnerabilities !== 'object') {
  console.error(`npm audit: unexpected answer (exit ${run.status}); stdout: ${String(run.stdout).slice(0, 500)} stderr: ${String(run.stderr).slice(0, 500)}`);
  process.exit(1);
}

const accepted = explained();
const failing = [];
for (const [name, v] of Object.entries(report.vulnerabilities)) {
  if (!FAILING.has(v.severity)) continue;
  const advisories = (v.via ?? []).filter((a) => typeof a === 'object' && FAILING.has(a.severity));
  // A package flagged only through another one (via names a package) is reported with that one.
  for (const a of advisories) {
    const id = String(a.url ?? a.source).split('/').pop();
    const reason = accepted[id] ?? accepted[a.url];
    if (reason) console.log(`npm audit: ${name}: ${a.severity} ${a.title} (${a.url}) accepted: ${reason}`);
    else failing.push(`${name}@${v.range}: ${a.severity} ${a.title} (${a.url})${v.fixAvailable ? ', a fix is available' : ''}`);
  }
}
const counts = report.metadata?.vulnerabilities ?? {};
if (failing.length > 0) {
  console.error(`npm audit: ${failing.length} high or critical advisories in the production dependencies:\n  ${failing.join('\n  ')}\nUpgrade (npm audit fix --omit=dev, within engines node >=20.19), or explain each in .ci/audit-explained.json.`);
  process.exit(1);
}
console.log(`npm audit: no unexplained high or critical advisory in the production dependencies (${Object.entries(counts).map(([k, n]) => `${k} ${n}`).join(', ')})`);
