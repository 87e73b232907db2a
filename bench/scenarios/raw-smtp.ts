// Scenario 1, the ceiling: N messages through one pooled nodemailer transport (the worker's own
// transport factory and send function) to the simulator. No Temporal, no database.
import { randomBytes } from 'node:crypto';
import { composeMessage } from '../../src/message/compose';
import { validateSendRequest } from '../../src/message/validate';
import { sendRaw } from '../../src/smtp/send-raw';
import { createSmtpTransport } from '../../src/smtp/transport';
import { request } from '../context';
import { cpuBetween, cpuSnapshot, runBounded, type CpuUse } from '../measure';
import type { RemoteSink } from '../stack';

export interface RawResult {
  n: number;
  concurrency: number;
  seconds: number;
  perSecond: number;
  failed: number;
  cpu: CpuUse;
}

async function compose(ids: string[]): Promise<{ id: string; from: string; to: string; raw: Buffer }[]> {
  return Promise.all(
    ids.map(async (id) => {
      const to = `raw+${id}@example.test`;
      const valid = validateSendRequest(request(id, to));
      const { raw } = await composeMessage(valid, id);
      return { id, from: valid.from.address, to, raw };
    }),
  );
}

export async function runRawSmtp(sink: RemoteSink, n: number, concurrency: number, log: (m: string) => void): Promise<RawResult> {
  const tag = randomBytes(3).toString('hex');
  const warm = await compose(Array.from({ length: Math.min(50, n) }, (_, i) => `raw-${tag}-w${i}`));
  const messages = await compose(Array.from({ length: n }, (_, i) => `raw-${tag}-${i}`));
  const transport = createSmtpTransport(sink.url);
  let failed = 0;
  const sendOne = async (m: { from: string; to: string; raw: Buffer }): Promise<void> => {
    const [reply] = await sendRaw(transport, { from: m.from, recipients: [m.to], raw: m.raw });
    if (reply?.reply.code !== 250) failed++;
  };
  try {
    await runBounded(warm, concurrency, sendOne);
    failed = 0;
    const procs = { server: null, worker: null, sink: sink.pid };
    const before = cpuSnapshot(procs);
    const t0 = performance.now();
    await runBounded(messages, concurrency, sendOne);
    const seconds = (performance.now() - t0) / 1000;
    const cpu = cpuBetween(before, cpuSnapshot(procs));
    log(`raw SMTP: ${n} messages in ${seconds.toFixed(2)} s`);
    return { n, concurrency, seconds, perSecond: n / seconds, failed, cpu };
  } finally {
    transport.close();
  }
}
