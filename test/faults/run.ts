// `npm run faults` (node dist/test/faults/run.js): the fault suite from the command line.
//
//   --quick            about 50 messages and the three faults that matter most, under 3 minutes
//   --messages N       messages to send (default 300; 48 with --quick)
//   --faults K         faults to inject (default 16: every kind once, the first five of inject.ts PRIORITY twice; 3 with --quick)
//   --kinds a,b        draw faults from these kinds only (see FAULT_KINDS in inject.ts)
//   --seed S           repeat a run's messages and faults (printed at the start)
//   --workers W        worker processes (default 2)
//   --deadline SECONDS each message's deadline (default 90; 60 with --quick)
//   --drain SECONDS    longest wait for final states after the last fault (default 330; 40 quick)
//   --window MS        how long after a first 250 a worker kill explains a duplicate (default 1000)
//   --json             print the result as one JSON object on stdout (the report goes to stderr)
//   --keep             keep the temp dir (logs of every process) and print where it is
//   --shared-db        no private PostgreSQL cluster: a database of its own on the shared server
//                      (what happens anyway when no cluster can be made), PostgreSQL faults skipped
//
// Exit status: 0 when nothing was lost, nothing duplicated outside the stated window, nothing
// held over 60 s and every final state right; 1 when any of that failed; 2 when the suite
// itself could not run.
import { FAULT_KINDS, type FaultKind } from './inject';
import { runFaultSuite, suiteOptions, type SuiteOptions } from './suite';

function parseArgs(argv: string[]): Partial<SuiteOptions> {
  const out: Partial<SuiteOptions> = {};
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.split('=', 2) as [string, string | undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    const int = (min: number): number => {
      const v = value();
      const n = Number(v);
      if (!Number.isInteger(n) || n < min) throw new Error(`${flag}: expected an integer >= ${min}, got ${v}`);
      return n;
    };
    switch (flag) {
      case '--quick':
        out.quick = true;
        break;
      case '--json':
        (out as { json?: boolean }).json = true;
        break;
      case '--keep':
        out.keep = true;
        break;
      case '--shared-db':
        out.sharedDatabase = true;
        break;
      case '--messages':
        out.messages = int(1);
        break;
      case '--faults':
        out.faults = int(0);
        break;
      case '--seed':
        out.seed = int(0);
        break;
      case '--workers':
        out.workers = int(1);
        break;
      case '--deadline':
        out.deadlineSeconds = int(10);
        break;
      case '--drain':
        out.drainSeconds = int(0);
        break;
      case '--window':
        out.windowMs = int(0);
        break;
      case '--kinds': {
        const kinds = value().split(',').map((k) => k.trim()).filter(Boolean);
        const bad = kinds.filter((k) => !(FAULT_KINDS as readonly string[]).includes(k));
        if (bad.length > 0) throw new Error(`--kinds: unknown ${bad.join(', ')} (kinds: ${FAULT_KINDS.join(', ')})`);
        out.kinds = kinds as FaultKind[];
        break;
      }
      case '--help':
      case '-h':
        process.stdout.write('usage: node dist/test/faults/run.js [--quick] [--messages N] [--faults K] [--kinds a,b] [--seed S] [--workers W] [--deadline S] [--drain S] [--window MS] [--json] [--keep] [--shared-db]\n');
        process.exit(0);
      // falls through (process.exit does not return)
      default:
        throw new Error(`unknown option ${flag} (see --help)`);
    }
  }
  return out;
}

async function main(): Promise<number> {
  let args: Partial<SuiteOptions> & { json?: boolean };
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return 2;
  }
  const opts = suiteOptions(args);
  let result;
  try {
    result = await runFaultSuite(opts);
  } catch (err) {
    process.stderr.write(`the fault suite could not run: ${(err as Error).stack ?? String(err)}\n`);
    return 2;
  }
  if (args.json) {
    process.stderr.write(result.report + '\n');
    process.stdout.write(JSON.stringify(result.json) + '\n');
  } else {
    process.stdout.write(result.report + '\n');
  }
  if (result.info.tempDir) process.stderr.write(`logs kept in ${result.info.tempDir}\n`);
  if (result.leftover.length > 0) {
    process.stderr.write(`processes left running after cleanup: ${result.leftover.join(', ')}\n`);
    return 2;
  }
  return result.verdict.ok && result.surfaces.ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exit(2);
  },
);
