// The configuration file: retry rules per recipient domain, in JSON or YAML. Read once,
// synchronously, when the process starts; every problem in it is a ConfigFileError naming the
// file and the key path, so a typo stops the process instead of being silently ignored.
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseDocument, type YAMLError } from 'yaml';
import { z } from 'zod';
import { ValidationError, quoteValue } from '../errors';
import { resolveSchedule } from '../delivery/schedule';
import { PROFILE_NAMES, type ProfileName } from '../delivery/contract';
import { domainKeyProblem, normaliseDomainKey, type DomainRule, type ReboundFileConfig, type ScheduleFields } from './policy';

export type { DomainRule, ReboundFileConfig } from './policy';

/** Names the configuration file explicitly; then it must exist. */
export const CONFIG_FILE_ENV = 'REBOUND_CONFIG';
/** Looked up in the working directory, first found wins, when REBOUND_CONFIG is not set. */
export const DEFAULT_CONFIG_FILES: readonly string[] = ['rebound.config.json', 'rebound.config.yaml', 'rebound.config.yml'];
/**
 * YAML anchors may be reused (one rule for many domains), but each alias expands a whole node:
 * this caps the expansion so a small file cannot blow up into a huge object.
 */
const MAX_YAML_ALIAS_COUNT = 1000;
/** A valid file is 4 levels deep; the cap keeps the recursive JSON check off the stack limit. */
const MAX_JSON_DEPTH = 64;

export interface ConfigFileIssue {
  /** Key path such as `domains["*.example.com"].delays[1]`; empty when only a position is known. */
  path: string;
  /** What is wrong, without the file and path prefix. */
  reason: string;
  line?: number;
  column?: number;
}

/** A configuration file that cannot be used. `message` reports the first issue. */
export class ConfigFileError extends Error {
  override readonly name = 'ConfigFileError';
  /** The file as the user named it (REBOUND_CONFIG's value, or the default file name). */
  readonly file: string;
  /** Key path of the first issue (may be empty, see {@link ConfigFileIssue.path}). */
  readonly path: string;
  readonly reason: string;
  /** Every problem found, the first one included. */
  readonly issues: ConfigFileIssue[];

  constructor(file: string, issues: ConfigFileIssue[]) {
    const [first] = issues;
    const more = issues.length - 1;
    super(formatIssue(file, first) + (more > 0 ? ` (and ${more} more problem${more === 1 ? '' : 's'})` : ''));
    this.file = file;
    this.path = first.path;
    this.reason = first.reason;
    this.issues = issues;
  }
}

/** `file: path (line 3, column 5): reason`, leaving out what is unknown. */
export function formatIssue(file: string, issue: ConfigFileIssue): string {
  const position =
    issue.line === undefined ? '' : `line ${issue.line}` + (issue.column === undefined ? '' : `, column ${issue.column}`);
  const where = issue.path && position ? `${issue.path} (${position})` : issue.path || position;
  return where ? `${file}: ${where}: ${issue.reason}` : `${file}: ${issue.reason}`;
}

/**
 * The per-domain rules of the configuration file: the file REBOUND_CONFIG names (relative to
 * `cwd`; it must exist), else the first of {@link DEFAULT_CONFIG_FILES} in `cwd`, else none
 * (`{ path: null, domains: [] }`). Throws {@link ConfigFileError} for anything wrong with it.
 */
export function loadConfigFile(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): ReboundFileConfig {
  const located = locateConfigFile(env, cwd);
  if (located === null) return { path: null, domains: [] };
  const text = readConfigText(located);
  return { path: located.absolute, domains: parseConfigText(text, located.display) };
}

interface LocatedFile {
  absolute: string;
  /** How messages name it: as REBOUND_CONFIG wrote it, or the bare default file name. */
  display: string;
  fromEnv: boolean;
}

function locateConfigFile(env: NodeJS.ProcessEnv, cwd: string): LocatedFile | null {
  const named = env[CONFIG_FILE_ENV]?.trim();
  if (named) return { absolute: resolve(cwd, named), display: named, fromEnv: true };
  for (const name of DEFAULT_CONFIG_FILES) {
    const absolute = resolve(cwd, name);
    if (existsSync(absolute)) return { absolute, display: name, fromEnv: false };
  }
  return null;
}

function readConfigText(file: LocatedFile): string {
  try {
    return readFileSync(file.absolute, 'utf8');
  } catch (err) {
    throw new ConfigFileError(file.display, [{ path: '', reason: readFailure(err, file) }]);
  }
}

function readFailure(err: unknown, file: LocatedFile): string {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (code === 'ENOENT') return file.fromEnv ? `no such file (named by ${CONFIG_FILE_ENV})` : 'no such file';
  if (code === 'EISDIR') return 'is a directory, not a file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  return `cannot be read: ${err instanceof Error ? err.message : String(err)}`;
}

type ConfigFormat = 'json' | 'yaml';

