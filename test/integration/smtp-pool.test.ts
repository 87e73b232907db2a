// The SMTP pool against a real SMTP server (the sink): connections shared and bounded, the
// body gated after the server's 354, an abandoned transaction delivering nothing.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startSink, type BounceSink } from '../../src/sink';
import { SmtpPool, TransactionAbandoned } from '../../src/smtp/pool';
import { transportOptions } from '../../src/smtp/transport';
import { uid } from '../helpers/stack';
import { eventually } from '../helpers/wait';

let sink: BounceSink;

before(async () => {
  sink = await startSink({ port: 0, log: () => undefined });
});
after(async () => {
  await sink?.close();
});

function poolFor(url: string, maxConnections = 2): SmtpPool {
  const options = transportOptions(`${url}?starttls=never`);
  return new SmtpPool({ ...options, maxConnections });
}

/** A MIME message of about `bytes` bytes whose body has lines that start with a dot. */
function message(id: string, bytes = 200): Buffer {
  const head = `From: sender@rebound.test\r\nTo: someone@example.test\r\nMessage-ID: <${id}>\r\nSubject: pool\r\n\r\n`;
  const line = '.a line that must be dot-stuffed on the wire and unstuffed by the server\r\n';
  return Buffer.from(head + line.repeat(Math.max(1, Math.ceil((bytes - head.length) / line.length))));
}

const received = (id: string) => sink.received().filter((m) => m.messageId === `<${id}>`);

describe('SMTP pool', () => {
  test('concurrent sends share at most maxConnections connections', async () => {
    const pool = poolFor(sink.url, 2);
    try {
      const ids = Array.from({ length: 12 }, () => `pool-${uid()}@rebound.test`);
      const infos = await Promise.all(ids.map((id, i) => pool.send({ from: 'sender@rebound.test', to: [`ok${i}@example.test`] }, message(id))));
      assert.deepEqual(infos.map((i) => i.accepted.length), ids.map(() => 1));
      const connections = new Set(sink.transactions().filter((t) => ids.some((id) => t.messageId === `<${id}>`)).map((t) => t.connection));
      assert.ok(connections.size >= 1 && connections.size <= 2, `connections used: ${connections.size}`);
      for (const id of ids) assert.equal(received(id).length, 1);
    } finally {
      pool.close();
    }
  });

  test('a large body passes the gate twice (before the body and before its tail) and arrives whole', async () => {
    const pool = poolFor(sink.url);
    try {
      const id = `large-${uid()}@rebound.test`;
      const body = message(id, 300_000);
      let gates = 0;
      await pool.send({ from: 'sender@rebound.test', to: ['big@example.test'] }, body, async () => void (gates += 1));
      assert.equal(gates, 2);
      assert.equal(received(id)[0]?.size, body.length, 'the server unstuffed exactly the bytes sent');

      const small = `small-${uid()}@rebound.test`;
      gates = 0;
      await pool.send({ from: 'sender@rebound.test', to: ['small@example.test'] }, message(small), async () => void (gates += 1));
      assert.equal(gates, 1);
    } finally {
      pool.close();
    }
  });

  test('a gate that refuses abandons the transaction: nothing delivered, the pool goes on', async () => {
    const pool = poolFor(sink.url, 1);
    try {
      const id = `refused-${uid()}@rebound.test`;
      const refusal = new Error('lease lost');
      await assert.rejects(pool.send({ from: 'sender@rebound.test', to: ['refused@example.test'] }, message(id), async () => Promise.reject(refusal)), (err: unknown) => err instanceof TransactionAbandoned && err.reason === refusal);
      const tx = await eventually('the abandoned transaction is logged', async () => sink.transactions().filter((t) => t.rcpt.some((r) => r.address === 'refused@example.test')), (t) => t.length === 1);
      assert.deepEqual(tx[0]!.accepted, []);
      assert.equal(received(id).length, 0);
      const next = `after-${uid()}@rebound.test`;
      const info = await pool.send({ from: 'sender@rebound.test', to: ['after@example.test'] }, message(next));
      assert.deepEqual(info.accepted, ['after@example.test']);
    } finally {
      pool.close();
    }
  });

  test('the server restarted under an idle connection: the next send goes over a new one', async () => {
    const first = await startSink({ port: 0, log: () => undefined });
    const port = first.port;
    const pool = poolFor(first.url, 1);
    let second: BounceSink | null = null;
    try {
      await pool.send({ from: 'sender@rebound.test', to: ['a@example.test'] }, message(`r1-${uid()}@rebound.test`));
      await first.close();
      second = await startSink({ port, log: () => undefined });
      const id = `r2-${uid()}@rebound.test`;
      const info = await pool.send({ from: 'sender@rebound.test', to: ['b@example.test'] }, message(id));
      assert.deepEqual(info.accepted, ['b@example.test']);
      assert.equal(second.received().filter((m) => m.messageId === `<${id}>`).length, 1);
    } finally {
      pool.close();
      await second?.close();
    }
  });

  test('rejected recipients come back on the info, and a closed pool refuses to send', async () => {
    const pool = poolFor(sink.url);
    const info = await pool.send({ from: 'sender@rebound.test', to: ['ok@example.test', `unknown+${uid()}@example.test`] }, message(`mixed-${uid()}@rebound.test`));
    assert.equal(info.accepted.length, 1);
    assert.equal(info.rejectedErrors?.[0]?.responseCode, 550);
    pool.close();
    await assert.rejects(pool.send({ from: 'sender@rebound.test', to: ['ok@example.test'] }, message(`late-${uid()}@rebound.test`)), /pool is closed/);
  });
});
