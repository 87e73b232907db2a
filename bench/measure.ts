// Measuring helpers: percentiles, bounded and paced submission, /proc readings (CPU ticks,
// RSS) and the machine description. Linux only (/proc), like the bench machine.
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';

// ---------------------------------------------------------------- statistics

/** Nearest-rank percentile of unsorted numbers; null for an empty list. */
function percentile(values: number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

export interface Summary {
  n: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
  mean: number | null;
}

export function summarize(values: number[]): Summary {
  const mean = values.length === 0 ? null : values.reduce((a, b) => a + b, 0) / values.length;
  return {
    n: values.length,
    p50: percentile(values, 50),
    p95: percentile(values, 95),
    p99: percentile(values, 99),
    max: values.length === 0 ? null : Math.max(...values),
    mean,
  };
}

export const round = (x: number | null | undefined, digits = 1): number | null =>
  x === null || x === undefined || !Number.isFinite(x) ? null : Math.round(x * 10 ** digits) / 10 ** digits;

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- submission

/** Runs fn over items with at most `limit` in flight; resolves when all have settled. */
export async function runBounded<T>(items: T[], limit: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

/**
 * Open-loop pacing: starts item i at start + i / ratePerSecond, whatever the earlier ones do
 * (capped at `maxInFlight` so a stalled system cannot pile up unbounded work).
 */
export async function runPaced<T>(items: T[], ratePerSecond: number, maxInFlight: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  const start = performance.now();
  const running = new Set<Promise<void>>();
  for (let i = 0; i < items.length; i++) {
    const due = start + (i * 1000) / ratePerSecond;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    while (running.size >= maxInFlight) await Promise.race(running);
    const p: Promise<void> = fn(items[i]!, i).finally(() => running.delete(p));
    running.add(p);
  }
  await Promise.all(running);
}

/** Polls `check` every `everyMs` until it returns true or `timeoutMs` passes; returns whether it did. */
export async function waitFor(check: () => Promise<boolean>, timeoutMs: number, everyMs = 200): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= until) return false;
    await sleep(everyMs);
  }
}

// ---------------------------------------------------------------- /proc

let clockTicks: number | null = null;
function ticksPerSecond(): number {
  if (clockTicks === null) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

interface ProcStat {
  pid: number;
  comm: string;
  ppid: number;
  /** utime + stime, in seconds. */
  cpuSeconds: number;
  /** cutime + cstime: children that exited and were waited for, in seconds. */
  childrenCpuSeconds: number;
}

function readStat(pid: number | 'self'): ProcStat | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm is in parentheses and may contain spaces: split after the last ')'.
    const close = text.lastIndexOf(')');
    const comm = text.slice(text.indexOf('(') + 1, close);
    const fields = text.slice(close + 2).split(' ');
    // fields[0] is state (field 3); utime is field 14, stime field 15.
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    const cutime = Number(fields[13]);
    const cstime = Number(fields[14]);
    return {
      pid: Number(text.slice(0, text.indexOf(' '))),
      comm,
      ppid: Number(fields[1]),
      cpuSeconds: (utime + stime) / ticksPerSecond(),
      childrenCpuSeconds: (cutime + cstime) / ticksPerSecond(),
    };
  } catch {
    return null;
  }
}

/** One reading of every process in /proc (those that vanish while it is read are skipped). */
function allStats(): ProcStat[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map((d) => readStat(Number(d)))
    .filter((s): s is ProcStat => s !== null);
}

/** CPU seconds (user + system) used so far by a process and all its descendants. */
function treeCpuSeconds(stats: ProcStat[], rootPid: number): number {
  const byPid = new Map<number, ProcStat>();
  const children = new Map<number, ProcStat[]>();
  for (const s of stats) {
    byPid.set(s.pid, s);
    const list = children.get(s.ppid) ?? [];
    list.push(s);
    children.set(s.ppid, list);
  }
  let total = 0;
  const stack = [rootPid];
  const seen = new Set<number>();
  while (stack.length > 0) {
    const pid = stack.pop()!;
    if (seen.has(pid)) continue;
    seen.add(pid);
    const s = byPid.get(pid);
    if (s) total += s.cpuSeconds;
    for (const c of children.get(pid) ?? []) stack.push(c.pid);
  }
  return total;
}

