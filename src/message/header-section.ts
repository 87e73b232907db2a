// The header section of a raw message (RFC 5322 section 2.1: up to the first empty line), read
// from at most its first 64 kB as latin1, so a stray binary body never costs a full decode.
const SCAN_BYTES = 64 * 1024;

export function headerSection(raw: Buffer): string {
  const head = raw.subarray(0, SCAN_BYTES).toString('latin1');
  const end = head.search(/\r?\n\r?\n/);
  return end < 0 ? head : head.slice(0, end);
}
