// Direct delivery through the real worker (README "Direct delivery"): the time-skipping stack
// with REBOUND_DELIVERY=direct, a dns2 DNS server and smtp-server MXes on 127.0.0.x. The
// workflow's attempts, the send activity and the attempt log are the production ones.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTimeSkippingStack, testMessage, uid, type TimeSkippingStack } from '../helpers/stack';
import { eventually } from '../helpers/wait';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server';
import { freePort, startMx, type TestMx } from '../helpers/mx-servers';

let stack: TimeSkippingStack;
let dns: TestDnsServer;
let primary: TestMx;
let secondary: TestMx;

// 127.0.0.20 is never started: the dead primary.
before(async () => {
  const port = await freePort();
  primary = await startMx('127.0.0.21', port);
  secondary = await startMx('127.0.0.22', port);
  dns = await startDnsServer({
    'dead.mx.test': { a: ['127.0.0.20'] },
    'mx1.mx.test': { a: ['127.0.0.21'] },
    'mx2.mx.test': { a: ['127.0.0.22'] },
    'failover.test': { mx: [[10, 'dead.mx.test'], [20, 'mx2.mx.test']] },
    'nomail.test': { mx: [[0, '']] },
    'later.test': { mx: [[10, 'dead.mx.test']] },
  });
  stack = await startTimeSkippingStack({ delivery: 'direct', dnsServers: [dns.server], mxPort: port, heloName: 'rebound.test' });
});

after(async () => {
  await stack?.teardown();
  await primary?.close();
  await secondary?.close();
  await dns?.close();
});

const attemptsOf = async (id: string): Promise<number> => Number((await stack.pool.query('SELECT count(DISTINCT attempt) AS n FROM attempts WHERE message_id = $1', [id])).rows[0].n);

describe('direct delivery through the worker', () => {
  test('primary MX down: the secondary takes the message in the first attempt', async () => {
    const to = `ann+${uid()}@failover.test`;
    const { messageId } = await stack.rebound.send(testMessage([to], { id: `direct-failover-${uid()}` }));
    const final = await stack.rebound.result(messageId);
    assert.equal(final.state, 'delivered');
    assert.equal(final.recipients[0].attempts, 1);
    assert.equal(secondary.transactions.filter((t) => t.to.includes(to)).length, 1);
    assert.equal(await attemptsOf(messageId), 1);
  });

  test('null MX: bounced hard (unknown_domain) after one attempt, no MX connected to', async () => {
    const to = `bob+${uid()}@nomail.test`;
    const connections = primary.connections + secondary.connections;
    const { messageId } = await stack.rebound.send(testMessage([to], { id: `direct-nullmx-${uid()}` }));
    const final = await stack.rebound.result(messageId);
    assert.equal(final.state, 'failed');
    assert.equal(final.recipients[0].state, 'bounced');
    assert.equal(final.recipients[0].lastReply?.category, 'unknown_domain');
    assert.equal(await attemptsOf(messageId), 1);
    assert.equal(primary.connections + secondary.connections, connections);
  });

  test('every MX down: a soft bounce, retried; delivered once the domain has a live MX', async () => {
    const to = `cy+${uid()}@later.test`;
    const { messageId } = await stack.rebound.send(testMessage([to], { id: `direct-later-${uid()}` }));
    await eventually('the first attempt recorded', () => attemptsOf(messageId), (n) => n >= 1);
    const first = await stack.pool.query('SELECT category FROM attempts WHERE message_id = $1 AND attempt = 1', [messageId]);
    assert.equal(first.rows[0].category, 'network_error');
    dns.zone.set('later.test', { mx: [[10, 'dead.mx.test'], [20, 'mx1.mx.test']] });
    const final = await stack.rebound.result(messageId);
    assert.equal(final.state, 'delivered');
    assert.ok(final.recipients[0].attempts >= 2, `${final.recipients[0].attempts} attempts`);
    assert.equal(primary.transactions.filter((t) => t.to.includes(to)).length, 1);
  });
});
