// How the bench's commands start and end: exit with main's code, or log the error and exit 1.
// The clean-up runs inside main (its `finally`); this only turns the outcome into an exit code.

export function runEntry(main: () => Promise<number>, log: (msg: string) => void): void {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      log(`error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      process.exit(1);
    },
  );
}

/** A flag's value as a positive integer, or an error naming the flag. */
export function positiveInteger(flag: string, v: string | undefined): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${flag} needs a positive integer, got "${v ?? ''}"`);
  return n;
}
