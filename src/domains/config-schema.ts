// Validating a configuration file's data (README "Retry policy per domain"): the zod schema of
// the file and of a rule with the messages it reports, the checks of domain keys, and the
// resolution of each rule's schedule; and the `dkim:` section's keys (README "DKIM"), whose key
// files config-dkim.ts reads. Each problem is named by its key path, such as
// `domains["*.example.com"].delays[1]` or `dkim["example.com"].selector`; a valid file becomes
// the list of DomainRule and the list of DkimEntry.
import { z } from 'zod';
import { ValidationError, quoteValue } from '../errors';
import { resolveSchedule } from '../delivery/schedule';
import { PROFILE_NAMES, type ProfileName } from '../delivery/contract';
import type { ConfigFileIssue } from './config-file';
import { keyPath } from './config-path';
import { validateSites } from '../sites/config-schema';
import type { ShapingConfig } from '../sites/contract';
import { DEFAULT_SHAPING } from '../sites/config-schema';
import { TLS_LEVELS, domainKeyProblem, normaliseDomainKey, type DomainRule, type ScheduleFields, type TlsLevel } from './policy';
import { DEFAULT_SIGNED_HEADERS } from '../message/dkim';

export { keyPath } from './config-path';

function shown(value: unknown): string {
  const isObject = typeof value === 'object' && value !== null && !Array.isArray(value);
  return isObject ? 'an object' : quoteValue(value);
}

type ZodErrorFn = (issue: { code: string; input?: unknown }) => string;

/** Messages for a strict object: unknown keys list the allowed ones, anything else says what to write. */
function objectError(allowed: string, expected: string): ZodErrorFn {
  return (issue) =>
    issue.code === 'unrecognized_keys' ? `unknown key (expected ${allowed})` : `expected ${expected}, got ${shown(issue.input)}`;
}

const Duration = z.union([z.string(), z.number()], {
  error: (issue) => `expected a duration such as "10m" or a whole number of milliseconds, got ${shown(issue.input)}`,
});

const RuleSchema = z.strictObject(
  {
    profile: z
      .enum(PROFILE_NAMES as [ProfileName, ...ProfileName[]], {
        error: (issue) => `unknown profile ${shown(issue.input)}; use one of ${PROFILE_NAMES.join(', ')}`,
      })
      .optional(),
    delays: z
      .array(Duration, { error: (issue) => `expected a list of durations such as ["1m", "10m", "1h"], got ${shown(issue.input)}` })
      .optional(),
    deadline: Duration.optional(),
    // Direct delivery only (README "Direct delivery", TLS); the relay's TLS is REBOUND_SMTP_URL's.
    tls: z
      .enum(TLS_LEVELS as unknown as [TlsLevel, ...TlsLevel[]], {
        error: (issue) => `expected ${TLS_LEVELS.map((l) => JSON.stringify(l)).join(' or ')}, got ${shown(issue.input)}`,
      })
      .optional(),
  },
  { error: objectError('profile, delays, deadline or tls', 'a rule such as { "profile": "bulk" }') },
);

const FileSchema = z.strictObject(
  {
    // null too: in YAML, `domains:` with every entry commented out reads as null.
    domains: z
      .record(z.string(), z.unknown(), {
        error: (issue) => `expected a mapping from domain to rule, got ${shown(issue.input)}`,
      })
      .nullish(),
    dkim: z
      .record(z.string(), z.unknown(), {
        error: (issue) => `expected a mapping from sending domain to key, got ${shown(issue.input)}`,
      })
      .nullish(),
    // Checked by src/sites/config-schema.ts (README "Traffic shaping").
    sites: z.unknown().optional(),
  },
  { error: objectError('domains, dkim or sites', 'an object with a "domains" mapping') },
);

