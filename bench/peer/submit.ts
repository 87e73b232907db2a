// The pg-boss peer's submit side, in the bench process like Rebound's client SDK: validates and
// composes the message with Rebound's own code (the same bytes and Message-ID), then stores the
// row and queues the first attempt's job in one transaction (pg-boss's `db` option), so a
// message is never stored without its job nor queued without its row.
import type { Pool } from 'pg';
import PgBoss from 'pg-boss';
import { composeMessage } from '../../src/message/compose';
import { validateSendRequest, type SendRequest } from '../../src/message/validate';
import { PEER_QUEUE, PEER_SCHEMA, singletonKey } from './schema';
import { inTransaction } from './transaction';

export class PeerClient {
  private constructor(
    private readonly pool: Pool,
    private readonly boss: PgBoss,
  ) {}

  /** After the peer's worker created the schema: this side only sends (no maintenance, no migration). */
  static async open(pool: Pool, databaseUrl: string): Promise<PeerClient> {
    const boss = new PgBoss({ connectionString: databaseUrl, schema: PEER_SCHEMA, max: 2, supervise: false, schedule: false, migrate: false });
    boss.on('error', (err) => process.stderr.write(`[bench] pg-boss (submit side): ${err.message}\n`));
    await boss.start();
    return new PeerClient(pool, boss);
  }

  async send(request: SendRequest): Promise<void> {
    const valid = validateSendRequest(request);
    const id = valid.id!;
    const { raw } = await composeMessage(valid, id);
    await inTransaction(this.pool, async (c, db) => {
      // A repeated id keeps its first row and queues no second job (the singleton key).
      await c.query(`INSERT INTO ${PEER_SCHEMA}.peer_messages (id, mail_from, recipients, pending, raw) VALUES ($1, $2, $3, $3, $4) ON CONFLICT (id) DO NOTHING`, [
        id,
        valid.from.address,
        valid.envelopeRecipients,
        raw,
      ]);
      const job = { id, attempt: 1 };
      await this.boss.send(PEER_QUEUE, job, { singletonKey: singletonKey(job), db });
    });
  }

  close(): Promise<void> {
    return this.boss.stop({ graceful: false, wait: true });
  }
}
