// Replays recorded histories (test/histories/*.binpb, recorded from the time-skipping tests with
// REBOUND_RECORD_HISTORIES=1) against the current workflow code: a change that would break
// running workflows fails here with a determinism error. Each is replayed by a worker without the
// payload codec and by one with it (README "Payload encryption"): histories written before the
// codec was turned on must keep replaying after. The history in test/histories/encrypted/ was
// written with the codec on (the test keys) and replays with it.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { temporal } from '@temporalio/proto';
import { bundleWorkflowCode, Worker, type ReplayWorkerOptions } from '@temporalio/worker';
import { FAILURE_CONVERTER_PATH, reboundDataConverter } from '../../src/codec/data-converter';
import { WORKFLOW_PRELOAD_MODULES, WORKFLOWS_PATH } from '../../src/worker/worker';
import { ENCRYPTED_HISTORIES_DIR, TEST_PAYLOAD_KEYS } from '../helpers/codec';
import { HISTORIES_DIR } from '../helpers/history';
import { workflowBundle } from '../helpers/stack';

const binpb = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.binpb')).sort();
const files = binpb(HISTORIES_DIR);
const encryptedFiles = binpb(ENCRYPTED_HISTORIES_DIR);

const load = (dir: string, names: string[]) =>
  names.map((file) => ({ workflowId: path.basename(file, '.binpb'), history: temporal.api.history.v1.History.decode(readFileSync(path.join(dir, file))) }));

/** A worker with the codec bundles its workflows with the codec's failure converter; so does this one. */
let codecBundle: ReturnType<typeof bundleWorkflowCode> | undefined;
const silent = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} } as never;
const withCodec = async (): Promise<ReplayWorkerOptions> => ({
  workflowBundle: await (codecBundle ??= bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, failureConverterPath: FAILURE_CONVERTER_PATH, preloadModules: [...WORKFLOW_PRELOAD_MODULES], logger: silent })),
  dataConverter: reboundDataConverter(TEST_PAYLOAD_KEYS),
});

async function replayAll(options: ReplayWorkerOptions, histories: ReturnType<typeof load>): Promise<{ workflowId: string; error?: Error }[]> {
  const results: { workflowId: string; error?: Error }[] = [];
  for await (const result of Worker.runReplayHistories(options, histories)) results.push({ workflowId: result.workflowId, error: result.error });
  return results;
}

test('recorded histories are present', () => {
  assert.ok(files.length >= 4, `expected recorded histories in ${HISTORIES_DIR}, found ${files.length}`);
  assert.ok(encryptedFiles.length >= 1, `expected an encrypted history in ${ENCRYPTED_HISTORIES_DIR}`);
});

test('every recorded history replays without a determinism error, without the codec', async () => {
  const results = await replayAll({ workflowBundle: await workflowBundle() }, load(HISTORIES_DIR, files));
  for (const r of results) assert.equal(r.error, undefined, `${r.workflowId}: ${r.error?.message}`);
  assert.equal(results.length, files.length);
});

test('every recorded (unencrypted) history replays on a worker with the codec', async () => {
  const results = await replayAll(await withCodec(), load(HISTORIES_DIR, files));
  for (const r of results) assert.equal(r.error, undefined, `with the codec, ${r.workflowId}: ${r.error?.message}`);
  assert.equal(results.length, files.length);
});

test('the encrypted history replays with the codec, and cannot be read without it', async () => {
  const histories = load(ENCRYPTED_HISTORIES_DIR, encryptedFiles);
  const withKeys = await replayAll(await withCodec(), histories);
  for (const r of withKeys) assert.equal(r.error, undefined, `with the codec, ${r.workflowId}: ${r.error?.message}`);
  assert.equal(withKeys.length, encryptedFiles.length);
  // Expected to fail: a worker without the keys cannot decode the workflow's input, which is
  // the point of encrypting it. Shown here so a history saved unencrypted by mistake is noticed.
  const withoutKeys = await replayAll({ workflowBundle: await workflowBundle() }, histories);
  for (const r of withoutKeys) assert.ok(r.error, `${r.workflowId} replayed without the codec: it is not encrypted`);
});
