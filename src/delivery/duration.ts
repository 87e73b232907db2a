// Durations as callers write them ("30s", "1h30m") or as milliseconds. Pure and deterministic:
// imported by workflow code.
import { ValidationError, quoteValue } from '../errors';

const UNIT_MS = {
  d: 86_400_000,
  h: 3_600_000,
  m: 60_000,
  s: 1_000,
  ms: 1,
} as const;
type Unit = keyof typeof UNIT_MS;
/** Largest unit first; a duration string must list its units in this order, each at most once. */
const UNIT_ORDER: readonly Unit[] = ['d', 'h', 'm', 's', 'ms'];

const EXAMPLES = 'write e.g. "500ms", "30s", "5m", "1h30m", "2d", or a whole number of milliseconds';
// One component: digits then a unit. "ms" must be tried before "m".
const COMPONENT = /(\d+)\s*(ms|d|h|m|s)\s*/iy;

/**
 * Parse a duration into milliseconds.
 *
 * - A number is a whole, positive number of milliseconds (`300000`).
 * - A string is one or more `<digits><unit>` components, units `d`, `h`, `m`, `s`, `ms`
 *   (case-insensitive), largest first, each at most once, optional spaces between
 *   (`"5m"`, `"1h30m"`, `"1h 30m"`, `"1500ms"`).
 * - A string without a unit (`"90"`) is rejected: seconds and milliseconds are both plausible
 *   readings, so the caller has to say which.
 *
 * Throws {@link ValidationError} naming `field` for anything else, zero included.
 */
export function parseDuration(value: string | number, field: string): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new ValidationError(field, `${quoteValue(value)} is not a duration; ${EXAMPLES}`);
    if (!Number.isInteger(value)) {
      throw new ValidationError(field, `${value} is not a whole number of milliseconds; ${EXAMPLES}`);
    }
    if (value <= 0) throw new ValidationError(field, `duration must be positive, got ${value}`);
    if (!Number.isSafeInteger(value)) throw new ValidationError(field, `duration ${value} ms is too large`);
    return value;
  }
  if (typeof value !== 'string') {
    throw new ValidationError(field, `expected a duration, got ${quoteValue(value)}; ${EXAMPLES}`);
  }

  const text = value.trim();
  if (text === '') throw new ValidationError(field, `empty duration; ${EXAMPLES}`);
  if (/^[+-]?\d+(\.\d+)?$/.test(text)) {
    throw new ValidationError(
      field,
      `${quoteValue(value)} has no unit; write "${text}s" for seconds or "${text}ms" for milliseconds (or pass a number of milliseconds)`,
    );
  }
  if (text.startsWith('-')) throw new ValidationError(field, `duration must be positive, got ${quoteValue(value)}`);

  let total = 0;
  let pos = 0;
  let lastRank = -1;
  while (pos < text.length) {
    COMPONENT.lastIndex = pos;
    const match = COMPONENT.exec(text);
    if (!match) throw new ValidationError(field, `${quoteValue(value)} is not a duration; ${EXAMPLES}`);
    const unit = match[2].toLowerCase() as Unit;
    const rank = UNIT_ORDER.indexOf(unit);
    if (rank <= lastRank) {
      throw new ValidationError(
        field,
        `${quoteValue(value)}: units must go from largest to smallest, each at most once (d, h, m, s, ms)`,
      );
    }
    lastRank = rank;
    total += Number(match[1]) * UNIT_MS[unit];
    pos = COMPONENT.lastIndex;
  }
  if (!Number.isSafeInteger(total)) throw new ValidationError(field, `duration ${quoteValue(value)} is too large`);
  if (total <= 0) throw new ValidationError(field, `duration must be positive, got ${quoteValue(value)}`);
  return total;
}

/**
 * Format milliseconds compactly, largest unit first, zero components left out:
 * 300000 -> "5m", 5400000 -> "1h30m", 45000 -> "45s", 250 -> "250ms", 1500 -> "1s500ms",
 * 259200000 -> "3d". 0 -> "0ms". The output parses back with {@link parseDuration}.
 * Non-integers are rounded; negatives get a leading "-".
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  let rest = Math.round(ms);
  if (rest === 0) return '0ms';
  const sign = rest < 0 ? '-' : '';
  rest = Math.abs(rest);
  let out = '';
  for (const unit of UNIT_ORDER) {
    const size = UNIT_MS[unit];
    const count = Math.floor(rest / size);
    if (count > 0) {
      out += `${count}${unit}`;
      rest -= count * size;
    }
  }
  return sign + out;
}
