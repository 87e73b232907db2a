// The commands that run Rebound on this machine (README "Two commands", "Configuration" and "The
// bounce simulator"): `rebound config check` validates what they would load, `worker` runs a
// worker, `sink` the bounce simulator (defined in src/sink/main.ts), `dev` the whole stack and
// `demo` the demo batch on it. They load the configuration themselves and need no client.
import type { Command } from 'commander';
import { loadConfig } from '../config';
import { formatDuration } from '../delivery/duration';
import { ConfigFileError, formatIssue } from '../domains/config-file';
import { defineSinkCommand } from '../sink/main';
import { exitCodeFor, reportFailure, printJson, table } from './output';

export function addConfigCommand(program: Command): void {
  const config = program.command('config').description('the configuration: environment and configuration file');
  config
    .command('check')
    .description('validate the environment and the configuration file (REBOUND_CONFIG) and show the domain rules')
    .option('--json', 'print JSON')
    .action((o) => {
      try {
        const c = loadConfig();
        const rules = c.domains.map((d) => ({ domain: d.pattern, profile: d.profile, delays: d.schedule.delaysMs.map(formatDuration), deadline: formatDuration(d.schedule.deadlineMs) }));
        if (o.json) return printJson({ ok: true, file: c.configFile, domains: rules });
        process.stdout.write(`configuration ok${c.configFile ? `: ${c.configFile}` : ' (no configuration file: every recipient follows the default profile)'}\n`);
        if (rules.length > 0) process.stdout.write(`${table([['DOMAIN', 'PROFILE', 'DELAYS', 'DEADLINE'], ...rules.map((r) => [r.domain, r.profile, r.delays.join(','), r.deadline])])}\n`);
      } catch (err) {
        // Every problem of the file at once, so one run of the check fixes them all.
        if (err instanceof ConfigFileError && !o.json && err.issues.length > 1) {
          process.stderr.write(`${err.issues.map((issue) => `error: ${formatIssue(err.file, issue)}`).join('\n')}\n`);
          process.exit(1);
        }
        reportFailure(err, !!o.json);
        process.exit(exitCodeFor(err));
      }
    });
}

export function addStackCommands(program: Command): void {
  program
    .command('worker')
    .description('run a worker: the delivery and reputation workflows and their activities')
    .action(async () => {
      const { runWorkerProcess } = await import('../worker/main.js');
      await runWorkerProcess(loadConfig());
    });

  // options, the scenario list in its --help and the action: src/sink/main.ts
  defineSinkCommand(program.command('sink'));

  program
    .command('dev')
    .description('start (or reuse) the Temporal dev server with its UI, the database, the sink and a worker; Ctrl-C stops what it started')
    .action(async () => {
      const { runDev } = await import('../dev/dev.js');
      await runDev(loadConfig());
    });

  program
    .command('demo')
    .description('start the dev stack, send a batch covering every simulator scenario and follow it to the end')
    .option('--exit', 'exit when every message is final instead of keeping the stack up')
    .option('--json', 'print the summary as JSON')
    .option('--direct', 'direct delivery instead (README "Direct demo"): a local DNS server and two MX hosts, one of them rate-limiting like Gmail, its site suspended and reopened')
    .action(async (o) => {
      const opts = { exit: !!o.exit || !process.stdout.isTTY, json: !!o.json };
      if (o.direct) {
        // The environment's configuration, with the demo's own network and configuration file in place of the delivery settings and REBOUND_CONFIG's.
        const { runDirectDemo } = await import('../dev/demo-direct.js');
        const result = await runDirectDemo(loadConfig(), opts);
        if (result.mismatches.length > 0) process.exitCode = 1;
        return;
      }
      const { runDemo } = await import('../dev/demo.js');
      await runDemo(loadConfig(), opts);
    });
}
