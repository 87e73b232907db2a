// Suppression list import and export as CSV (spec 5: operators import and export suppressions).
// Pure functions: no database, no clock (the caller passes `nowMs`), no Temporal.
//
// Import: the first line names the columns (case-insensitive, any order; `address` required,
// unknown columns ignored so an export re-imports). Every row is validated on its own and bad
// rows are reported by their physical line number in the file, so one bad row never loses the
// good ones. How lines are read is described above readRecords below.
import { parse, type Options as CsvParseOptions } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import type { ImportRow, SuppressionRow } from './store';
import { ValidationError, quoteValue } from '../errors';
import { addressProblem } from '../message/validate';
import { DEFAULT_SUPPRESSION_DAYS, MAX_SUPPRESSION_DAYS, validSuppressionDays } from './policy';
import { normaliseAddress } from '../message/address';

/** The export format, in column order. The import reads the same columns (plus `days`). */
export const SUPPRESSION_CSV_COLUMNS = ['address', 'reason', 'category', 'source', 'created_at', 'expires_at', 'lifted_at', 'message_id', 'note'] as const;

const MAX_IMPORT_NOTE_CHARS = 500;
const DEFAULT_IMPORT_REASON = 'import';
const IMPORT_REASON_PATTERN = /^[a-z][a-z0-9_]{0,63}$/;

export interface SuppressionCsvError {
  /** 1-based physical line of the file (the header is line 1). */
  line: number;
  message: string;
}

export interface ParseSuppressionCsvOptions {
  /** "Now", for expiries given in days and for rejecting expiries in the past. */
  nowMs: number;
  /** Expiry of rows with neither `expires_at` nor `days`; null = never expires; default 180. */
  defaultDays?: number | null;
}

