// The commit a bench run measured, shared by `npm run bench` and `npm run bench:sleeping`.
import { execFileSync } from 'node:child_process';
import { PROJECT_ROOT } from '../src/dev/tools';

/** The commit the bench ran against, "+dirty" when the working tree had changes. */
export function gitCommit(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: PROJECT_ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src', 'workflows', 'activities'], { cwd: PROJECT_ROOT, encoding: 'utf8' }).trim() !== '';
    return dirty ? `${head}+dirty` : head;
  } catch {
    return 'unknown';
  }
}
