// The configuration file (README "Retry policy per domain"): finding it (REBOUND_CONFIG, else
// rebound.config.json|yaml|yml in the working directory), reading it, and the public API:
// loadConfigFile, parseConfigText, ConfigFileError and formatIssue. Read once, synchronously,
// when the process starts; every problem in it is a ConfigFileError naming the file and the key
// path, so a typo stops the process instead of being silently ignored. Reading the text with
// positions is in config-syntax.ts, checking the rules and keys in config-schema.ts, reading the
// DKIM key files (README "DKIM") in config-dkim.ts.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { DkimKey } from '../message/dkim';
import { readDkimKeys } from './config-dkim';
import { validateConfig, type DkimEntry } from './config-schema';
import { parseJson, parseYaml } from './config-syntax';
import type { DomainRule } from './policy';
import type { ShapingConfig } from '../sites/contract';
import { DEFAULT_SHAPING } from '../sites/config-schema';

export type { DomainRule } from './policy';
export type { DkimKey } from '../message/dkim';

/** What the configuration file holds, checked. */
export interface ReboundFileConfig {
  /** The file the rules came from (absolute), or null when there is none. */
  path: string | null;
  domains: DomainRule[];
  /** Signing keys per From domain (README "DKIM"), their files read. */
  dkim: DkimKey[];
  /** The `sites:` section (README "Traffic shaping"): limits per site and the rules, the shipped ones included. */
  shaping: ShapingConfig;
}

/** Names the configuration file explicitly; then it must exist. */
export const CONFIG_FILE_ENV = 'REBOUND_CONFIG';
/** Looked up in the working directory, first found wins, when REBOUND_CONFIG is not set. */
export const DEFAULT_CONFIG_FILES: readonly string[] = ['rebound.config.json', 'rebound.config.yaml', 'rebound.config.yml'];

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
 * The per-domain rules and DKIM keys of the configuration file: the file REBOUND_CONFIG names
 * (relative to `cwd`; it must exist), else the first of {@link DEFAULT_CONFIG_FILES} in `cwd`,
 * else none (`{ path: null, domains: [], dkim: [], shaping: DEFAULT_SHAPING }`). Throws {@link ConfigFileError} for
 * anything wrong with it, a key file that cannot be used included.
 */
export function loadConfigFile(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): ReboundFileConfig {
  const located = locateConfigFile(env, cwd);
  if (located === null) return { path: null, domains: [], dkim: [], shaping: DEFAULT_SHAPING };
  const text = readConfigText(located);
  const sections = parseConfigSections(text, located.display);
  const { keys, issues } = readDkimKeys(sections.dkim, dirname(located.absolute));
  if (issues.length > 0) throw new ConfigFileError(located.display, issues);
  return { path: located.absolute, domains: sections.domains, dkim: keys, shaping: sections.shaping };
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
  return parseConfigSections(text, file).domains;
}

/** {@link parseConfigText}, with the `dkim:` (its key files not read) and `sites:` sections too. */
export function parseConfigSections(text: string, file: string): { domains: DomainRule[]; dkim: DkimEntry[]; shaping: ShapingConfig } {
  const format = formatOf(file);
  if (format === null) {
    throw new ConfigFileError(file, [{ path: '', reason: 'unknown file type: the name must end in .json, .yaml or .yml' }]);
  }
  const source = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const parsed = format === 'json' ? parseJson(source) : parseYaml(source);
  if (parsed.issues.length > 0) throw new ConfigFileError(file, parsed.issues);
  const { rules, dkim, shaping, issues } = validateConfig(parsed.data);
  if (issues.length > 0) throw new ConfigFileError(file, issues);
  return { domains: rules, dkim, shaping };
}