function zodIssues(issues: z.core.$ZodIssue[], base: PropertyKey[]): ConfigFileIssue[] {
  return issues.flatMap((issue) => {
    const path = [...base, ...issue.path];
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ path: keyPath([...path, key]), reason: issue.message }));
    }
    return [{ path: keyPath(path), reason: issue.message }];
  });
}

export interface ValidatedConfig {
  rules: DomainRule[];
  /** The `dkim:` section, its key files not read yet (config-dkim.ts does that). */
  dkim: DkimEntry[];
  /** The `sites:` section (README "Traffic shaping"), or the shipped rules and limits. */
  shaping: ShapingConfig;
  issues: ConfigFileIssue[];
}

export function validateConfig(data: unknown): ValidatedConfig {
  const top = FileSchema.safeParse(data);
  if (!top.success) return { rules: [], dkim: [], shaping: DEFAULT_SHAPING, issues: zodIssues(top.error.issues, []) };
  const domains = validateDomains(data);
  const dkim = validateDkim(data);
  const sites = validateSites((data as { sites?: unknown }).sites);
  const issues = [...domains.issues, ...dkim.issues, ...sites.issues];
  return issues.length > 0
    ? { rules: [], dkim: [], shaping: DEFAULT_SHAPING, issues }
    : { rules: domains.rules, dkim: dkim.entries, shaping: sites.shaping, issues };
}

function validateDomains(data: unknown): { rules: DomainRule[]; issues: ConfigFileIssue[] } {
  // The raw object, not zod's copy: a "__proto__" key must stay an ordinary (invalid) key.
  const domains = (data as { domains?: Record<string, unknown> | null }).domains ?? {};
  const rules: DomainRule[] = [];
  const issues: ConfigFileIssue[] = [];
  const seen = new Map<string, string>();
  for (const [key, value] of Object.entries(domains)) {
    issues.push(...checkDomainKey(key, seen));
    const checked = checkRule(key, value);
    issues.push(...checked.issues);
    if (checked.rule) rules.push(checked.rule);
  }
  return { rules, issues };
}

/** Records the key in `seen` (normalised -> as written) to catch keys differing only in case. */
function checkDomainKey(key: string, seen: Map<string, string>): ConfigFileIssue[] {
  const path = keyPath(['domains', key]);
  const pattern = normaliseDomainKey(key);
  const problem = domainKeyProblem(pattern);
  if (problem !== null) return [{ path, reason: problem }];
  const earlier = seen.get(pattern);
  if (earlier !== undefined) {
    return [{ path, reason: `the same domain as ${JSON.stringify(earlier)} (keys are compared trimmed and case-insensitively)` }];
  }
  seen.set(pattern, key);
  return [];
}

function checkRule(key: string, value: unknown): { rule: DomainRule | null; issues: ConfigFileIssue[] } {
  const base = ['domains', key];
  const shape = RuleSchema.safeParse(value);
  if (!shape.success) return { rule: null, issues: zodIssues(shape.error.issues, base) };
  const given = ruleFields(shape.data);
  const tls = shape.data.tls;
  if (Object.keys(given).length === 0 && tls === undefined) {
    return { rule: null, issues: [{ path: keyPath(base), reason: 'empty rule: give a profile, delays, a deadline and/or tls' }] };
  }
  try {
    const { schedule, profile } = resolveSchedule(given);
    return { rule: { pattern: normaliseDomainKey(key), schedule, profile, given, ...(tls !== undefined ? { tls } : {}) }, issues: [] };
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    return { rule: null, issues: [{ path: `${keyPath(base)}.${err.field}`, reason: err.reason }] };
  }
}

/** The fields the rule wrote, and only those (an absent field stays absent, not undefined). */
function ruleFields(data: z.infer<typeof RuleSchema>): ScheduleFields {
  const given: ScheduleFields = {};
  if (data.profile !== undefined) given.profile = data.profile;
  if (data.delays !== undefined) given.delays = [...data.delays];
  if (data.deadline !== undefined) given.deadline = data.deadline;
  return given;
}

