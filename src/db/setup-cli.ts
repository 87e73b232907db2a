// `node dist/src/db/setup-cli.js`: the database step of scripts/setup.sh.
import { loadConfig } from '../config';
import { prepareDatabase } from './setup';

async function main(): Promise<void> {
  const { databaseUrl } = loadConfig();
  const applied = await prepareDatabase(databaseUrl);
  for (const name of applied) process.stderr.write(`[setup] applied migration ${name}\n`);
}

main().catch((err) => {
  process.stderr.write(`[setup] database set-up failed: ${(err as Error).message}\n`);
  process.exit(1);
});
