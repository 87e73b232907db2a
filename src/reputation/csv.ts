// Suppression list import and export as CSV: the columns, their defaults and their validation
// (README "Reputation and suppression": operators import and export suppressions).
// Pure functions: no database, no clock (the caller passes `nowMs`), no Temporal.
//
// Import: the first line names the columns (case-insensitive, any order; `address` required,
// unknown columns ignored so an export re-imports). Every row is validated on its own and bad
// rows are reported by their physical line number in the file, so one bad row never loses the
// good ones; ./csv-reader.ts reads the records and their line numbers.
import { stringify } from 'csv-stringify/sync';
import type { ImportRow, SuppressionRow } from './store';
import { ValidationError, quoteValue } from '../errors';
import { DEFAULT_SUPPRESSION_DAYS, MAX_SUPPRESSION_DAYS, validSuppressionDays } from './policy';
import { addressProblem, normaliseAddress } from '../message/address';
import { readCsvRecords, type CsvLineRecord } from './csv-reader';

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
  const reading = new SuppressionImport(expiries);
  for (const record of readCsvRecords(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text)) {
    if (!reading.take(record)) break;
  }
  return reading.result();
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
// Reading an import: the header, then the rows

/** The import's state while its records are read. */
class SuppressionImport {
  private header: Header | null = null;
  private readonly errors: SuppressionCsvError[] = [];
  private readonly byAddress = new Map<string, ImportRow>();
  private total = 0;
  private skipped = 0;

  constructor(private readonly expiries: Expiries) {}

  /** Takes one record; false when the rest of the file cannot be read (a bad header). */
  take(record: CsvLineRecord): boolean {
    if (record.fields !== undefined && isBlank(record.fields)) return true;
    if (this.header === null) return this.takeHeader(record);
    this.total++;
    const row = record.problem !== undefined ? `malformed CSV: ${record.problem}` : readRow(this.header, record.fields, this.expiries);
    if (row === SKIP) this.skipped++;
    else if (typeof row === 'string') this.errors.push({ line: record.line, message: row });
    else this.byAddress.set(row.address, row); // the last row of an address wins (in the place of the first)
    return true;
  }

  result(): ParsedSuppressionCsv {
    const errors = [...this.errors];
    if (this.header === null && errors.length === 0) {
      errors.push({ line: 1, message: `empty file: the first line must name the columns, e.g. ${HEADER_EXAMPLE}` });
    }
    return { rows: [...this.byAddress.values()], errors, total: this.total, skipped: this.skipped };
  }

  private takeHeader(record: CsvLineRecord): boolean {
    const read = record.problem !== undefined ? `malformed CSV header: ${record.problem}` : readHeader(record.fields);
    if (typeof read === 'string') {
      this.errors.push({ line: record.line, message: read });
      return false;
    }
    this.header = read;
    return true;
  }
}

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

// ---------------------------------------------------------------------------------------------
// Dates

/**
 * `expires_at` as written by people and by exports: an ISO 8601 date, `T` (or `t` or a space),
 * hh:mm, optionally :ss and a fraction (`.` or `,`, 1 to 9 digits, cut to milliseconds), then `Z`
 * or an offset ±hh:mm / ±hhmm. The pattern checks the ranges; the day is checked against the
 * month by reading the date back.
 */
const ISO_DATE_TIME =
  /^(\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01]))[Tt ]([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d)(?:[.,](\d{1,9}))?)?([Zz]|[+-](?:[01]\d|2[0-3]):?[0-5]\d)$/;

/** Milliseconds of an ISO 8601 date-time with a zone (see ISO_DATE_TIME); null when invalid. */
export function parseIsoDateTime(value: string): number | null {
  const m = ISO_DATE_TIME.exec(value);
  if (!m || !isCalendarDate(m[1])) return null;
  const [, date, hour, minute, second = '00', fraction = '', zone] = m;
  const millis = fraction.padEnd(3, '0').slice(0, 3);
  // Date.parse sees only ECMAScript's own date-time format, which it must read exactly.
  const ms = Date.parse(`${date}T${hour}:${minute}:${second}.${millis}${standardZone(zone)}`);
  return Number.isNaN(ms) ? null : ms;
}

/** Whether yyyy-mm-dd is a day of the calendar (Date.parse rolls 2030-02-30 over to March). */
function isCalendarDate(date: string): boolean {
  const ms = Date.parse(`${date}T00:00:00Z`);
  return !Number.isNaN(ms) && new Date(ms).toISOString().slice(0, 10) === date;
}

/** `Z` or ±hh:mm, from `Z`, `z`, ±hh:mm or ±hhmm. */
function standardZone(zone: string): string {
  if (zone === 'Z' || zone === 'z') return 'Z';
  return zone.length === 5 ? `${zone.slice(0, 3)}:${zone.slice(3)}` : zone;
}

function isoOrEmpty(value: string | null | undefined): string {
  if (value === null || value === undefined || value === '') return '';
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? value : new Date(ms).toISOString();
}
