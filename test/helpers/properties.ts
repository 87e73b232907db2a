// What the property tests (test/unit/property-*.test.ts) share: run sizes kept small so the
// whole set takes seconds (README "Tests", property tests), and the vocabulary every answer must
// come from. fast-check prints the seed and the shrunk counterexample of a failing property;
// `FC_SEED=<seed>` replays that run.
import fc from 'fast-check';
import { HARD_CATEGORIES, REPLY_SCOPES, SOFT_CATEGORIES, type BounceCategory } from '../../src/delivery/contract';

const seed = process.env.FC_SEED ? Number(process.env.FC_SEED) : undefined;

/** fast-check parameters for one property: `numRuns` runs, seeded from FC_SEED when set. */
export function runs(numRuns: number): fc.Parameters<unknown> {
  return seed === undefined ? { numRuns } : { numRuns, seed };
}

export const CATEGORIES: readonly BounceCategory[] = ['delivered', ...SOFT_CATEGORIES, ...HARD_CATEGORIES];
export const KINDS = ['delivered', 'soft', 'hard'] as const;
export const SCOPES: readonly string[] = REPLY_SCOPES;

/** Characters that end or split a header line, or that no header may carry. */
export const INJECTION_CHARS = ['\r', '\n', '\r\n', '\0', '\u2028', '\u2029', '\x0b', '\x0c', '\x1b', '\x7f'] as const;

/** Any string, biased towards the hostile: full unicode, lone surrogates, control characters. */
export const hostileString = (maxLength = 200): fc.Arbitrary<string> =>
  fc.oneof(
    fc.string({ maxLength, unit: 'binary' }),
    fc.string({ maxLength, unit: fc.constantFrom('\r', '\n', '\0', '\t', ' ', ':', ';', '<', '>', '@', '"', '\\', '.', '5', '4', '\u00e9', '\ud800', '\udfff', '\u2028') }),
    fc.string({ maxLength }),
  );

/** A string with one injection character put somewhere in it. */
export const withInjection = (base: fc.Arbitrary<string>): fc.Arbitrary<string> =>
  fc.tuple(base, fc.constantFrom(...INJECTION_CHARS), fc.nat()).map(([s, bad, at]) => {
    const i = s.length === 0 ? 0 : at % (s.length + 1);
    return `${s.slice(0, i)}${bad}${s.slice(i)}`;
  });
