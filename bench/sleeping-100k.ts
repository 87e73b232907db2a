// The 100,000-sleepers figures the main bench repeats: they come from their own, longer run
// (`npm run bench:sleeping`, bench/sleeping-run.ts) whose JSON is committed as
// bench/results/sleeping-100000.json, since 100,000 first attempts take 40-60 minutes here and
// do not fit in the main bench's budget.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../src/dev/tools';

export const SLEEPING_100K_FILE = path.join(PROJECT_ROOT, 'bench/results/sleeping-100000.json');

export interface Sleeping100k {
  sleeping100kWorkerRssMb: number | null;
  sleeping100kServerRssMb: number | null;
  sleeping100kFirstAttemptSeconds: number | null;
  /** Which run the figures are from: its commit and start; null when there is no file. */
  sleeping100kFrom: { commit: string | null; startedAt: string | null; file: string } | null;
}

const NONE: Sleeping100k = { sleeping100kWorkerRssMb: null, sleeping100kServerRssMb: null, sleeping100kFirstAttemptSeconds: null, sleeping100kFrom: null };

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** The figures of the separate run, or nulls when its file is missing (never throws on a missing file). */
export function readSleeping100k(file = SLEEPING_100K_FILE): Sleeping100k {
  if (!existsSync(file)) return NONE;
  const j = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  return {
    sleeping100kWorkerRssMb: num(j.sleepingWorkerRssMb),
    sleeping100kServerRssMb: num(j.sleepingServerRssMb),
    sleeping100kFirstAttemptSeconds: num(j.sleepingFirstAttemptSeconds),
    sleeping100kFrom: { commit: str(j.commit), startedAt: str(j.startedAt), file: path.relative(PROJECT_ROOT, file) },
  };
}
