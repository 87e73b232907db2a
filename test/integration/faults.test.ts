// The fault suite's quick form inside `npm test`: its own Temporal dev server, PostgreSQL
// cluster, workers and sink, about 50 messages, a worker killed inside an SMTP transaction,
// PostgreSQL stopped inside one, the Temporal server killed and restarted. Run as a child
// process (node dist/test/faults/run.js --quick --json) so that its process groups, signal
// handlers and exit hooks are its own, not the test runner's.
// REBOUND_FAULTS_SEED repeats a run; the seed is printed either way.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';

const RUN = path.resolve(__dirname, '../faults/run.js');

interface SuiteJson {
  ok: boolean;
  summary: string;
  seed: number;
  skipped: string | null;
  injected: number;
  messages: number;
  lost: number;
  duplicated: number;
  duplicatedInWindow: number;
  acceptedWrongly: number;
  held: number;
  finalStatesRight: number;
  notSubmitted: number;
  foreignAcceptances: number;
  faults: { kind: string; probe: string | null; probeHit: boolean | null }[];
}

test('quick fault suite: nothing lost, nothing doubled outside the stated window, nothing held, every final state right', { timeout: 6 * 60_000 }, async () => {
  const seed = process.env.REBOUND_FAULTS_SEED ?? String(Math.floor(Math.random() * 1_000_000));
  const child = spawn(process.execPath, [RUN, '--quick', '--json', '--seed', seed], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  const report = stderr.split('\n').filter((l) => !l.startsWith('[faults]')).join('\n');
  assert.notEqual(code, 2, `the fault suite could not run (seed ${seed}):\n${stderr.slice(-6000)}`);
  const result = JSON.parse(stdout.trim().split('\n').pop()!) as SuiteJson;
  const context = `seed ${seed}\n${report.slice(-6000)}`;

  // The faults really happened, and the aimed ones landed inside an SMTP transaction.
  const expectedKinds = result.skipped ? ['kill-worker', 'kill-temporal'] : ['kill-worker', 'stop-postgres', 'kill-temporal'];
  assert.deepEqual([...new Set(result.faults.map((f) => f.kind))].sort(), expectedKinds.sort(), context);
  // A probe can miss its transaction on a loaded machine (the fault then lands between attempts,
  // which is still a fault); at least one must land inside one for the run to mean anything.
  const aimed = result.faults.filter((x) => x.probe);
  assert.ok(aimed.some((f) => f.probeHit === true), `no aimed fault landed inside an SMTP transaction\n${context}`);
  for (const f of aimed.filter((x) => x.probeHit !== true)) console.log(`${f.kind} missed its probe's transaction (seed ${seed})`);
  assert.equal(result.notSubmitted, 0, context);

  assert.equal(result.lost, 0, `lost messages\n${context}`);
  assert.equal(result.duplicated, 0, `duplicates outside the stated window\n${context}`);
  assert.equal(result.acceptedWrongly, 0, `recipients that must bounce or expire were accepted\n${context}`);
  assert.equal(result.held, 0, `messages held over 60 s\n${context}`);
  assert.equal(result.finalStatesRight, result.messages, `wrong final states\n${context}`);
  assert.equal(result.foreignAcceptances, 0, context);
  assert.equal(result.ok, true, context);
  assert.equal(code, 0, context);
});
