// Reading a configuration file's text into data (README "Retry policy per domain"), each problem
// with its line and column. JSON goes through a hand-written strict checker first: JSON.parse lets
// a repeated key silently replace the earlier one, and in Node 20 many of its syntax errors carry
// no position. YAML is parsed with unique keys, and the parser's positions are turned into lines.
import { parseDocument, type YAMLError } from 'yaml';
import type { ConfigFileIssue } from './config-file';
import { keyPath } from './config-schema';

/**
 * YAML anchors may be reused (one rule for many domains), but each alias expands a whole node:
 * this caps the expansion so a small file cannot blow up into a huge object.
 */
const MAX_YAML_ALIAS_COUNT = 1000;
/** A valid file is 4 levels deep; the cap keeps the recursive JSON check off the stack limit. */
const MAX_JSON_DEPTH = 64;
/**
 * A YAML file that may nest deeper than this is refused before it is parsed: the yaml parser
 * recurses once per level, a few hundred levels overflow its stack, and after such overflows
 * V8 has been seen to abort the whole process (out of memory compiling a pattern). The bound is
 * an over-estimate of the depth (indentation columns, compact `- ` indicators and open brackets
 * all count), far above any real configuration and below the overflow.
 */
const MAX_YAML_NESTING = 256;

export interface Parsed {
  data: unknown;
  issues: ConfigFileIssue[];
}

/** 1-based line and column of a character offset. */
function positionOf(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, Math.max(0, Math.min(offset, text.length)));
  const lineStart = before.lastIndexOf('\n') + 1;
  return { line: before.split('\n').length, column: before.length - lineStart + 1 };
}

export function parseJson(text: string): Parsed {
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

export function parseYaml(text: string): Parsed {
  const tooDeep = yamlTooDeep(text);
  if (tooDeep) return { data: undefined, issues: [tooDeep] };
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

/** The first line whose estimated nesting (see MAX_YAML_NESTING) is over the bound, as an issue. */
function yamlTooDeep(text: string): ConfigFileIssue | null {
  let open = 0;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const indent = /^[ \t]*/.exec(line)![0].length;
    const compact = (/^(?:[-?:][ \t]+)*/.exec(line.slice(indent))![0].match(/[-?:]/g) ?? []).length;
    for (const c of line) {
      if (c === '[' || c === '{') open++;
      else if ((c === ']' || c === '}') && open > 0) open--;
    }
    if (indent + compact + open > MAX_YAML_NESTING) {
      return { path: '', reason: `nested more than ${MAX_YAML_NESTING} levels deep (indentation, "- " and brackets counted)`, line: i + 1, column: 1 };
    }
  }
  return null;
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
