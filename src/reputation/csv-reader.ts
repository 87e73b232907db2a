// CSV records with the physical line each starts on, for imports that report bad records by the
// line an editor shows and keep the good records around them (README "Reputation and
// suppression": an import reports bad rows by line number). Used by the suppression import
// (./csv.ts); knows nothing of suppressions.
//
// Why not csv-parse alone, with `info: true` and `skip_records_with_error`: its `info.lines` is a
// record's last line, not its first, and counts a CRLF inside a quoted value as two lines; after
// a quote that is never closed, or a closing quote followed by text, it reads on inside the
// quoted value and swallows the records after it (or reports them all as one at the file's end);
// and with `info` it reads a 100,000-row file about twice as slowly as this reader reads it whole.
//
// How it reads. Line breaks are CRLF, LF or a lone CR, both for splitting lines and for
// csv-parse (record_delimiter), so line numbers are those an editor shows. A line without a
// quote that does not continue a quoted value is a record of comma-separated values: exactly
// what csv-parse returns for it, at a fraction of the cost. A line with a quote starts a segment
// that runs to the first line end where the quotes balance (a record with multi-line quoted
// values, when the CSV is well formed); segments are parsed by csv-parse, in one call per window
// of lines. When that call fails, csv-parse's error tells how many segments parsed before the
// malformed one; that one is reported at its first line (csv-parse's own line numbers would
// count from the window) and reading resumes on the line after that first line. A malformed
// record costs little more than its own segment, and the good rows before and after it are kept.

import { parse, type Options as CsvParseOptions } from 'csv-parse/sync';

/** A record, or a malformed one, with the 1-based physical line it starts on. */
export type CsvLineRecord =
  | { line: number; fields: string[]; problem?: undefined }
  | { line: number; problem: string; fields?: undefined };

const CSV_OPTIONS: CsvParseOptions = {
  record_delimiter: ['\r\n', '\n', '\r'],
  relax_column_count: true,
  skip_empty_lines: false,
};

/**
 * Lines per window (one csv-parse call for the window's quoted segments). After a malformed
 * record the window shrinks to the minimum, so a file with many malformed lines does not re-read
 * a whole window for each; every clean window doubles it again.
 */
const MAX_WINDOW_LINES = 2048;
const MIN_WINDOW_LINES = 16;

/**
 * Every record of `text` in order, blank lines included (as one empty field), each with the line
 * it starts on; a malformed record comes as a `problem` at its first line, and reading goes on
 * with the line after that one. Stop early by leaving the loop.
 */
