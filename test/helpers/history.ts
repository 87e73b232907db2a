// Reads what a workflow did from its recorded history (server time, which the time-skipping
// server advances), and saves histories for the replay test.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { sendAttemptEvents } from '../../src/delivery/attempt-events';

export const HISTORIES_DIR = path.resolve(__dirname, '../../../test/histories');

function eventMs(t: { seconds?: unknown; nanos?: number | null } | null | undefined): number {
  return Number(t?.seconds ?? 0) * 1000 + Math.floor((t?.nanos ?? 0) / 1e6);
}

/**
 * Offsets (ms from the workflow start) of each send attempt: when a regular activity was
 * scheduled, when a local one was recorded (after its SMTP transaction, within the tests' slack).
 */
export async function attemptOffsets(handle: WorkflowHandle): Promise<number[]> {
  const events = (await handle.fetchHistory()).events ?? [];
  const start = eventMs(events[0]?.eventTime);
  return sendAttemptEvents(events).map((a) => a.atMs - start);
}

/** Each sendAttempt's offset (ms from the workflow start) and the recipients it carried. */
export async function attemptsWithRecipients(handle: WorkflowHandle): Promise<{ offsetMs: number; recipients: string[] }[]> {
  const events = (await handle.fetchHistory()).events ?? [];
  const start = eventMs(events[0]?.eventTime);
  return sendAttemptEvents(events).map((a) => {
    if (!a.recipients) throw new Error('an attempt in this history is encrypted: read it through the client\'s data converter');
    return { offsetMs: a.atMs - start, recipients: a.recipients };
  });
}

/** Workflow run time (ms) from the first to the last event. */
export async function runDurationMs(handle: WorkflowHandle): Promise<number> {
  const events = (await handle.fetchHistory()).events ?? [];
  return eventMs(events[events.length - 1]?.eventTime) - eventMs(events[0]?.eventTime);
}

/**
 * The behaviour the histories recorded now were made with. Histories of earlier generations stay
 * in test/histories/ unchanged: they are what workflows started by older versions look like,
 * and the replay test keeps them replaying.
 */
export const HISTORY_GENERATION = 'local';

/**
 * With REBOUND_RECORD_HISTORIES=1, saves the history under test/histories/GENERATION-NAME.binpb
 * (the protobuf encoding the server itself uses) so the replay test checks later workflow code
 * against it.
 */
export async function recordHistory(handle: WorkflowHandle, name: string): Promise<void> {
  if (process.env.REBOUND_RECORD_HISTORIES !== '1') return;
  mkdirSync(HISTORIES_DIR, { recursive: true });
  const history = await handle.fetchHistory();
  writeFileSync(path.join(HISTORIES_DIR, `${HISTORY_GENERATION}-${name}.binpb`), temporal.api.history.v1.History.encode(history).finish());
}
