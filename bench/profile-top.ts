// `node dist/bench/profile-top.js DIR [options]`: where a worker's CPU went, read from the V8 CPU
// profiles that `npm run bench -- --cpu-prof DIR` leaves (one .cpuprofile per thread of the
// worker: the main thread runs the activities and the SDK's JavaScript, the workflow threads run
// the workflow bundle). Prints the top self-time and inclusive-time functions and the share of
// each group: a package under node_modules, node's internals, V8 (GC, compiled code's
// "(program)"), Rebound's own src/<capability>, activities and workflows (README-profile.md).
//
// A .cpuprofile is JSON: `nodes` (id, callFrame {functionName, url, lineNumber}, hitCount,
// children), `samples` (the node on top of the stack at each tick) and `timeDeltas` (µs between
// ticks), `startTime` and `endTime` (µs, one monotonic clock for every thread of a process).
// A builtin with no url of its own (JSON.stringify, a RegExp's exec) is counted in the group of
// the JavaScript that called it: pino's JSON.stringify is pino's cost.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
  children?: number[];
}
export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface Row {
  name: string;
  ms: number;
  /** Share of the non-idle sampled time, %. */
  pct: number;
}
export interface FunctionRow extends Row {
  group: string;
  where: string;
}
export interface Top {
  files: { file: string; thread: string; sampledMs: number; idleMs: number }[];
  window: { name: string; fromMs: number; toMs: number } | null;
  /** Sampled time on a JavaScript thread that was not idle, ms: the total the shares are of. */
  busyMs: number;
  perMessage: number | null;
  groupsSelf: Row[];
  groupsInclusive: Row[];
  functionsSelf: FunctionRow[];
  functionsInclusive: FunctionRow[];
}

const SPECIAL: Record<string, string> = {
  '(garbage collector)': 'v8: garbage collector',
  '(program)': 'v8: (program), native and compiled code outside JavaScript',
  '(root)': 'v8: (program), native and compiled code outside JavaScript',
};

/**
 * Where each module of the workflow bundle starts: webpack writes a line of three stars between
 * slashes and the module's path in quotes ("./dist/workflows/index.js", "./node_modules/...")
 * before each module's code. Sorted by line (1-based).
 */
export type BundleModules = { line: number; module: string }[];

export function bundleModules(code: string): BundleModules {
  const out: BundleModules = [];
  const lines = code.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^\/\*\*\*\/ "([^"]+)"/.exec(lines[i]!);
    if (m) out.push({ line: i + 1, module: m[1]! });
  }
  return out;
}

