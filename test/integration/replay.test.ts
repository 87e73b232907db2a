// Replays recorded histories (test/histories/*.binpb, recorded from the time-skipping tests with
// REBOUND_RECORD_HISTORIES=1) against the current workflow code: a change that would break
// running workflows fails here with a determinism error.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { HISTORIES_DIR } from '../helpers/history';
import { workflowBundle } from '../helpers/stack';

const files = readdirSync(HISTORIES_DIR).filter((f) => f.endsWith('.binpb')).sort();

test('recorded histories are present', () => {
  assert.ok(files.length >= 4, `expected recorded histories in ${HISTORIES_DIR}, found ${files.length}`);
});

test('every recorded history replays without a determinism error', async () => {
  const histories = files.map((file) => ({
    workflowId: path.basename(file, '.binpb'),
    history: temporal.api.history.v1.History.decode(readFileSync(path.join(HISTORIES_DIR, file))),
  }));
  const results = Worker.runReplayHistories({ workflowBundle: await workflowBundle() }, histories);
  let replayed = 0;
  for await (const result of results) {
    assert.equal(result.error, undefined, `${result.workflowId}: ${result.error?.message}`);
    replayed++;
  }
  assert.equal(replayed, files.length);
});
