// Addresses as Rebound keys them. Pure: imported by workflow code.

/** Whole address lower-cased and trimmed; no other folding (README "Reputation and suppression"). */
export function normaliseAddress(address: string): string {
  return address.trim().toLowerCase();
}

export function domainOf(address: string): string {
  const at = address.lastIndexOf('@');
  return at < 0 ? '' : address.slice(at + 1).toLowerCase();
}
