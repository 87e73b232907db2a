// The parser's accuracy on a corpus (README "Late outcomes", parser accuracy): per file of a
// corpus directory, expected.json says the report type and each recipient's address, status
// and category as judged by reading the mail; the parser's output is scored against it.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ParsedReport, ReportType } from './contract';
import { parseReport } from './parse';

export interface ExpectedRecipient {
  address: string;
  status: string | null;
  category: string;
}

export interface ExpectedReport {
  type: ReportType;
  recipients: ExpectedRecipient[];
  /** Why the parser is known to get this file wrong; the unit test marks it todo. */
  knownMiss?: string;
}

export type Expectations = Record<string, ExpectedReport>;

export interface Score {
  right: number;
  of: number;
  fraction: number;
}

export interface Accuracy {
  files: number;
  typeRight: Score;
  recipientFound: Score;
  statusFound: Score;
  categoryRight: Score;
}

interface Tally {
  type: [number, number];
  recipient: [number, number];
  status: [number, number];
  category: [number, number];
}

/** One file's contribution: [right, of] per measure. Pure. */
export function scoreReport(expected: ExpectedReport, actual: ParsedReport): Tally {
  const t: Tally = { type: [expected.type === actual.type ? 1 : 0, 1], recipient: [0, 0], status: [0, 0], category: [0, 0] };
  for (const e of expected.recipients) {
    const got = actual.recipients.find((r) => r.address === e.address);
    t.recipient[1]++;
    t.category[1]++;
    if (got) t.recipient[0]++;
    if (got && got.category === e.category) t.category[0]++;
    if (e.status !== null) {
      t.status[1]++;
      if (got && got.status === e.status) t.status[0]++;
    }
  }
  return t;
}

const score = ([right, of]: [number, number]): Score => ({ right, of, fraction: of === 0 ? 1 : Math.round((10_000 * right) / of) / 10_000 });

/** Whether the parser's output is exactly what was expected for this file. */
export function matchesExactly(expected: ExpectedReport, actual: ParsedReport): boolean {
  const t = scoreReport(expected, actual);
  return t.type[0] === 1 && t.recipient[0] === t.recipient[1] && t.status[0] === t.status[1] && t.category[0] === t.category[1] && actual.recipients.length === expected.recipients.length;
}

export async function readExpectations(dir: string): Promise<Expectations> {
  return JSON.parse(await readFile(join(dir, 'expected.json'), 'utf8')) as Expectations;
}

/** Parses every file expected.json names and scores the lot. */
export async function measureAccuracy(dir: string): Promise<Accuracy> {
  const expectations = await readExpectations(dir);
  const sum: Tally = { type: [0, 0], recipient: [0, 0], status: [0, 0], category: [0, 0] };
  const files = Object.keys(expectations);
  for (const file of files) {
    const t = scoreReport(expectations[file], await parseReport(await readFile(join(dir, file))));
    for (const k of Object.keys(sum) as (keyof Tally)[]) {
      sum[k][0] += t[k][0];
      sum[k][1] += t[k][1];
    }
  }
  return { files: files.length, typeRight: score(sum.type), recipientFound: score(sum.recipient), statusFound: score(sum.status), categoryRight: score(sum.category) };
}
