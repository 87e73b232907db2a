// A mail read from a mailbox has no SMTP envelope left: the delivering server wrote what it had
// into headers. This recovers the two addresses `storeRawReport` keeps (README "Late outcomes",
// IMAP): the recipient, whose return-path token names the message, and the sender (`<>` for a DSN).

export interface RecoveredEnvelope {
  /** From Return-Path: '' for the null sender `<>`, null when there is no Return-Path header. */
  envelopeFrom: string | null;
  /** From Delivered-To, else X-Original-To, else To; null when none holds an address. */
  envelopeTo: string | null;
}

/** How far into a mail its headers are read: delivery headers are at the top. */
const HEADER_SCAN_BYTES = 64 * 1024;

/** The header block, unfolded, as [lower-case name, value] in order (topmost first). */
export function headerFields(raw: Buffer): [string, string][] {
  const head = raw.subarray(0, HEADER_SCAN_BYTES).toString('latin1');
  const end = head.search(/\r?\n\r?\n/);
  const block = (end < 0 ? head : head.slice(0, end)).replace(/\r?\n[ \t]+/g, ' ');
  const fields: [string, string][] = [];
  for (const line of block.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    fields.push([line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()]);
  }
  return fields;
}

/** The first address in a header value: inside <...> when there are brackets, else the bare one. */
export function firstAddress(value: string): string | null {
  const bracketed = /<([^<>\s]*)>/.exec(value);
  if (bracketed) return bracketed[1];
  const bare = /[^\s<>,;"()]+@[^\s<>,;"()]+/.exec(value);
  return bare ? bare[0] : null;
}

/**
 * Several Delivered-To lines are one per hop (a forward from the bounce domain to a hosted
 * mailbox adds its own on top): the one on the bounce domain is preferred, since its token names
 * the message; without a bounce domain, or with none on it, the topmost of the first header kind
 * found.
 */
export function recoverEnvelope(raw: Buffer, bounceDomain: string | null = null): RecoveredEnvelope {
  const fields = headerFields(raw);
  const returnPath = fields.find(([name]) => name === 'return-path');
  const envelopeFrom = returnPath ? (firstAddress(returnPath[1]) ?? '') : null;
  const candidates = ['delivered-to', 'x-original-to', 'to'].flatMap((kind) =>
    fields.filter(([name]) => name === kind).map(([, value]) => firstAddress(value)).filter((a): a is string => !!a && a.includes('@')),
  );
  const domain = bounceDomain?.toLowerCase();
  const onDomain = domain ? candidates.find((a) => a.toLowerCase().endsWith(`@${domain}`)) : undefined;
  return { envelopeFrom, envelopeTo: onDomain ?? candidates[0] ?? null };
}
