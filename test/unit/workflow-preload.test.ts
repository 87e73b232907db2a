// The modules the worker preloads into its workflow threads (src/worker/worker.ts,
// WORKFLOW_PRELOAD_MODULES) are shared by every workflow run and frozen by the SDK: they may hold
// no regex that keeps state between uses (g or y flag) and import no other module.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { WORKFLOW_PRELOAD_MODULES } from '../../src/worker/worker';

function regexes(v: unknown, out: RegExp[] = [], seen = new Set<unknown>()): RegExp[] {
  if (v === null || typeof v !== 'object' || seen.has(v)) return out;
  seen.add(v);
  if (v instanceof RegExp) out.push(v);
  else for (const x of Object.values(v)) regexes(x, out, seen);
  return out;
}

for (const file of WORKFLOW_PRELOAD_MODULES) {
  test(`${file.replace(/.*\/dist\//, '')}: no stateful regex, no import`, async () => {
    const exported = regexes(await import(file));
    assert.ok(exported.length > 0, 'the module exports its regexes');
    const stateful = exported.filter((r) => r.global || r.sticky).map((r) => r.source.slice(0, 40));
    assert.deepEqual(stateful, []);
    assert.doesNotMatch(readFileSync(file, 'utf8'), /\brequire\(/, 'a preloaded module imports nothing (what it imported would be shared too)');
  });
}
