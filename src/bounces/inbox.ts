// What every intake path writes first (README "Late outcomes"): the report as it arrived, in
// `inbound_reports`, before it answers 250 (SMTP) or 200 (a provider's webhook). Everything
// else — parsing, finding the message, telling reputation and webhooks — happens after, in a
// worker, so a report is never lost to a failure past this point. A report stored twice (an
// MTA retrying after a lost 250, a provider redelivering) is one row.
import { createHash } from 'node:crypto';
import type { Pool } from 'pg';
import type { ProviderEvent, ReportSource } from './contract';
import { headerSection } from '../message/header-section';

export interface RawReport {
  source: Extract<ReportSource, 'smtp' | 'imap'>;
  raw: Buffer;
  /** SMTP MAIL FROM (usually empty for a DSN: `<>`). */
  envelopeFrom: string | null;
  /** SMTP RCPT TO: the return-path address whose token names the message. */
  envelopeTo: string | null;
}

export interface Stored {
  id: string;
  /** The same report was already stored: nothing was added. */
  duplicate: boolean;
}

/**
 * The key a mail is known again by: its own Message-ID where it has one (an MTA that retries
 * sends the same one, though a relay on the way may add Received headers), else its bytes.
 */
export function rawReportKey(raw: Buffer): string {
  const headers = headerSection(raw).replace(/\r?\n[ \t]+/g, ' ');
  const id = /^message-id:[ \t]*(<[^>\s]{1,500}>)/im.exec(headers)?.[1];
  const digest = createHash('sha256');
  if (id) digest.update(`message-id:${id.toLowerCase()}`);
  else digest.update(raw);
  return `mail:${digest.digest('hex')}`;
}

export function providerEventKey(event: Pick<ProviderEvent, 'provider' | 'eventId' | 'recipient'>): string {
  return `${event.provider}:${event.eventId}:${event.recipient.toLowerCase()}`;
}

/** Stores one mail; throws when PostgreSQL cannot take it (the listener then answers 451). */
export async function storeRawReport(pool: Pool, report: RawReport): Promise<Stored> {
  const res = await pool.query(
    `WITH ins AS (
       INSERT INTO inbound_reports (source, dedupe_key, envelope_from, envelope_to, raw)
       VALUES ($1, $2, $3, $4, $5) ON CONFLICT (dedupe_key) DO NOTHING RETURNING id
     )
     SELECT id, false AS duplicate FROM ins
     UNION ALL SELECT id, true FROM inbound_reports WHERE dedupe_key = $2 AND NOT EXISTS (SELECT 1 FROM ins)`,
    [report.source, rawReportKey(report.raw), report.envelopeFrom, report.envelopeTo, report.raw],
  );
  const row = res.rows[0];
  return { id: String(row.id), duplicate: row.duplicate };
}

/** Stores verified provider events, one row each; throws when PostgreSQL cannot take them (the route then answers 503). */
export async function storeProviderEvents(pool: Pool, events: ProviderEvent[]): Promise<{ stored: number; duplicates: number }> {
  if (events.length === 0) return { stored: 0, duplicates: 0 };
  const res = await pool.query(
    `INSERT INTO inbound_reports (source, dedupe_key, event)
     SELECT e->>'provider', k, e FROM unnest($1::text[], $2::jsonb[]) AS u(k, e)
     ON CONFLICT (dedupe_key) DO NOTHING`,
    [events.map(providerEventKey), events.map((e) => JSON.stringify(e))],
  );
  const stored = res.rowCount ?? 0;
  return { stored, duplicates: events.length - stored };
}
