// `rebound worker` as a child process, for tests that need several workers or a worker they can
// stop, kill and continue: resolved once it logs "worker ready" (REBOUND_LOG_LEVEL info or lower).
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

const BIN = path.resolve(__dirname, '../../../bin/rebound.js');

/** Starts a worker with `env`; `into`, when given, gets the child at once (for the teardown). */
export function startWorkerProcess(env: NodeJS.ProcessEnv, into?: ChildProcess[]): Promise<ChildProcess> {
  const child = spawn(process.execPath, [BIN, 'worker'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  into?.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('"worker ready"')) resolve(child);
      // Keep the buffer small once ready; nothing more is read from it.
      if (out.length > 1_000_000) out = out.slice(-10_000);
    });
    child.once('exit', (code) => reject(new Error(`worker exited with ${code} before it was ready:\n${out.slice(-5_000)}`)));
  });
}
