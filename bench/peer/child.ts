// Starts the pg-boss peer's worker (worker-child.ts) as a child process of the bench, with
// Rebound's worker flags, and registers it with the bench's cleanup.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { WORKER_NODE_FLAGS } from '../../src/worker/worker';
import type { Cleanup } from '../stack';

export interface PeerChild {
  pid: number;
  stop(): Promise<void>;
}

export async function startPeerChild(databaseUrl: string, smtpUrl: string, cleanup: Cleanup): Promise<PeerChild> {
  const child = spawn(process.execPath, [...WORKER_NODE_FLAGS, path.join(__dirname, 'worker-child.js'), databaseUrl, smtpUrl], { stdio: ['pipe', 'pipe', 'pipe'] });
  const stop = cleanup.child(`pg-boss peer ${child.pid}`, child, 15_000);
  let stderr = '';
  // Its errors (pino JSON) go on to the bench's stderr, and the last of them into a failure.
  child.stderr!.on('data', (c: Buffer) => {
    stderr = (stderr + c.toString()).slice(-4000);
    process.stderr.write(c);
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the pg-boss peer was not ready within 60 s: ${stderr}`)), 60_000);
    child.stdout!.once('data', () => {
      clearTimeout(timer);
      resolve();
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the pg-boss peer exited with code ${code}: ${stderr}`));
    });
  });
  return { pid: child.pid!, stop };
}
