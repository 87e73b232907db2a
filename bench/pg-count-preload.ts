// Loaded with `node -r` into the bench's worker processes: counts every statement the process
// sends to PostgreSQL, and apart from the rest those that read or write a site table (sites,
// site_*: README "Traffic shaping"), with the time each took from the call to its result. It
// wraps pg's Client.prototype.query, under every pool and client of the process, so it counts
// whatever code asks — the shaping code of any version — without knowing it. The bench asks
// for the totals over the IPC channel ('pg-counts') before and after a batch (scenario 9).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const pg = require('pg') as typeof import('pg');
import { siteTablesOf } from './site-statements';

export interface StatementCounts {
  statements: number;
  ms: number;
  siteStatements: number;
  siteMs: number;
  /** The site tables the counted statements named, e.g. ["site_suspensions"]. */
  siteTables: string[];
}


const counts = { statements: 0, ms: 0, siteStatements: 0, siteMs: 0, siteTables: new Set<string>() };

function textOf(config: unknown): string {
  if (typeof config === 'string') return config;
  if (config && typeof (config as { text?: unknown }).text === 'string') return (config as { text: string }).text;
  return '';
}

const original = pg.Client.prototype.query as (...args: unknown[]) => unknown;
(pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown }).query = function (this: unknown, ...args: unknown[]) {
  const tables = siteTablesOf(textOf(args[0]));
  const site = tables.length > 0;
  for (const t of tables) counts.siteTables.add(t);
  const t0 = process.hrtime.bigint();
  const done = (): void => {
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    counts.statements += 1;
    counts.ms += ms;
    if (site) {
      counts.siteStatements += 1;
      counts.siteMs += ms;
    }
  };
  // pg-pool calls query(text, values, callback); direct callers get a promise.
  const last = args.length - 1;
  if (typeof args[last] === 'function') {
    const callback = args[last] as (...r: unknown[]) => unknown;
    args[last] = (...r: unknown[]) => {
      done();
      return callback(...r);
    };
    return original.apply(this, args);
  }
  const result = original.apply(this, args) as { then?: (a: () => void, b: () => void) => unknown } | undefined;
  if (result && typeof result.then === 'function') result.then(done, done);
  else done();
  return result;
};

process.on('message', (m: unknown) => {
  if (m !== 'pg-counts' || !process.send) return;
  const reply: StatementCounts = { statements: counts.statements, ms: counts.ms, siteStatements: counts.siteStatements, siteMs: counts.siteMs, siteTables: [...counts.siteTables].sort() };
  process.send({ pgCounts: reply });
});
// The channel must not keep the worker alive once it has shut down: unref it after the tick in
// which Node refs it for the listener above, and close it when the worker is told to stop.
setImmediate(() => (process.channel as { unref?: () => void } | undefined)?.unref?.());
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    if (process.connected) process.disconnect();
  });
}