// ---------------------------------------------------------------------------------------------
// The `dkim:` section (README "DKIM")

/** A sending domain's key as the file writes it; `keyFile` is read by config-dkim.ts. */
export interface DkimEntry {
  domain: string;
  selector: string;
  /** As written: relative paths are relative to the configuration file. */
  keyFile: string;
  headers: readonly string[];
}

const DNS_LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const SELECTOR = new RegExp(`^${DNS_LABEL}(?:\\.${DNS_LABEL})*$`);
/** RFC 5322 field name: printable ASCII but the colon. */
const FIELD_NAME = /^[\x21-\x39\x3b-\x7e]+$/;
/** Written in front of the signed bytes, so they cannot be among the signed fields. */
const ADDED_AFTER_SIGNING = ['dkim-signature', 'x-rebound-ref'];

const HeaderName = z.string({ error: (issue) => `expected a header field name such as "Subject", got ${shown(issue.input)}` }).refine(
  (name) => FIELD_NAME.test(name),
  { error: 'not a header field name (printable ASCII, no colon or space)' },
).refine((name) => !ADDED_AFTER_SIGNING.includes(name.toLowerCase()), {
  error: 'is added after signing (README "DKIM") and cannot be signed',
});

const DkimKeySchema = z.strictObject(
  {
    selector: z
      .string({ error: (issue) => `expected a selector such as "s2026", got ${shown(issue.input)}` })
      .refine((value) => SELECTOR.test(value), { error: 'not a selector: DNS labels of letters, digits and hyphens, such as "s2026"' }),
    keyFile: z
      .string({ error: (issue) => `expected the path of a PEM private key file, got ${shown(issue.input)}` })
      .refine((value) => value.trim() !== '', { error: 'the path is empty' }),
    headers: z
      .array(HeaderName, { error: (issue) => `expected a list of header field names such as ["From", "To", "Subject"], got ${shown(issue.input)}` })
      .refine((names) => names.some((name) => name.toLowerCase() === 'from'), {
        error: 'must include From (RFC 6376 5.4: the From field is always signed)',
      })
      .optional(),
  },
  { error: objectError('selector, keyFile or headers', 'a key such as { "selector": "s2026", "keyFile": "dkim.pem" }') },
);

function validateDkim(data: unknown): { entries: DkimEntry[]; issues: ConfigFileIssue[] } {
  // The raw object, as for domains: a "__proto__" key stays an ordinary (invalid) key.
  const section = (data as { dkim?: Record<string, unknown> | null }).dkim ?? {};
  const entries: DkimEntry[] = [];
  const issues: ConfigFileIssue[] = [];
  const seen = new Map<string, string>();
  for (const [key, value] of Object.entries(section)) {
    issues.push(...checkSendingDomain(key, seen));
    const shape = DkimKeySchema.safeParse(value);
    if (!shape.success) {
      issues.push(...zodIssues(shape.error.issues, ['dkim', key]));
      continue;
    }
    entries.push({
      domain: normaliseDomainKey(key),
      selector: shape.data.selector.toLowerCase(),
      keyFile: shape.data.keyFile,
      headers: shape.data.headers ?? DEFAULT_SIGNED_HEADERS,
    });
  }
  return { entries, issues };
}

function checkSendingDomain(key: string, seen: Map<string, string>): ConfigFileIssue[] {
  const path = keyPath(['dkim', key]);
  const domain = normaliseDomainKey(key);
  if (domain.includes('*')) return [{ path, reason: 'a key signs for one From domain: wildcards are not allowed, list each domain' }];
  const problem = domainKeyProblem(domain);
  if (problem !== null) return [{ path, reason: problem }];
  const earlier = seen.get(domain);
  if (earlier !== undefined) {
    return [{ path, reason: `the same domain as ${JSON.stringify(earlier)} (keys are compared trimmed and case-insensitively)` }];
  }
  seen.set(domain, key);
  return [];
}