function formatOf(file: string): ConfigFormat | null {
  const lower = file.toLowerCase();
  if (lower.endsWith('.json')) return 'json';
  if (lower.endsWith('.yaml') || lower.endsWith('.yml')) return 'yaml';
  return null;
}

/**
 * Parse and validate a configuration file's text; the format comes from the name's extension
 * (`.json`, `.yaml`, `.yml`). Throws {@link ConfigFileError} naming `file`. An empty YAML file
 * (or one with only comments) has no rules.
 */
export function parseConfigText(text: string, file: string): DomainRule[] {
  const format = formatOf(file);
  if (format === null) {
    throw new ConfigFileError(file, [{ path: '', reason: 'unknown file type: the name must end in .json, .yaml or .yml' }]);
  }
  const source = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const parsed = format === 'json' ? parseJson(source) : parseYaml(source);
  if (parsed.issues.length > 0) throw new ConfigFileError(file, parsed.issues);
  const { rules, issues } = validateConfig(parsed.data);
  if (issues.length > 0) throw new ConfigFileError(file, issues);
  return rules;
}

// ---------------------------------------------------------------------------------------------
// Parsing

interface Parsed {
  data: unknown;
  issues: ConfigFileIssue[];
}

/** 1-based line and column of a character offset. */
function positionOf(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, Math.max(0, Math.min(offset, text.length)));
  const lineStart = before.lastIndexOf('\n') + 1;
  return { line: before.split('\n').length, column: before.length - lineStart + 1 };
}

function parseJson(text: string): Parsed {
  const checker = new JsonChecker(text);
  try {
    checker.check();
  } catch (err) {
    if (!(err instanceof JsonSyntaxError)) throw err;
    return { data: undefined, issues: [{ path: '', reason: err.reason, ...positionOf(text, err.offset) }] };
  }
  const duplicates = checker.duplicates.map((d) => {
    const first = positionOf(text, d.firstOffset);
    return {
      path: keyPath(d.path),
      reason: `duplicated key (first at line ${first.line}, column ${first.column})`,
      ...positionOf(text, d.offset),
    };
  });
  return { data: duplicates.length > 0 ? undefined : JSON.parse(text), issues: duplicates };
}

class JsonSyntaxError {
  constructor(
    readonly offset: number,
    readonly reason: string,
  ) {}
}

const JSON_SPACE = /[ \t\n\r]*/y;
const JSON_STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;
const JSON_NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const JSON_LITERAL = /true|false|null/y;

/**
 * Checks JSON syntax and finds duplicate keys; JSON.parse builds the values afterwards. Needed
 * because JSON.parse lets a repeated key silently replace the earlier one, and in Node 20 many
 * of its syntax errors ("Unexpected token") carry no position.
 */
class JsonChecker {
  private pos = 0;
  readonly duplicates: { path: (string | number)[]; offset: number; firstOffset: number }[] = [];

  constructor(private readonly text: string) {}

  check(): void {
    this.value([], 0);
    this.skipSpace();
    if (this.pos < this.text.length) this.fail(`unexpected ${this.found()} after the end of the JSON value`);
  }

  private value(path: (string | number)[], depth: number): void {
    if (depth > MAX_JSON_DEPTH) this.fail(`nested more than ${MAX_JSON_DEPTH} levels deep`);
    this.skipSpace();
    const c = this.text[this.pos];
    if (c === '{') this.object(path, depth);
    else if (c === '[') this.array(path, depth);
    else if (c === '"') this.string();
    else if (this.token(JSON_NUMBER) === null && this.token(JSON_LITERAL) === null) {
      this.fail(`expected a value, found ${this.found()}`);
    }
  }

  private object(path: (string | number)[], depth: number): void {
    this.pos++;
    const seen = new Map<string, number>();
    this.skipSpace();
    if (this.eat('}')) return;
    for (;;) {
      this.skipSpace();
      const offset = this.pos;
      if (this.text[this.pos] !== '"') this.fail(`expected a key in double quotes, found ${this.found()}`);
      const key = this.string();
      const first = seen.get(key);
      if (first === undefined) seen.set(key, offset);
      else this.duplicates.push({ path: [...path, key], offset, firstOffset: first });
      this.skipSpace();
      if (!this.eat(':')) this.fail(`expected ":" after the key, found ${this.found()}`);
      this.value([...path, key], depth + 1);
      if (this.endOfList('}')) return;
    }
  }

  private array(path: (string | number)[], depth: number): void {
    this.pos++;
    this.skipSpace();
    if (this.eat(']')) return;
    for (let index = 0; ; index++) {
      this.value([...path, index], depth + 1);
      if (this.endOfList(']')) return;
    }
  }

  /** After an element: true at the closing bracket, false after a comma (another must follow). */
  private endOfList(close: '}' | ']'): boolean {
    this.skipSpace();
    if (this.eat(close)) return true;
    if (!this.eat(',')) this.fail(`expected "," or "${close}", found ${this.found()}`);
    this.skipSpace();
    if (this.text[this.pos] === close) this.fail(`trailing comma before "${close}" (not allowed in JSON)`);
    return false;
  }