export function* readCsvRecords(text: string): Generator<CsvLineRecord, void, undefined> {
  const lines = new PhysicalLines(text);
  let next = 0; // 0-based index of the next line to read
  let windowLines = MAX_WINDOW_LINES;
  while (next < lines.count) {
    const window = collectWindow(lines, next, windowLines);
    const resumeAt = yield* emitWindow(window);
    if (resumeAt === null) {
      next = window.end;
      windowLines = Math.min(MAX_WINDOW_LINES, windowLines * 2);
    } else {
      next = resumeAt;
      windowLines = MIN_WINDOW_LINES;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Lines and windows

/** The text split at CRLF, LF and lone CR; a final empty "line" after the last break is none. */
class PhysicalLines {
  /** [line, break, line, break, ..., line] */
  private readonly parts: string[];
  readonly count: number;

  constructor(text: string) {
    this.parts = text.split(/(\r\n|\n|\r)/);
    const n = this.parts.length;
    this.count = this.parts[n - 1] === '' ? (n - 1) / 2 : (n + 1) / 2;
  }

  /** Line `i` (0-based) without its line break. */
  text(i: number): string {
    return this.parts[2 * i];
  }

  /** Line `i` with its line break ('' for the last line of a text without a final break). */
  withBreak(i: number): string {
    return this.parts[2 * i] + (this.parts[2 * i + 1] ?? '');
  }
}

/** A plain line, already split, or a quoted segment for csv-parse; `line` is 1-based. */
type Item = { line: number; fields: string[] } | { line: number; segment: string };

interface Window {
  items: Item[];
  /** The segments of `items`, in order. */
  segments: string[];
  /** 0-based index of the first line after the window. */
  end: number;
}

/** Items from line `start` on, until about `maxLines` lines are taken (a segment is never cut). */
function collectWindow(lines: PhysicalLines, start: number, maxLines: number): Window {
  const items: Item[] = [];
  const segments: string[] = [];
  let j = start;
  while (j < lines.count && j - start < maxLines) {
    const line = lines.text(j);
    if (line.indexOf('"') < 0) {
      items.push({ line: j + 1, fields: line.split(',') });
      j++;
      continue;
    }
    const { segment, end } = quotedSegment(lines, j);
    items.push({ line: j + 1, segment });
    segments.push(segment);
    j = end;
  }
  return { items, segments, end: j };
}

/** Lines from `first` (which has a quote) to the first line end where the quotes balance. */
function quotedSegment(lines: PhysicalLines, first: number): { segment: string; end: number } {
  let open = false;
  let k = first;
  let segment = '';
  do {
    const l = lines.text(k);
    for (let q = l.indexOf('"'); q >= 0; q = l.indexOf('"', q + 1)) open = !open;
    segment += lines.withBreak(k);
    k++;
  } while (open && k < lines.count);
  return { segment, end: k };
}

// ---------------------------------------------------------------------------------------------
// Parsing a window

/**
 * The window's segments parsed in one csv-parse call: `records` has one record per segment up to
 * `failedAt` (the first malformed segment, -1 when none), or is null when the call did not give
 * one record per segment (the segments are then parsed one by one). `failure` is the call's error.
 */
interface Batch {
  records: string[][] | null;
  failedAt: number;
  failure: unknown;
}

function parseSegments(segments: string[]): Batch {
  if (segments.length === 0) return { records: null, failedAt: -1, failure: null };
  let records: string[][] | null = null;
  let failedAt = -1;
  let failure: unknown = null;
  try {
    records = parse(segments.join(''), CSV_OPTIONS);
  } catch (err) {
    // csv-parse's `records` tells how many records (segments) came before the malformed one.
    const before = (err as { records?: unknown }).records;
    if (typeof before === 'number' && Number.isInteger(before) && before >= 0 && before < segments.length) {
      records = before === 0 ? [] : parseOrNull(segments.slice(0, before).join(''));
      failedAt = before;
      failure = err;
    }
  }
  if (records !== null && records.length !== (failedAt >= 0 ? failedAt : segments.length)) {
    return { records: null, failedAt: -1, failure }; // not one record per segment
  }
  return { records, failedAt, failure };
}

function parseOrNull(text: string): string[][] | null {
  try {
    return parse(text, CSV_OPTIONS);
  } catch {
    return null;
  }
}

/**
 * Yields the window's records in order. At the first malformed segment it yields the problem and
 * returns the 0-based index of the line after that segment's first line, where reading resumes;
 * null when the whole window was read.
 */
function* emitWindow(window: Window): Generator<CsvLineRecord, number | null, undefined> {
  const batch = parseSegments(window.segments);
  let failure = batch.failure;
  let s = 0; // index of the next segment
  for (const item of window.items) {
    if ('fields' in item) {
      yield item;
      continue;
    }
    let records: string[][];
    if (s === batch.failedAt) {
      records = [];
    } else if (batch.records !== null) {
      records = [batch.records[s]];
    } else {
      try {
        records = parse(item.segment, CSV_OPTIONS);
      } catch (err) {
        failure = err;
        records = [];
      }
    }
    s++;
    if (records.length === 0) {
      yield { line: item.line, problem: describeParseError(failure) };
      return item.line; // 1-based line of the segment = 0-based index of the line after it
    }
    let line = item.line;
    for (const fields of records) {
      yield { line, fields };
      line += 1 + lineBreaksIn(fields);
    }
  }
  return null;
}

/** Line breaks inside quoted values (CRLF counted once), to number the lines after a record. */
function lineBreaksIn(record: string[]): number {
  let n = 0;
  for (const field of record) {
    if (field.indexOf('\n') < 0 && field.indexOf('\r') < 0) continue;
    for (let c = 0; c < field.length; c++) {
      const code = field.charCodeAt(c);
      if (code === 10) n++;
      else if (code === 13 && field.charCodeAt(c + 1) !== 10) n++;
    }
  }
  return n;
}

/** What is wrong with a malformed record, in the words of someone fixing the file. */
function describeParseError(err: unknown): string {
  const code = (err as { code?: unknown })?.code;
  switch (code) {
    case 'INVALID_OPENING_QUOTE':
      return 'a quote (") inside an unquoted value; quote the whole value and double the quotes inside it ("")';
    case 'CSV_INVALID_CLOSING_QUOTE':
      return 'quotes do not pair up: a quoted value starting on this line must end just before a comma or the end of a line, and a quote inside it is written as two quotes ("")';
    case 'CSV_QUOTE_NOT_CLOSED':
      return 'a quoted value that starts on this line is never closed';
    default: {
      if (err === null || err === undefined) return 'unreadable record';
      // csv-parse's own line numbers count from the window, not the file: leave them out.
      const message = err instanceof Error ? err.message.replace(/\s*at line \d+/g, '') : String(err);
      return typeof code === 'string' ? `${message} (${code})` : message;
    }
  }
}