/**
 * CPU seconds used so far by the PostgreSQL cluster (all databases): every live `postgres`
 * process, plus what the backends that already exited used (the postmaster's cutime/cstime), so
 * the figure only grows while connections come and go.
 */
function postgresCpuSeconds(stats: ProcStat[]): number {
  let total = 0;
  for (const s of stats) if (s.comm.startsWith('postgres')) total += s.cpuSeconds + s.childrenCpuSeconds;
  return total;
}

/** Busy and stolen CPU seconds of the whole machine (all cores), from /proc/stat. */
function machineSeconds(): { busy: number; steal: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal
  const busy = v[0]! + v[1]! + v[2]! + v[5]! + v[6]!;
  return { busy: busy / ticksPerSecond(), steal: (v[7] ?? 0) / ticksPerSecond() };
}

/**
 * CPU seconds used so far by each of `pids` and its descendants, from one reading of /proc: for
 * runs with several worker processes, whose CPU is summed and also shown per process.
 */
export function cpuSecondsOf(pids: number[]): number[] {
  const stats = allStats();
  return pids.map((pid) => treeCpuSeconds(stats, pid));
}

/** Resident set size in MB from /proc/PID/status (VmRSS), null when the process is gone. */
export function rssMb(pid: number | 'self'): number | null {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

export interface CpuProcesses {
  server: number | null;
  worker: number | null;
  sink: number | null;
}

export interface CpuSnapshot {
  atMs: number;
  server: number;
  worker: number;
  sink: number;
  bench: number;
  postgres: number;
  machine: number;
  steal: number;
}

export function cpuSnapshot(p: CpuProcesses): CpuSnapshot {
  const atMs = performance.now();
  const stats = allStats();
  return {
    atMs,
    server: p.server ? treeCpuSeconds(stats, p.server) : 0,
    worker: p.worker ? treeCpuSeconds(stats, p.worker) : 0,
    sink: p.sink ? treeCpuSeconds(stats, p.sink) : 0,
    bench: readStat('self')?.cpuSeconds ?? 0,
    postgres: postgresCpuSeconds(stats),
    ...(({ busy, steal }) => ({ machine: busy, steal }))(machineSeconds()),
  };
}

/** CPU use between two snapshots, in % of one core (200 % = both cores of a 2-core machine). */
export interface CpuUse {
  seconds: number;
  serverPct: number;
  workerPct: number;
  sinkPct: number;
  benchPct: number;
  postgresPct: number;
  /** Every process on the machine, ours or not (user + system + irq). */
  machinePct: number;
  /** The machine minus the processes above: other people's work on a shared machine. */
  otherPct: number;
  /** Time the hypervisor gave to other guests while this one wanted to run. */
  stealPct: number;
}

export function cpuBetween(a: CpuSnapshot, b: CpuSnapshot): CpuUse {
  const seconds = (b.atMs - a.atMs) / 1000;
  const pct = (x: number, y: number): number => (seconds > 0 ? Math.round(((y - x) / seconds) * 1000) / 10 : 0);
  const use = {
    seconds: Math.round(seconds * 10) / 10,
    serverPct: pct(a.server, b.server),
    workerPct: pct(a.worker, b.worker),
    sinkPct: pct(a.sink, b.sink),
    benchPct: pct(a.bench, b.bench),
    postgresPct: pct(a.postgres, b.postgres),
    machinePct: pct(a.machine, b.machine),
    otherPct: 0,
    stealPct: pct(a.steal, b.steal),
  };
  const ours = use.serverPct + use.workerPct + use.sinkPct + use.benchPct + use.postgresPct;
  use.otherPct = Math.max(0, Math.round((use.machinePct - ours) * 10) / 10);
  return use;
}

// ---------------------------------------------------------------- machine

export interface Machine {
  cores: number;
  memoryGb: number;
  cpuModel: string;
  node: string;
  platform: string;
}

export function machine(): Machine {
  const cpus = os.cpus();
  return {
    cores: os.availableParallelism?.() ?? cpus.length,
    memoryGb: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    node: process.version,
    platform: `${os.type()} ${os.release()}`,
  };
}