export interface ParsedSuppressionCsv {
  /** Valid rows, one per address (the last row of an address wins). */
  rows: ImportRow[];
  /** Bad rows (and malformed CSV), in line order. */
  errors: SuppressionCsvError[];
  /** Data records read: valid (before de-duplication), bad and skipped; blank lines not counted. */
  total: number;
  /** Rows with `lifted_at` set (from an export of lifted rows): neither imported nor errors. */
  skipped: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const KNOWN_COLUMNS = new Set<string>([...SUPPRESSION_CSV_COLUMNS, 'days']);
const HEADER_EXAMPLE = 'address,reason,expires_at,note';

export function parseSuppressionCsv(text: string, opts: ParseSuppressionCsvOptions): ParsedSuppressionCsv {
  if (typeof text !== 'string') throw new TypeError('parseSuppressionCsv: text must be a string');
  if (!Number.isFinite(opts.nowMs)) throw new TypeError('parseSuppressionCsv: nowMs must be a finite number');
  const defaultDays = opts.defaultDays === undefined ? DEFAULT_SUPPRESSION_DAYS : opts.defaultDays;
  if (defaultDays !== null && !validDays(defaultDays)) {
    throw new ValidationError('days', `must be a positive number of days, at most ${MAX_SUPPRESSION_DAYS}, got ${quoteValue(defaultDays)}`);
  }
  const expiries = new Expiries(opts.nowMs, { iso: defaultDays === null ? null : new Date(opts.nowMs + defaultDays * DAY_MS).toISOString() });

  const errors: SuppressionCsvError[] = [];
  const byAddress = new Map<string, ImportRow>();
  let total = 0;
  let skipped = 0;
  let header: Header | null = null;

  readRecords(
    text.charCodeAt(0) === 0xfeff ? text.slice(1) : text,
    (fields, line) => {
      if (isBlank(fields)) return true;
      if (header === null) {
        const read = readHeader(fields);
        if (typeof read === 'string') {
          errors.push({ line, message: read });
          return false;
        }
        header = read;
        return true;
      }
      total++;
      const row = readRow(header, fields, expiries);
      if (row === SKIP) skipped++;
      else if (typeof row === 'string') errors.push({ line, message: row });
      else {
        // The last row of an address wins (in the place of the first).
        byAddress.set(row.address, row);
      }
      return true;
    },
    (line, problem) => {
      if (header === null) {
        errors.push({ line, message: `malformed CSV header: ${problem}` });
        return false;
      }
      total++;
      errors.push({ line, message: `malformed CSV: ${problem}` });
      return true;
    },
  );

  if (header === null && errors.length === 0) {
    errors.push({ line: 1, message: `empty file: the first line must name the columns, e.g. ${HEADER_EXAMPLE}` });
  }
  return { rows: [...byAddress.values()], errors, total, skipped };
}

/** `expires_at` of a suppression that only an operator lifts. */
const NEVER = 'never';

/** CSV of suppression rows: a header, then one line per row in SUPPRESSION_CSV_COLUMNS order. */
export function suppressionsToCsv(rows: SuppressionRow[]): string {
  const records: string[][] = [[...SUPPRESSION_CSV_COLUMNS]];
  for (const r of rows) {
    records.push([
      r.address,
      r.reason,
      r.category ?? '',
      r.source ?? '',
      isoOrEmpty(r.since),
      // "never" rather than empty: an empty expiry falls back to the default on import.
      r.until === null ? NEVER : isoOrEmpty(r.until),
      isoOrEmpty(r.liftedAt),
      r.messageId ?? '',
      r.note ?? '',
    ]);
  }
  // Quote any field with a CR or LF, so a lone CR in a note never reads back as a line break.
  return stringify(records, { quoted_match: /[\r\n]/ });
}

// ---------------------------------------------------------------------------------------------
// Rows

interface Header {
  width: number;
  address: number;
  reason: number;
  expiresAt: number;
  days: number;
  liftedAt: number;
  note: number;
}

const SKIP = Symbol('skip');

function readHeader(fields: string[]): Header | string {
  const index = new Map<string, number>();
  for (let i = 0; i < fields.length; i++) {
    const name = fields[i].trim().toLowerCase();
    if (!KNOWN_COLUMNS.has(name)) continue;
    if (index.has(name)) return `column "${name}" appears twice in the header`;
    index.set(name, i);
  }
  if (!index.has('address')) {
    return `the first line must name the columns and include "address" (e.g. ${HEADER_EXAMPLE}), got ${quoteValue(fields.join(','))}`;
  }
  const at = (name: string) => index.get(name) ?? -1;
  return {
    width: fields.length,
    address: at('address'),
    reason: at('reason'),
    expiresAt: at('expires_at'),
    days: at('days'),
    liftedAt: at('lifted_at'),
    note: at('note'),
  };
}

/**
 * Expiry of a row as an ISO string (or null), or an error message. Files usually repeat the
 * same few values, so results are memoised per distinct value (bounded).
 */
type Expiry = { iso: string | null; error?: undefined } | { error: string };

class Expiries {
  private readonly fromDate = new Map<string, Expiry>();
  private readonly fromDays = new Map<string, Expiry>();

  constructor(
    private readonly nowMs: number,
    readonly byDefault: Expiry,
  ) {}

  /** From an `expires_at` value; `never` means no expiry. */
  date(value: string): Expiry {
    if (value.toLowerCase() === NEVER) return { iso: null };
    let result = this.fromDate.get(value);
    if (result === undefined) {
      const ms = parseIsoDateTime(value);
      if (ms === null) result = { error: `invalid expires_at ${quoteValue(value)}: expected an ISO 8601 date-time with a time zone, e.g. 2030-01-31T00:00:00Z` };
      else if (ms <= this.nowMs) result = { error: `expires_at ${quoteValue(value)} is in the past` };
      else result = { iso: new Date(ms).toISOString() };
      remember(this.fromDate, value, result);
    }
    return result;
  }

