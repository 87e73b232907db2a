// bench/profile-top.ts: which group a frame's script belongs to, and the self and inclusive
// time it reads from a V8 CPU profile (a small one written here), inside a window or not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyse, bundleModules, groupOf, type CpuProfile } from '../../bench/profile-top';

const ROOT = '/srv/rebound';

test('a frame is grouped by package, node internals, or Rebound capability', () => {
  assert.equal(groupOf('file:///srv/rebound/node_modules/pino/lib/tools.js', ROOT, null), 'pino');
  assert.equal(groupOf('/other/node_modules/@temporalio/worker/lib/worker.js', ROOT, null), '@temporalio/worker');
  assert.equal(groupOf('node:internal/streams/writable', ROOT, null), 'node internals');
  assert.equal(groupOf('file:///srv/rebound/dist/src/smtp/pool.js', ROOT, null), 'rebound src/smtp');
  assert.equal(groupOf('file:///srv/rebound/dist/activities/delivery.js', ROOT, null), 'rebound activities');
  assert.equal(groupOf('', ROOT, null), null);
});

test('a line of the workflow bundle is grouped by the module it is in', () => {
  const code = ['/******/ (() => {', '/***/ "./node_modules/@temporalio/workflow/lib/index.js"', 'a', '/***/ "./dist/src/delivery/classify.js"', 'b'].join('\n');
  const modules = bundleModules(code);
  assert.deepEqual(modules.map((m) => m.line), [2, 4]);
  assert.equal(groupOf('workflow-bundle-abc.js', ROOT, modules, 3), 'workflow bundle: @temporalio/workflow');
  assert.equal(groupOf('workflow-bundle-abc.js', ROOT, modules, 5), 'workflow bundle: rebound src/delivery');
  assert.equal(groupOf('workflow-bundle-abc.js', ROOT, modules, 1), 'workflow bundle: webpack runtime');
});

// (root) -> (idle); (root) -> send [src/smtp] -> JSON.stringify (builtin) ; send -> LOG [pino]
const frame = (functionName: string, url: string) => ({ functionName, url, lineNumber: 0, columnNumber: 0 });
const profile: CpuProfile = {
  nodes: [
    { id: 1, callFrame: frame('(root)', ''), children: [2, 3] },
    { id: 2, callFrame: frame('(idle)', '') },
    { id: 3, callFrame: frame('send', `file://${ROOT}/dist/src/smtp/pool.js`), children: [4, 5] },
    { id: 4, callFrame: frame('stringify', '') },
    { id: 5, callFrame: frame('LOG', `file://${ROOT}/node_modules/pino/lib/tools.js`) },
  ],
  startTime: 1_000_000,
  endTime: 1_010_000,
  // Ticks 1 ms apart: idle, send, stringify, LOG, LOG, idle (the last one carries no time).
  samples: [2, 3, 4, 5, 5, 2],
  timeDeltas: [0, 1000, 1000, 1000, 1000, 1000],
};
const file = 'CPU.20261203.110000.42.0.001.cpuprofile';

test('self time goes to the top frame, a builtin to its caller, and idle to nothing', () => {
  const r = analyse([{ file, profile }], { projectRoot: ROOT });
  assert.equal(r.busyMs, 4);
  assert.deepEqual(r.files, [{ file, thread: 'pid 42 thread 0', sampledMs: 5, idleMs: 1 }]);
  assert.deepEqual(Object.fromEntries(r.groupsSelf.map((g) => [g.name, g.ms])), { 'rebound src/smtp': 2, pino: 2 });
  assert.deepEqual(Object.fromEntries(r.groupsInclusive.map((g) => [g.name, g.pct])), { 'rebound src/smtp': 100, pino: 50 });
  assert.equal(r.functionsInclusive[0]!.name, 'send');
  assert.equal(r.functionsInclusive[0]!.ms, 4);
  assert.deepEqual(r.functionsSelf.map((f) => [f.name, f.ms]).sort(), [['LOG', 2], ['send', 1], ['stringify', 1]]);
});

test('a window keeps only the ticks inside it', () => {
  // Ticks at 0, 1, 2, 3, 4, 5 ms after the start: 1.5-3.5 ms keeps stringify and the first LOG.
  const r = analyse([{ file, profile }], { projectRoot: ROOT, window: { name: 'w', fromMs: 1.5, toMs: 3.5 } });
  assert.equal(r.busyMs, 2);
  assert.deepEqual(r.functionsSelf.map((f) => f.name).sort(), ['LOG', 'stringify']);
});