  private string(): string {
    const raw = this.token(JSON_STRING);
    if (raw === null) {
      this.fail('invalid string: it must end with a double quote on the same line, control characters escaped');
    }
    return JSON.parse(raw) as string;
  }

  private token(pattern: RegExp): string | null {
    pattern.lastIndex = this.pos;
    const match = pattern.exec(this.text);
    if (match === null) return null;
    this.pos = pattern.lastIndex;
    return match[0];
  }

  private skipSpace(): void {
    this.token(JSON_SPACE);
  }

  private eat(c: string): boolean {
    if (this.text[this.pos] !== c) return false;
    this.pos++;
    return true;
  }

  private found(): string {
    const code = this.text.codePointAt(this.pos);
    return code === undefined ? 'the end of the file' : JSON.stringify(String.fromCodePoint(code));
  }

  private fail(reason: string): never {
    throw new JsonSyntaxError(this.pos, reason);
  }
}

function parseYaml(text: string): Parsed {
  // uniqueKeys: a repeated key is an error, not a silent override. Warnings (e.g. an unknown
  // tag) count as errors too: the file is small and should be clean.
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false });
  const problems = [...doc.errors, ...doc.warnings];
  if (problems.length > 0) {
    return { data: undefined, issues: [...unquotedWildcards(text), ...problems.map((e) => yamlIssue(text, e))] };
  }
  // No content at all (empty, or only comments): no rules. An explicit `null` is still an error.
  if (doc.contents === null) return { data: {}, issues: [] };
  try {
    return { data: doc.toJS({ maxAliasCount: MAX_YAML_ALIAS_COUNT }), issues: [] };
  } catch (err) {
    return { data: undefined, issues: [{ path: '', reason: yamlBuildFailure(err) }] };
  }
}

function yamlIssue(text: string, error: YAMLError): ConfigFileIssue {
  const reason = error.code === 'DUPLICATE_KEY' ? 'duplicated mapping key' : error.message;
  return { path: '', reason, ...positionOf(text, error.pos[0]) };
}

/**
 * `*.example.com:` unquoted is an alias in YAML, and the parser's complaints about it ("alias
 * ending in : is ambiguous", bad indentation) do not say what to do: name the cause first.
 */
function unquotedWildcards(text: string): ConfigFileIssue[] {
  const issues: ConfigFileIssue[] = [];
  text.split('\n').forEach((line, i) => {
    const match = /^(\s*)(\*[^\s:]*)\s*:/.exec(line);
    if (match) {
      issues.push({
        path: '',
        reason: `the key ${match[2]} must be quoted in YAML ("*" starts an alias): write "${match[2]}":`,
        line: i + 1,
        column: match[1].length + 1,
      });
    }
  });
  return issues;
}

function yamlBuildFailure(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  if (/excessive alias count/i.test(message)) {
    return `too many alias (*name) expansions; at most ${MAX_YAML_ALIAS_COUNT} are allowed`;
  }
  return message;
}

// ---------------------------------------------------------------------------------------------
// Validation

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** `domains["*.example.com"].delays[1]`: domain keys are always quoted, they contain dots. */
function keyPath(segments: readonly PropertyKey[]): string {
  return segments
    .map((segment, i) => {
      if (typeof segment === 'number') return `[${segment}]`;
      const name = String(segment);
      const isDomainKey = i === 1 && segments[0] === 'domains';
      if (IDENTIFIER.test(name) && !isDomainKey) return i === 0 ? name : `.${name}`;
      return `[${JSON.stringify(name)}]`;
    })
    .join('');
}

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
  },
  { error: objectError('profile, delays or deadline', 'a rule such as { "profile": "bulk" }') },
);

const FileSchema = z.strictObject(
  {
    // null too: in YAML, `domains:` with every entry commented out reads as null.
    domains: z
      .record(z.string(), z.unknown(), {
        error: (issue) => `expected a mapping from domain to rule, got ${shown(issue.input)}`,
      })
      .nullish(),
  },
  { error: objectError('domains', 'an object with a "domains" mapping') },
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

function validateConfig(data: unknown): { rules: DomainRule[]; issues: ConfigFileIssue[] } {
  const top = FileSchema.safeParse(data);
  if (!top.success) return { rules: [], issues: zodIssues(top.error.issues, []) };
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
  return { rules: issues.length > 0 ? [] : rules, issues };
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
  if (Object.keys(given).length === 0) {
    return { rule: null, issues: [{ path: keyPath(base), reason: 'empty rule: give a profile, delays and/or a deadline' }] };
  }
  try {
    const { schedule, profile } = resolveSchedule(given);
    return { rule: { pattern: normaliseDomainKey(key), schedule, profile, given }, issues: [] };
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
