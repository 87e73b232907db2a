// The configuration file's `sites:` section (README "Traffic shaping"): limits per site, rules
// that react to replies, and whether the shipped rules apply. Each problem is named by its key
// path, e.g. `sites.rules[2].match.enhanced` or `sites.limits["mx.example.net"].connections`,
// like the `domains:` section's. A valid section becomes the ShapingConfig the workers use. Pure.
import { ValidationError, quoteValue } from '../errors';
import { formatDuration, parseDuration } from '../delivery/duration';
import type { ConfigFileIssue } from '../domains/config-file';
import { keyPath } from '../domains/config-path';
import { RULE_SCOPES, type ReplyMatch, type RuleAction, type RuleScope, type RuleThreshold, type ShapingConfig, type SiteLimits, type SiteRule } from './contract';
import { DEFAULT_SITE_RULES, mergeRules } from './rules';
import { MAX_SUSPENSION_MS } from './store';

/** The shaping of a process whose configuration file has no `sites:` (or no file at all). */
export const DEFAULT_SHAPING: ShapingConfig = { limits: {}, rules: [...DEFAULT_SITE_RULES] };

const LIMIT_KEYS = ['connections', 'initialConnections', 'messagesPerConnection', 'messagesPerMinute'] as const;
/** Caps that keep a typo (an extra zero or three) from meaning "no limit at all". */
const LIMIT_MAX: Record<(typeof LIMIT_KEYS)[number], number> = { connections: 10_000, initialConnections: 10_000, messagesPerConnection: 1_000_000, messagesPerMinute: 1_000_000 };
/** A rule's name: written into suspensions and logs; "manual" is the operator's. */
const RULE_NAME = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,99}$/;
const SITE_NAME = /^(\*|[a-z0-9](?:[a-z0-9._-]{0,253}[a-z0-9])?)$/;

type Path = PropertyKey[];