/** The group of a line of the workflow bundle: the module it is in, as groupOf names a file. */
function bundleGroup(modules: BundleModules, line: number, projectRoot: string): string {
  let lo = 0;
  let hi = modules.length - 1;
  let at = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (modules[mid]!.line <= line) {
      at = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  if (at < 0) return 'workflow bundle: webpack runtime';
  const file = path.join(projectRoot, modules[at]!.module.replace(/^\.\//, '').replace(/^\.\.\/.*?node_modules\//, 'node_modules/'));
  const g = groupOf(file, projectRoot, null);
  return `workflow bundle: ${g}`;
}

/** The group a script belongs to, from its url; null for a frame with no url (a builtin). */
export function groupOf(url: string, projectRoot: string, modules: BundleModules | null, line = 0): string | null {
  if (!url) return null;
  if (modules && url.includes('workflow-bundle')) return bundleGroup(modules, line, projectRoot);
  const file = url.startsWith('file://') ? decodeURIComponent(new URL(url).pathname) : url;
  const nm = file.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const parts = file.slice(nm + '/node_modules/'.length).split('/');
    return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  if (file.includes('workflow-bundle')) return 'workflow bundle';
  // The SDK's own scripts in the workflow sandbox (vm.runInContext of a string) have no file.
  if (file.startsWith('evalmachine')) return '@temporalio/worker';
  if (file.startsWith('node:') || file.startsWith('internal/')) return 'node internals';
  if (!file.startsWith('/')) return 'other (eval, native)';
  const rel = path.relative(projectRoot, file).replace(/^dist\//, '');
  if (rel.startsWith('..')) return 'other';
  const [top, sub] = rel.split('/');
  if (top === 'src' && sub && !sub.endsWith('.js')) return `rebound src/${sub}`;
  if (top === 'src' || top === 'activities' || top === 'workflows' || top === 'bin') return `rebound ${top}`;
  if (top === 'bench') return 'bench (preload)';
  return `rebound ${top}`;
}

function round(n: number, d = 1): number {
  const f = 10 ** d;
  return Math.round(n * f) / f;
}

/** CPU.<date>.<time>.<pid>.<tid>.<seq>.cpuprofile: the pid and thread id, from node's default name. */
function threadOf(file: string): { pid: string; tid: string } {
  const parts = path.basename(file).split('.');
  return { pid: parts[3] ?? '?', tid: parts[4] ?? '?' };
}

export function analyse(
  profiles: { file: string; profile: CpuProfile }[],
  opts: { projectRoot: string; bundle?: BundleModules | null; window?: { name: string; fromMs: number; toMs: number } | null; top?: number; perMessage?: number | null },
): Top {
  const top = opts.top ?? 10;
  const window = opts.window ?? null;
  // Every thread of a process shares one clock; the earliest start is (about) the spawn, which
  // windows.json counts from.
  const origin = new Map<string, number>();
  for (const { file, profile } of profiles) {
    const { pid } = threadOf(file);
    origin.set(pid, Math.min(origin.get(pid) ?? Infinity, profile.startTime));
  }
  const selfByFn = new Map<string, { ms: number; group: string; name: string; where: string }>();
  const names = new Map<string, { group: string; name: string; where: string }>();
  const inclByFn = new Map<string, number>();
  const selfByGroup = new Map<string, number>();
  const inclByGroup = new Map<string, number>();
  const files: Top['files'] = [];
  let busyMs = 0;
  for (const { file, profile } of profiles) {
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    const parent = new Map<number, number>();
    for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    // Per node: its function key, group (a builtin takes its caller's), and the keys and groups on its stack.
    const info = new Map<number, { key: string; group: string; name: string; where: string; fns: Set<string>; groups: Set<string>; idle: boolean }>();
    const resolve = (id: number): NonNullable<ReturnType<typeof info.get>> => {
      const known = info.get(id);
      if (known) return known;
      const n = byId.get(id)!;
      const up = parent.has(id) ? resolve(parent.get(id)!) : null;
      const cf = n.callFrame;
      const special = SPECIAL[cf.functionName];
      const group = special ?? groupOf(cf.url, opts.projectRoot, opts.bundle ?? null, cf.lineNumber + 1) ?? (up && !up.idle && up.group !== SPECIAL['(root)'] ? up.group : 'v8: builtins called from native code');
      const name = cf.functionName || '(anonymous)';
      const where = cf.url ? `${path.relative(opts.projectRoot, cf.url.replace(/^file:\/\//, '')) || cf.url}:${cf.lineNumber + 1}` : '(builtin)';
      const key = `${name} ${where}:${cf.columnNumber}`;
      names.set(key, { group, name, where });
      const fns = new Set(up?.fns ?? []);
      const groups = new Set(up?.groups ?? []);
      if (!special) {
        fns.add(key);
        groups.add(group);
      }
      const me = { key, group, name, where, fns, groups, idle: cf.functionName === '(idle)' };
      info.set(id, me);
      return me;
    };
    const { pid, tid } = threadOf(file);
    const start = origin.get(pid) ?? profile.startTime;
    let t = profile.startTime;
    let sampled = 0;
    let idle = 0;
    for (let i = 0; i < profile.samples.length; i++) {
      t += profile.timeDeltas[i] ?? 0;
      // A tick stands for the time until the next one.
      const ms = (profile.timeDeltas[i + 1] ?? 0) / 1000;
      const atMs = (t - start) / 1000;
      if (window && (atMs < window.fromMs || atMs > window.toMs)) continue;
      const n = resolve(profile.samples[i]!);
      sampled += ms;
      if (n.idle) {
        idle += ms;
        continue;
      }
      busyMs += ms;
      const self = selfByFn.get(n.key) ?? { ms: 0, group: n.group, name: n.name, where: n.where };
      self.ms += ms;
      selfByFn.set(n.key, self);
      selfByGroup.set(n.group, (selfByGroup.get(n.group) ?? 0) + ms);
      for (const k of n.fns) inclByFn.set(k, (inclByFn.get(k) ?? 0) + ms);
      const groups = n.groups.size > 0 ? n.groups : new Set([n.group]);
      for (const g of groups) inclByGroup.set(g, (inclByGroup.get(g) ?? 0) + ms);
    }
    files.push({ file: path.basename(file), thread: `pid ${pid} thread ${tid}`, sampledMs: round(sampled), idleMs: round(idle) });
  }
  const pct = (ms: number): number => (busyMs > 0 ? round((100 * ms) / busyMs) : 0);
  const rows = (m: Map<string, number>): Row[] =>
    [...m.entries()].sort((a, b) => b[1] - a[1]).map(([name, ms]) => ({ name, ms: round(ms), pct: pct(ms) }));
  const fnRow = (key: string, ms: number): FunctionRow => {
    const s = names.get(key)!;
    return { name: s.name, where: s.where, group: s.group, ms: round(ms), pct: pct(ms) };
  };
  const inclusive = [...inclByFn.entries()].sort((a, b) => b[1] - a[1]);
  return {
    files,
    window,
    busyMs: round(busyMs),
    perMessage: opts.perMessage ?? null,
    groupsSelf: rows(selfByGroup),
    groupsInclusive: rows(inclByGroup),
    functionsSelf: [...selfByFn.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, top).map(([k, v]) => fnRow(k, v.ms)),
    functionsInclusive: inclusive.slice(0, top * 3).map(([k, ms]) => fnRow(k, ms)),
  };
}

function table(r: Top): string {
  const per = (ms: number): string => (r.perMessage ? (ms / r.perMessage).toFixed(2).padStart(8) : '');
  const perHead = r.perMessage ? '  ms/msg' : '';
  const out: string[] = [];
  out.push(`window: ${r.window ? `${r.window.name}, ${(r.window.fromMs / 1000).toFixed(1)}-${(r.window.toMs / 1000).toFixed(1)} s after the worker started` : 'the whole profile'}`);
  for (const f of r.files) out.push(`  ${f.file}: ${f.sampledMs.toFixed(0)} ms sampled, ${f.idleMs.toFixed(0)} ms idle`);
  out.push(`busy (sampled, not idle): ${r.busyMs.toFixed(0)} ms${r.perMessage ? `, ${(r.busyMs / r.perMessage).toFixed(2)} ms per message over ${r.perMessage}` : ''}`, '');
  const section = (title: string, rows: Row[], name: (x: Row) => string): void => {
    out.push(title, `${'   ms'.padStart(9)}  ${'%'.padStart(5)}${perHead}  what`);
    for (const x of rows) out.push(`${x.ms.toFixed(0).padStart(9)}  ${x.pct.toFixed(1).padStart(5)}${per(x.ms)}  ${name(x)}`);
    out.push('');
  };
  section('groups, self time', r.groupsSelf, (x) => x.name);
  section('groups, inclusive (a sample counts for every group on its stack)', r.groupsInclusive, (x) => x.name);
  section('functions, self time', r.functionsSelf, (x) => `${x.name}  [${(x as FunctionRow).group}]  ${(x as FunctionRow).where}`);
  section('functions, inclusive', r.functionsInclusive, (x) => `${x.name}  [${(x as FunctionRow).group}]  ${(x as FunctionRow).where}`);
  return out.join('\n');
}

const USAGE = `usage: node dist/bench/profile-top.js DIR|FILE... [--window NAME|all] [--top N] [--per-message N] [--json]
  DIR        a worker's directory from npm run bench -- --cpu-prof (its .cpuprofile files and windows.json)
  --window   the span of windows.json to read (default delivered-full-speed when it is there; all: the whole profile)
  --per-message N   also print milliseconds per message, over N messages
  --bundle FILE|build   the worker's workflow bundle (build: bundle the workflows as the worker does), to
             split the "workflow bundle" group by module (Rebound's workflows, its src/ policy, @temporalio/workflow)
  --json     one JSON object instead of the table`;

/** The workflow bundle as the worker builds it (src/worker/worker.ts: the workflows and the data converter). */
async function buildBundle(): Promise<string> {
  // Loaded here only: the SDK's bundler is heavy, and reading a profile does not need it.
  const { bundleWorkflowCode } = require('@temporalio/worker') as typeof import('@temporalio/worker');
  const { WORKFLOWS_PATH } = require('../src/worker/worker') as typeof import('../src/worker/worker');
  const { dataConverterOption } = require('../src/codec/data-converter') as typeof import('../src/codec/data-converter');
  const { loadConfig } = require('../src/config') as typeof import('../src/config');
  const silent = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };
  const bundle = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, ...dataConverterOption(loadConfig().payloadKeys).dataConverter, logger: silent });
  return bundle.code;
}

async function main(argv: string[]): Promise<void> {
  const inputs: string[] = [];
  let windowName: string | null = null;
  let topN = 10;
  let perMessage: number | null = null;
  let json = false;
  let bundleArg: string | null = null;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--window') windowName = argv[++i] ?? null;
    else if (a === '--top') topN = Number(argv[++i]);
    else if (a === '--per-message') perMessage = Number(argv[++i]);
    else if (a === '--json') json = true;
    else if (a === '--bundle') bundleArg = argv[++i] ?? null;
    else if (a === '--help' || a === '-h') return void process.stdout.write(USAGE + '\n');
    else if (a.startsWith('--')) throw new Error(`unknown option ${a}\n${USAGE}`);
    else inputs.push(a);
  }
  if (inputs.length === 0) throw new Error(USAGE);
  if (!Number.isInteger(topN) || topN <= 0) throw new Error('--top needs a positive integer');
  if (perMessage !== null && !(perMessage > 0)) throw new Error('--per-message needs a positive number');
  const files: string[] = [];
  let windows: { name: string; fromMs: number; toMs: number }[] = [];
  for (const input of inputs) {
    if (statSync(input).isDirectory()) {
      for (const f of readdirSync(input).sort()) if (f.endsWith('.cpuprofile')) files.push(path.join(input, f));
      const w = path.join(input, 'windows.json');
      try {
        windows = (JSON.parse(readFileSync(w, 'utf8')) as { windows: typeof windows }).windows;
      } catch {
        // No windows.json: the whole profile.
      }
    } else files.push(input);
  }
  if (files.length === 0) throw new Error(`no .cpuprofile in ${inputs.join(', ')}: did the worker exit (the profile is written on exit)?`);
  const wanted = windowName ?? (windows.some((w) => w.name === 'delivered-full-speed') ? 'delivered-full-speed' : 'all');
  const window = wanted === 'all' ? null : (windows.find((w) => w.name === wanted) ?? null);
  if (wanted !== 'all' && !window) throw new Error(`no window "${wanted}" in windows.json (there: ${windows.map((w) => w.name).join(', ') || 'none'})`);
  const profiles = files.map((file) => ({ file, profile: JSON.parse(readFileSync(file, 'utf8')) as CpuProfile }));
  const bundle = bundleArg === null ? null : bundleModules(bundleArg === 'build' ? await buildBundle() : readFileSync(bundleArg, 'utf8'));
  const result = analyse(profiles, { projectRoot: path.resolve(__dirname, '../..'), bundle, window, top: topN, perMessage });
  process.stdout.write((json ? JSON.stringify(result, null, 2) : table(result)) + '\n');
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(1);
  });
}
