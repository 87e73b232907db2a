// Command-line options of `npm run bench`.
import path from 'node:path';
import type { PersistenceMode } from './stack';
import { positiveInteger } from './entry';

export interface BenchOptions {
  quick: boolean;
  json: boolean;
  messages: number;
  sleeping: number;
  mix: number;
  concurrency: number;
  modes: PersistenceMode[];
  pacedSeconds: number;
  breakdownSample: number;
  sleepSamples: number;
  sleepSampleIntervalSeconds: number;
  /** Scenario 6: attempts and domains the generated rollups stand for, recordAttempt calls per variant. */
  domainAttempts: number;
  domainCount: number;
  domainWrites: number;
  /** Scenario 8: passes of the bounce parser over the corpus (after a warm-up pass). */
  parserPasses: number;
  /** Wall-clock budget; default sizes shrink to fit it, sizes given on the command line do not. */
  budgetSeconds: number;
  /** Sizes given on the command line: run exactly as asked. */
  explicit: { messages: boolean; sleeping: boolean; mix: boolean };
  write: boolean;
  /**
   * Directory for V8 CPU profiles of the bench's worker processes (`node --cpu-prof`), or null
   * (the default: profiling slows the worker). Read them with bench/profile-top.ts.
   */
  cpuProfDir: string | null;
}

const USAGE = `usage: node dist/bench/bench.js [options]
  --quick             small run (up to 100 messages, 200 sleeping, 50 mixed; in-memory server only), < 1 min
  --json              print one JSON object instead of the table
  --messages N        scenario 1 and 2 messages (default 2000, shrunk to fit the budget)
  --sleeping M        scenario 4 sleeping messages (default 20000, shrunk to fit the budget)
  --mix N             scenario 3 messages (default 400, shrunk to fit the budget)
  --budget S          seconds the whole run may take (default 510; --quick: 50). Default sizes are
                      cut to what fits at the rate measured during the warm-up; sizes given with
                      the flags above are run as given
  --concurrency C     send() calls in flight (default 64)
  --domain-attempts N scenario 6: attempts over 7 days the domain rollups stand for (default 1000000; --quick: 50000)
  --domain-count D    scenario 6: recipient domains they go to (default 5000; --quick: 500)
  --modes LIST        file,memory (default both; --quick: memory)
  --no-write          do not write bench/results/latest.json and bench/RESULTS.md
  --cpu-prof DIR      run the worker processes with node --cpu-prof, one subdirectory of DIR per
                      worker; windows.json there says when scenario 2 ran (off by default: the
                      profiler costs the worker CPU). Read with node dist/bench/profile-top.js DIR/...`;

const positive = positiveInteger;

export function parseArgs(argv: string[]): BenchOptions {
  const quick = argv.includes('--quick');
  const o: BenchOptions = {
    quick,
    json: false,
    messages: quick ? 100 : 2000,
    sleeping: quick ? 200 : 20000,
    mix: quick ? 50 : 400,
    concurrency: 64,
    modes: quick ? ['memory'] : ['file', 'memory'],
    pacedSeconds: quick ? 3 : 15,
    breakdownSample: quick ? 20 : 100,
    sleepSamples: quick ? 3 : 5,
    sleepSampleIntervalSeconds: quick ? 1 : 5,
    domainAttempts: quick ? 50_000 : 1_000_000,
    domainCount: quick ? 500 : 5000,
    domainWrites: quick ? 300 : 2000,
    parserPasses: quick ? 3 : 30,
    budgetSeconds: quick ? 50 : 510,
    explicit: { messages: false, sleeping: false, mix: false },
    write: true,
    cpuProfDir: null,
  };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.split('=', 2) as [string, string | undefined];
    const value = (): string | undefined => inline ?? argv[++i];
    switch (flag) {
      case '--quick':
        break;
      case '--json':
        o.json = true;
        break;
      case '--messages':
      case '--sleeping':
      case '--mix': {
        const size = flag.slice(2) as keyof BenchOptions['explicit'];
        o[size] = positive(flag, value());
        o.explicit[size] = true;
        break;
      }
      case '--budget':
        o.budgetSeconds = positive(flag, value());
        break;
      case '--concurrency':
        o.concurrency = positive(flag, value());
        break;
      case '--domain-attempts':
        o.domainAttempts = positive(flag, value());
        break;
      case '--domain-count':
        o.domainCount = positive(flag, value());
        break;
      case '--modes': {
        const modes = (value() ?? '').split(',').map((m) => m.trim()).filter(Boolean);
        if (modes.length === 0 || modes.some((m) => m !== 'file' && m !== 'memory')) throw new Error('--modes takes file, memory or file,memory');
        o.modes = [...new Set(modes)] as PersistenceMode[];
        break;
      }
      case '--cpu-prof': {
        const dir = value();
        if (!dir || dir.startsWith('--')) throw new Error('--cpu-prof needs a directory');
        o.cpuProfDir = path.resolve(dir);
        break;
      }
      case '--no-write':
        o.write = false;
        break;
      case '--help':
      case '-h':
        process.stdout.write(USAGE + '\n');
        process.exit(0);
        break;
      default:
        throw new Error(`unknown option ${flag}\n${USAGE}`);
    }
  }
  return o;
}