  /** From a `days` value. */
  days(value: string): Expiry {
    let result = this.fromDays.get(value);
    if (result === undefined) {
      const n = /^(?:\d+(?:\.\d*)?|\.\d+)$/.test(value) ? Number(value) : NaN;
      result = validDays(n)
        ? { iso: new Date(this.nowMs + n * DAY_MS).toISOString() }
        : { error: `invalid days ${quoteValue(value)}: expected a positive number of days, at most ${MAX_SUPPRESSION_DAYS}` };
      remember(this.fromDays, value, result);
    }
    return result;
  }
}

const MEMO_LIMIT = 1000;

function remember(memo: Map<string, Expiry>, key: string, value: Expiry): void {
  if (memo.size >= MEMO_LIMIT) memo.clear();
  memo.set(key, value);
}

function readRow(h: Header, fields: string[], expiries: Expiries): ImportRow | string | typeof SKIP {
  if (fields.length !== h.width) {
    const hint = fields.length > h.width ? ' (quote values that contain commas)' : '';
    return `expected ${h.width} fields as in the header, found ${fields.length}${hint}`;
  }
  if (h.liftedAt >= 0 && fields[h.liftedAt].trim() !== '') return SKIP;

  const rawAddress = fields[h.address];
  const address = normaliseAddress(rawAddress);
  if (address === '') return 'missing address';
  const problem = addressProblem(address);
  if (problem) return `invalid address ${quoteValue(rawAddress.trim())}: ${problem}`;

  const reason = h.reason >= 0 ? fields[h.reason].trim() || DEFAULT_IMPORT_REASON : DEFAULT_IMPORT_REASON;
  if (!IMPORT_REASON_PATTERN.test(reason)) {
    return `invalid reason ${quoteValue(reason)}: use 1 to 64 lower-case letters, digits and underscores, starting with a letter`;
  }

  const expires = h.expiresAt >= 0 ? fields[h.expiresAt].trim() : '';
  const days = h.days >= 0 ? fields[h.days].trim() : '';
  const expiry = expires !== '' ? expiries.date(expires) : days !== '' ? expiries.days(days) : expiries.byDefault;
  if (expiry.error !== undefined) return expiry.error;

  let note: string | null = h.note >= 0 ? fields[h.note].trim() : '';
  if (note === '') note = null;
  else if (note.length > MAX_IMPORT_NOTE_CHARS) {
    const chars = [...note].length; // code points, so non-BMP text is not counted twice
    if (chars > MAX_IMPORT_NOTE_CHARS) return `note is ${chars} characters long (at most ${MAX_IMPORT_NOTE_CHARS})`;
  }
  return { address, reason, expiresAt: expiry.iso, note };
}

function validDays(n: number): boolean {
  return typeof n === 'number' && validSuppressionDays(n);
}

function isBlank(fields: string[]): boolean {
  return fields.length === 1 && fields[0].trim() === '';
}

const ISO_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(?:([Zz])|([+-])(\d{2}):?(\d{2}))$/;

/** Milliseconds of an ISO 8601 date-time with a zone (Z or ±hh:mm); null when invalid. */
function parseIsoDateTime(value: string): number | null {
  const m = ISO_DATE_TIME.exec(value);
  if (!m) return null;
  const [year, month, day, hour, minute] = [m[1], m[2], m[3], m[4], m[5]].map(Number);
  const second = m[6] === undefined ? 0 : Number(m[6]);
  const millis = m[7] === undefined ? 0 : Math.floor(Number(`0.${m[7]}`) * 1000);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  if (hour > 23 || minute > 59 || second > 59) return null;
  let offsetMinutes = 0;
  if (m[8] === undefined) {
    const oh = Number(m[10]);
    const om = Number(m[11]);
    if (oh > 23 || om > 59) return null;
    offsetMinutes = (m[9] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day); // not Date.UTC: it maps years 0..99 to 1900..1999
  date.setUTCHours(hour, minute, second, millis);
  return date.getTime() - offsetMinutes * 60_000;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

function isoOrEmpty(value: string | null | undefined): string {
  if (value === null || value === undefined || value === '') return '';
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? value : new Date(ms).toISOString();
}

// ---------------------------------------------------------------------------------------------
// Records with physical line numbers
//
// Line breaks are CRLF, LF or a lone CR, both for splitting lines and for csv-parse
// (record_delimiter), so line numbers are those an editor shows.
//
// The text is split into physical lines. A line without a quote that does not continue a quoted
// value is a record of comma-separated values: exactly what csv-parse returns for it, at a
// fraction of the cost. A line with a quote starts a segment that runs to the first line end
// where the quotes balance (a record with multi-line quoted values, when the CSV is well
// formed); segments are parsed by csv-parse, in one call per window of lines. When that call
// fails, csv-parse's error tells how many segments parsed before the malformed one; that one is
// reported at its first line (csv-parse's own line numbers would count from the window) and
// reading resumes on the line after that first line. A malformed record costs little more than
// its own segment, and the good rows before and after it are kept.

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

type Item = { line: number; fields: string[] } | { line: number; segment: string };

/**
 * Calls `onRecord` for every record (blank lines included) with the line it starts on. A
 * malformed record goes to `onMalformed` with its first line. Either callback returns false
 * to stop.
 */
function readRecords(
  text: string,
  onRecord: (fields: string[], line: number) => boolean,
  onMalformed: (line: number, problem: string) => boolean,
): void {
  // [line, break, line, break, ..., line]; a final empty "line" after the last break is none.
  const parts = text.split(/(\r\n|\n|\r)/);
  const count = parts[parts.length - 1] === '' ? (parts.length - 1) / 2 : (parts.length + 1) / 2;

  let i = 0; // 0-based index of the next line to read
  let windowLines = MAX_WINDOW_LINES;
  while (i < count) {
    // Collect a window of records and quoted segments.
    const items: Item[] = [];
    const segments: string[] = [];
    let j = i;
    while (j < count && j - i < windowLines) {
      const line = parts[2 * j];
      if (line.indexOf('"') < 0) {
        items.push({ line: j + 1, fields: line.split(',') });
        j++;
        continue;
      }
      let open = false;
      let k = j;
      let segment = '';
      do {
        const l = parts[2 * k];
        for (let q = l.indexOf('"'); q >= 0; q = l.indexOf('"', q + 1)) open = !open;
        segment += l + (parts[2 * k + 1] ?? '');
        k++;
      } while (open && k < count);
      items.push({ line: j + 1, segment });
      segments.push(segment);
      j = k;
    }

    // Parse all the window's segments at once; each should be one record. When the call fails,
    // csv-parse's `records` tells how many records (segments) came before the malformed one.
    let parsed: string[][] | null = null;
    let failedAt = -1;
    let failure: unknown = null;
    if (segments.length > 0) {
      try {
        parsed = parse(segments.join(''), CSV_OPTIONS);
      } catch (err) {
        const before = (err as { records?: unknown }).records;
        if (typeof before === 'number' && Number.isInteger(before) && before >= 0 && before < segments.length) {
          parsed = before === 0 ? [] : parseOrNull(segments.slice(0, before).join(''));
          failedAt = before;
          failure = err;
        }
      }
      if (parsed !== null && parsed.length !== (failedAt >= 0 ? failedAt : segments.length)) {
        parsed = null; // not one record per segment: take them one by one
        failedAt = -1;
      }
    }

    let s = 0;
    let resumeAt = j;
    windowLines = Math.min(MAX_WINDOW_LINES, windowLines * 2);
    for (const item of items) {
      if ('fields' in item) {
        if (!onRecord(item.fields, item.line)) return;
        continue;
      }
      let records: string[][];
      if (s === failedAt) {
        records = [];
      } else if (parsed !== null) {
        records = [parsed[s]];
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
        // Malformed: report it at its first line and resume on the next line.
        if (!onMalformed(item.line, describeParseError(failure))) return;
        resumeAt = item.line; // the 0-based index of the line after the malformed record's first
        windowLines = MIN_WINDOW_LINES;
        break;
      }
      let line = item.line;
      for (const record of records) {
        if (!onRecord(record, line)) return;
        line += 1 + lineBreaksIn(record);
      }
    }
    i = resumeAt;
  }
}

function parseOrNull(text: string): string[][] | null {
  try {
    return parse(text, CSV_OPTIONS);
  } catch {
    return null;
  }
}

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
