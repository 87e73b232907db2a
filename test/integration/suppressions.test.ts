// Operator controls over the suppression list: manual add and lift through the reputation
// workflow, import and export, on the time-skipping server and PostgreSQL.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTimeSkippingStack, uid, type TimeSkippingStack } from '../helpers/stack';
import { eventually, reportOutcome } from '../helpers/wait';

let stack: TimeSkippingStack;
const tag = uid();
before(async () => {
  stack = await startTimeSkippingStack();
});
after(async () => {
  // The 100,000 imported rows are this run's only: keep the shared test database small.
  await stack?.pool.query(`DELETE FROM suppressions WHERE address LIKE $1`, [`%+${tag}%`]);
  await stack?.teardown();
});

const addr = (local: string) => `${local}+${tag}@example.test`;

/**
 * Starts the address's reputation workflow with one delivery, with signal-with-start (a real delivery starts none; a bounce does).
 * (Not through a real delivery: waiting for its result lets the test server skip time, and
 * 30 idle days later the reputation workflow closes itself.)
 */
async function reportDelivery(to: string, messageId = `m-${uid()}`): Promise<void> {
  await reportOutcome(stack.env.client, { taskQueue: stack.config.taskQueue, settings: stack.config.reputation }, to, 'delivered', messageId);
  await eventually('the delivery is counted', () => stack.rebound.suppressions.reputation(to), (v) => (v?.totals.delivered ?? 0) > 0);
}

describe('suppression list controls', () => {
  test('manual add and lift go through a running reputation workflow and are recorded with who and why', async () => {
    const to = addr('Operator.Target');
    await reportDelivery(to.toLowerCase());
    const added = await stack.rebound.suppressions.add(`  ${to.toUpperCase()} `, { reason: 'complaint', days: 10, actor: 'ops:alice', note: 'asked by support' });
    assert.equal(added.address, to.toLowerCase(), 'the address is normalised');
    assert.deepEqual([added.suppressed, added.reason, added.source], [true, 'complaint', 'manual']);
    assert.ok(Math.abs(Date.parse(added.until!) - Date.parse(added.since!) - 10 * 86_400_000) < 1000);
    const view = await stack.rebound.suppressions.reputation(to);
    assert.equal(view?.suppressed, true, 'the workflow agrees with the table');
    const row = await stack.pool.query('SELECT actor, note FROM suppressions WHERE address = $1', [to.toLowerCase()]);
    assert.deepEqual(row.rows[0], { actor: 'ops:alice', note: 'asked by support' });

    const lifted = await stack.rebound.suppressions.lift(to, { reason: 'resolved', actor: 'ops:bob' });
    assert.equal(lifted.suppressed, false);
    const after = await stack.rebound.suppressions.reputation(to);
    assert.equal(after?.suppressed, false);
    const lastTwo = after!.recent.slice(-2).map((e) => [e.type, e.reason, e.actor]);
    assert.deepEqual(lastTwo, [
      ['suppressed', 'complaint', 'ops:alice'],
      ['lifted', 'resolved', 'ops:bob'],
    ]);
    const liftedRow = await stack.pool.query('SELECT lifted_by, lift_reason FROM suppressions WHERE address = $1', [to.toLowerCase()]);
    assert.deepEqual(liftedRow.rows[0], { lifted_by: 'ops:bob', lift_reason: 'resolved' });
  });

  test('without a reputation workflow, add writes the table and a workflow started later loads it', async () => {
    const to = addr('nobody-yet');
    const added = await stack.rebound.suppressions.add(to, { forever: true, actor: 'ops:carol' });
    assert.deepEqual([added.suppressed, added.until], [true, null]);
    // A new message to it makes no attempt.
    const { messageId } = await stack.rebound.send({ from: 'sender@rebound.test', to: [to], subject: 'Hi', text: 'Hi' });
    const final = await stack.rebound.result(messageId);
    assert.deepEqual([final.recipients[0].state, final.recipients[0].attempts], ['suppressed', 0]);
    // The first outcome signal starts the workflow, which loads the row.
    await reportDelivery(to);
    const view = await stack.rebound.suppressions.reputation(to);
    assert.deepEqual([view?.suppressed, view?.source, view?.until], [true, 'manual', null]);
  });

  test('import of 100,000 rows plus bad ones: good rows written, bad lines reported, time printed', async () => {
    const lines = ['address,reason,expires_at,note'];
    for (let i = 0; i < 100_000; i++) lines.push(`user${i}+${tag}@bulk-${i % 50}.example.test,${i % 2 ? 'import' : 'complaint'},,`);
    lines.splice(10, 0, `not-an-address,import,,`);
    lines.splice(500, 0, `bad-reason+${tag}@example.test,Not Valid,,`);
    lines.splice(5000, 0, `past+${tag}@example.test,import,2001-01-01T00:00:00Z,`);
    const started = Date.now();
    const result = await stack.rebound.suppressions.importCsv(lines.join('\n'), { actor: 'test' });
    console.log(`imported ${result.imported} rows in ${Date.now() - started} ms (${result.elapsedMs} ms reported)`);
    assert.equal(result.imported, 100_000);
    assert.deepEqual(result.errors.map((e) => e.line), [11, 501, 5001]);
    assert.match(result.errors[0].message, /not-an-address/);

    const check = await stack.rebound.suppressions.check(`USER42+${tag}@bulk-42.example.test`);
    assert.deepEqual([check.suppressed, check.reason, check.source], [true, 'complaint', 'import']);
    const byDomain = await stack.rebound.suppressions.list({ domain: 'bulk-7.example.test', reason: 'import', limit: 100_000 });
    assert.ok(byDomain.length >= 1000 && byDomain.every((r) => r.address.endsWith('@bulk-7.example.test') && r.reason === 'import'));
  });

  test('export then import round-trips, including suppressions without expiry', async () => {
    const forever = addr('forever-export');
    const dated = addr('dated-export');
    await stack.rebound.suppressions.add(forever, { forever: true });
    await stack.rebound.suppressions.add(dated, { days: 7 });
    const csv = await stack.rebound.suppressions.exportCsv();
    const mine = csv.split('\n').filter((l, i) => i === 0 || l.includes('-export+'));
    assert.equal(mine.length, 3);
    await stack.pool.query('DELETE FROM suppressions WHERE address = ANY($1)', [[forever, dated]]);
    const result = await stack.rebound.suppressions.importCsv(mine.join('\n'));
    assert.deepEqual([result.imported, result.errors], [2, []]);
    assert.equal((await stack.rebound.suppressions.check(forever)).until, null);
    assert.notEqual((await stack.rebound.suppressions.check(dated)).until, null);
  });
});