class Issues {
  readonly list: ConfigFileIssue[] = [];
  add(path: Path, reason: string): void {
    this.list.push({ path: keyPath(path), reason });
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const shown = (v: unknown): string => (isObject(v) ? 'an object' : quoteValue(v));

/** Unknown keys of an object, each reported with the allowed ones. */
function unknownKeys(value: Record<string, unknown>, allowed: readonly string[], path: Path, issues: Issues): void {
  for (const key of Object.keys(value)) if (!allowed.includes(key)) issues.add([...path, key], `unknown key (expected ${allowed.join(', ')})`);
}

function positiveInteger(value: unknown, max: number, path: Path, issues: Issues): number | undefined {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= max) return value;
  issues.add(path, `expected a whole number from 1 to ${max}, got ${shown(value)}`);
  return undefined;
}

function duration(value: unknown, path: Path, issues: Issues, maxMs = MAX_SUSPENSION_MS): number | undefined {
  try {
    if (typeof value !== 'string' && typeof value !== 'number') throw new ValidationError('duration', `expected a duration such as "10m" or a whole number of milliseconds, got ${shown(value)}`);
    const ms = parseDuration(value, 'duration');
    if (ms > maxMs) throw new ValidationError('duration', `at most ${maxMs === MAX_SUSPENSION_MS ? '30 days' : formatDuration(maxMs)}, got ${quoteValue(value)}`);
    return ms;
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    issues.add(path, err.reason);
    return undefined;
  }
}

function regex(value: unknown, flags: string, path: Path, issues: Issues): RegExp | undefined {
  if (typeof value !== 'string' || value === '') {
    issues.add(path, `expected a regular expression's source such as "^4\\\\.7\\\\.28$", got ${shown(value)}`);
    return undefined;
  }
  try {
    return new RegExp(value, flags);
  } catch (err) {
    issues.add(path, `not a valid regular expression: ${(err as Error).message}`);
    return undefined;
  }
}

function siteName(value: unknown, path: Path, issues: Issues, star: boolean): string | undefined {
  const name = typeof value === 'string' ? value.trim().toLowerCase().replace(/\.$/, '') : null;
  if (name !== null && SITE_NAME.test(name) && (star || name !== '*')) return name;
  issues.add(path, `expected a site name: a provider such as "google", an MX host or the relay's host${star ? ', or "*" for every site' : ''}; got ${shown(value)}`);
  return undefined;
}

function validateLimits(section: unknown, issues: Issues): Record<string, Partial<SiteLimits>> {
  const base: Path = ['sites', 'limits'];
  if (section === undefined || section === null) return {};
  if (!isObject(section)) {
    issues.add(base, `expected a mapping from site name to limits, got ${shown(section)}`);
    return {};
  }
  const limits: Record<string, Partial<SiteLimits>> = {};
  for (const [key, value] of Object.entries(section)) {
    const path = [...base, key];
    const site = siteName(key, path, issues, true);
    if (site === undefined) continue;
    if (Object.prototype.hasOwnProperty.call(limits, site)) {
      issues.add(path, 'the same site as an earlier key (keys are compared trimmed and case-insensitively)');
      continue;
    }
    if (!isObject(value)) {
      issues.add(path, `expected limits such as { "connections": 10, "messagesPerMinute": 600 }, got ${shown(value)}`);
      continue;
    }
    unknownKeys(value, LIMIT_KEYS, path, issues);
    const entry: Partial<SiteLimits> = {};
    for (const name of LIMIT_KEYS) {
      if (!(name in value)) continue;
      // messagesPerMinute: null says "no cap" over a shipped or "*" one.
      if (name === 'messagesPerMinute' && value[name] === null) entry.messagesPerMinute = null;
      else {
        const n = positiveInteger(value[name], LIMIT_MAX[name], [...path, name], issues);
        if (n !== undefined) entry[name] = n;
      }
    }
    if (entry.initialConnections !== undefined && entry.connections !== undefined && entry.initialConnections > entry.connections) {
      issues.add([...path, 'initialConnections'], `is more than connections (${entry.connections}): the slow start begins at or below the cap`);
    }
    if (Object.keys(value).length === 0) issues.add(path, `empty limits: give any of ${LIMIT_KEYS.join(', ')}`);
    limits[site] = entry;
  }
  return limits;
}

function validateMatch(value: unknown, path: Path, issues: Issues): ReplyMatch | undefined {
  if (!isObject(value)) {
    issues.add(path, `expected a match such as { "enhanced": "^4\\\\.7\\\\.28$", "site": "google" }, got ${shown(value)}`);
    return undefined;
  }
  unknownKeys(value, ['enhanced', 'text', 'code', 'site'], path, issues);
  const match: ReplyMatch = {};
  const before = issues.list.length;
  if ('enhanced' in value) match.enhanced = regex(value.enhanced, '', [...path, 'enhanced'], issues);
  // Reply texts differ in case between receivers and versions: matched case-insensitively.
  if ('text' in value) match.text = regex(value.text, 'i', [...path, 'text'], issues);
  if ('code' in value) {
    const code = value.code;
    if (typeof code === 'number' && Number.isInteger(code) && code >= 200 && code <= 599) match.code = code;
    else issues.add([...path, 'code'], `expected an SMTP reply code from 200 to 599, got ${shown(code)}`);
  }
  if ('site' in value) match.site = siteName(value.site, [...path, 'site'], issues, false);
  if (!('enhanced' in value) && !('text' in value) && !('code' in value)) {
    issues.add(path, 'a match needs enhanced, text or code (site alone would match every reply of the site)');
  }
  return issues.list.length === before ? match : undefined;
}

function validateThreshold(value: unknown, path: Path, issues: Issues): RuleThreshold | undefined {
  if (value === undefined || value === 'immediate') return { kind: 'immediate' };
  if (!isObject(value)) {
    issues.add(path, `expected "immediate" or { "count": 3, "window": "5m" }, got ${shown(value)}`);
    return undefined;
  }
  unknownKeys(value, ['count', 'window'], path, issues);
  const count = positiveInteger(value.count, 10_000, [...path, 'count'], issues);
  const windowMs = 'window' in value ? duration(value.window, [...path, 'window'], issues, 86_400_000) : (issues.add([...path, 'window'], 'required: the window the count is within, such as "5m" (at most 1 day)'), undefined);
  return count !== undefined && windowMs !== undefined ? { kind: 'count', count, windowMs } : undefined;
}

function validateAction(value: unknown, path: Path, issues: Issues): RuleAction | undefined {
  if (value === undefined || value === 'suspend') return { kind: 'suspend' };
  if (isObject(value) && Object.keys(value).length === 1 && ('rate' in value || 'connections' in value)) {
    if ('rate' in value) {
      const n = positiveInteger(value.rate, 1_000_000, [...path, 'rate'], issues);
      return n === undefined ? undefined : { kind: 'rate', messagesPerMinute: n };
    }
    const n = positiveInteger(value.connections, 10_000, [...path, 'connections'], issues);
    return n === undefined ? undefined : { kind: 'connections', connections: n };
  }
  issues.add(path, `expected "suspend", { "rate": 60 } (messages per minute) or { "connections": 2 }, got ${shown(value)}`);
  return undefined;
}

function validateRule(value: unknown, i: number, names: Set<string>, issues: Issues): SiteRule | undefined {
  const path: Path = ['sites', 'rules', i];
  if (!isObject(value)) {
    issues.add(path, `expected a rule such as { "name": "slow-down", "match": { "text": "slow down" }, "duration": "10m" }, got ${shown(value)}`);
    return undefined;
  }
  const before = issues.list.length;
  unknownKeys(value, ['name', 'match', 'scope', 'threshold', 'action', 'duration'], path, issues);
  const name = value.name;
  if (typeof name !== 'string' || !RULE_NAME.test(name) || name === 'manual') {
    issues.add([...path, 'name'], `expected a rule name of letters, digits and . _ : @ - (not "manual", the operator's), such as "gmail-421-4.7.28"; got ${shown(name)}`);
  } else if (names.has(name)) {
    issues.add([...path, 'name'], 'the same name as an earlier rule in the file');
  } else names.add(name);
  const match = validateMatch(value.match, [...path, 'match'], issues);
  const scope = value.scope ?? 'site';
  if (!(RULE_SCOPES as readonly unknown[]).includes(scope)) issues.add([...path, 'scope'], `expected ${RULE_SCOPES.map((s) => JSON.stringify(s)).join(' or ')}, got ${shown(scope)}`);
  const threshold = validateThreshold(value.threshold, [...path, 'threshold'], issues);
  const action = validateAction(value.action, [...path, 'action'], issues);
  if (action?.kind === 'connections' && scope === 'domain') {
    issues.add([...path, 'scope'], 'connections are the site\'s, shared by every domain at it: an action { "connections": N } takes scope "site"');
  }
  const durationMs = 'duration' in value ? duration(value.duration, [...path, 'duration'], issues) : (issues.add([...path, 'duration'], 'required: how long the action lasts, such as "20m"'), undefined);
  if (issues.list.length > before) return undefined;
  return { name: name as string, match: match!, scope: scope as RuleScope, threshold: threshold!, action: action!, durationMs: durationMs! };
}

function validateRules(section: unknown, issues: Issues): SiteRule[] {
  if (section === undefined || section === null) return [];
  if (!Array.isArray(section)) {
    issues.add(['sites', 'rules'], `expected a list of rules, got ${shown(section)}`);
    return [];
  }
  const names = new Set<string>();
  return section.flatMap((value, i) => validateRule(value, i, names, issues) ?? []);
}

/** The `sites:` section of a parsed file (the raw object: a "__proto__" key stays an ordinary, invalid key). */
export function validateSites(section: unknown): { shaping: ShapingConfig; issues: ConfigFileIssue[] } {
  const issues = new Issues();
  if (section === undefined || section === null) return { shaping: DEFAULT_SHAPING, issues: [] };
  if (!isObject(section)) {
    issues.add(['sites'], `expected an object with limits, rules and/or shippedRules, got ${shown(section)}`);
    return { shaping: DEFAULT_SHAPING, issues: issues.list };
  }
  unknownKeys(section, ['limits', 'rules', 'shippedRules'], ['sites'], issues);
  const limits = validateLimits(section.limits, issues);
  const rules = validateRules(section.rules, issues);
  const shipped = section.shippedRules ?? true;
  if (typeof shipped !== 'boolean') issues.add(['sites', 'shippedRules'], `expected true or false, got ${shown(shipped)}`);
  if (issues.list.length > 0) return { shaping: DEFAULT_SHAPING, issues: issues.list };
  return { shaping: { limits, rules: mergeRules(rules, shipped !== false) }, issues: [] };
}
