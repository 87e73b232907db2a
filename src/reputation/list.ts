// The suppression list page by page, for the HTTP API (README "HTTP API", lists): keyset
// pagination on the address (the primary key), so a page costs the same however deep it is and
// rows added or lifted between pages never shift the others. The export streams the same pages as
// the CLI's CSV (src/reputation/csv.ts), never holding the whole list in memory.
import { Readable } from 'node:stream';
import type { Pool } from 'pg';
import { ValidationError, quoteValue } from '../errors';
import { SUPPRESSION_CSV_COLUMNS, suppressionsToCsv } from './csv';
import { ACTIVE_SUPPRESSION, suppressionRowOf, type SuppressionRow } from './store';

export interface SuppressionPageFilter {
  domain?: string;
  reason?: string;
  /** Only addresses starting with this (already lower-cased, as addresses are stored). */
  prefix?: string;
  /** Lifted and expired rows too (`?include=lifted`). */
  includeLifted?: boolean;
}

export interface SuppressionPage {
  rows: SuppressionRow[];
  /** The address the next page starts after, or null on the last page. */
  lastAddress: string | null;
}

/** The cursor of a page: the last address it held, base64url (opaque to callers). */
export function encodeSuppressionCursor(address: string): string {
  return Buffer.from(address, 'utf8').toString('base64url');
}

/** The address a cursor stands for; a ValidationError naming `cursor` when it is not one of ours. */
export function decodeSuppressionCursor(cursor: string): string {
  const address = /^[A-Za-z0-9_-]+$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  if (address === '' || !address.includes('@') || encodeSuppressionCursor(address) !== cursor) {
    throw new ValidationError('cursor', `is not a cursor this API gave out: pass nextCursor from the previous page unchanged; got ${quoteValue(cursor)}`);
  }
  return address;
}

/** One page of suppressions in address order, after `after` (exclusive). */
export async function suppressionPage(pool: Pool, f: SuppressionPageFilter, limit: number, after: string | null): Promise<SuppressionPage> {
  const where = [f.includeLifted ? 'true' : ACTIVE_SUPPRESSION];
  const params: unknown[] = [];
  const bind = (v: unknown): string => {
    params.push(v);
    return `$${params.length}`;
  };
  if (f.domain) where.push(`domain = ${bind(f.domain.toLowerCase())}`);
  if (f.reason) where.push(`reason = ${bind(f.reason)}`);
  if (f.prefix) where.push(`starts_with(address, ${bind(f.prefix)})`);
  if (after !== null) where.push(`address > ${bind(after)}`);
  // One more than asked tells whether another page follows without a second query.
  const res = await pool.query(`SELECT * FROM suppressions WHERE ${where.join(' AND ')} ORDER BY address LIMIT ${bind(limit + 1)}`, params);
  const rows = res.rows.slice(0, limit).map(suppressionRowOf);
  return { rows, lastAddress: res.rows.length > limit ? rows[rows.length - 1].address : null };
}

/** Every page of the filter, in address order. */
export async function* suppressionPages(pool: Pool, f: SuppressionPageFilter, pageSize = 1000): AsyncGenerator<SuppressionRow[]> {
  let after: string | null = null;
  do {
    const page = await suppressionPage(pool, f, pageSize, after);
    if (page.rows.length > 0) yield page.rows;
    after = page.lastAddress;
  } while (after !== null);
}

/** The CSV header line suppressionsToCsv writes first. */
const CSV_HEADER = `${SUPPRESSION_CSV_COLUMNS.join(',')}\n`;

/**
 * The suppressions as CSV, streamed a page at a time: the header, then each page formatted by the
 * CLI export's own suppressionsToCsv (so both write the same columns and quoting).
 */
export function suppressionCsvStream(pool: Pool, f: SuppressionPageFilter, pageSize = 1000): Readable {
  async function* chunks(): AsyncGenerator<string> {
    yield CSV_HEADER;
    for await (const rows of suppressionPages(pool, f, pageSize)) yield suppressionsToCsv(rows).slice(CSV_HEADER.length);
  }
  return Readable.from(chunks(), { objectMode: false });
}
