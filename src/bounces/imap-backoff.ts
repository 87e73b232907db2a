// When the next poll of the bounce mailbox runs (README "Late outcomes", IMAP): every
// pollSeconds while it works; after failures, doubling from there up to a ceiling, so a mailbox
// or database that is down is not hammered and is picked up again soon after it is back.

/** The longest wait between two polls after failures, unless pollSeconds itself is longer. */
export const MAX_BACKOFF_SECONDS = 300;

export function nextPollDelaySeconds(pollSeconds: number, consecutiveFailures: number): number {
  if (consecutiveFailures <= 0) return pollSeconds;
  const ceiling = Math.max(pollSeconds, MAX_BACKOFF_SECONDS);
  return Math.min(pollSeconds * 2 ** Math.min(consecutiveFailures, 20), ceiling);
}
