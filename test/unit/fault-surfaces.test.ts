// The fault suite's counting of the surfaces beside delivery (test/faults/count-surfaces.ts):
// an event never processed is lost, two ids for one fact are doubled while a redelivery is not,
// a report without its late outcome is lost, a transaction begun while the site was suspended
// and accepted is a failure while one begun before is only reported.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { judgeSurfaces, surfacesLine, type SurfaceObservations } from '../faults/count-surfaces';
import type { FaultRecord } from '../faults/inject';
import type { PeerTransaction } from '../faults/peer';

const fault = (over: Partial<FaultRecord>): FaultRecord => ({ id: 1, kind: 'webhook-down', startedAt: 1000, endedAt: 2000, detail: '', silenced: [], probe: null, probeActivityAt: null, batch: [], suspension: null, ...over });
const tx = (over: Partial<PeerTransaction>): PeerTransaction =>
  ({ transaction: 1, at: new Date(0).toISOString(), from: null, rcpt: [], outcome: 'accepted', connection: 'c', accepted: [], seenAt: 0, sinkRun: 1, ...over }) as PeerTransaction;
const base = (over: Partial<SurfaceObservations>): SurfaceObservations => ({ messages: [], verdicts: [], faults: [], transactions: [], headers: new Map(), api: false, webhooks: null, reports: null, heldBySuspension: 0, ...over });

test('webhooks: an outbox event never processed is lost; a redelivery is counted, not an error; two ids for one fact are doubled', () => {
  const processed = new Map([
    ['e1', { id: 'e1', type: 'message.delivered', fact: 'message.delivered m1 a@x', at: 1, redelivered: 2, processed: 1 }],
    ['e2', { id: 'e2', type: 'message.delivered', fact: 'message.delivered m2 b@x', at: 1, redelivered: 0, processed: 1 }],
  ]);
  const outbox = [
    { id: 'e1', type: 'message.delivered', createdAt: 0 },
    { id: 'e2', type: 'message.delivered', createdAt: 0 },
  ];
  const ok = judgeSurfaces(base({ webhooks: { outbox, processed, rejected: 0, requests: 4 } }));
  assert.deepEqual([ok.webhooks!.lost, ok.webhooks!.doubled, ok.webhooks!.redelivered, ok.ok], [0, 0, 2, true]);
  assert.match(surfacesLine(ok), /webhooks: 2 events, 0 lost, 0 processed twice \(2 redelivered, 0 held back by the outage\)/);

  // e2 was written while the receiver was down and processed once it was back.
  const outage = fault({ kind: 'webhook-down', startedAt: 0, endedAt: 10 });
  const late = new Map(processed).set('e2', { ...processed.get('e2')!, at: 20 });
  const delayed = judgeSurfaces(base({ faults: [outage], webhooks: { outbox: outbox.map((e) => ({ ...e, createdAt: e.id === 'e2' ? 5 : 11 })), processed: late, rejected: 0, requests: 4 } }));
  assert.deepEqual([delayed.webhooks!.afterOutage, delayed.ok], [1, true]);

  const lost = judgeSurfaces(base({ webhooks: { outbox: [...outbox, { id: 'e3', type: 'message.bounced', createdAt: 0 }], processed, rejected: 0, requests: 4 } }));
  assert.deepEqual([lost.webhooks!.lost, lost.webhooks!.lostIds, lost.ok], [1, ['e3'], false]);

  const twice = new Map(processed).set('e9', { id: 'e9', type: 'message.delivered', fact: 'message.delivered m1 a@x', at: 2, redelivered: 0, processed: 1 });
  const doubled = judgeSurfaces(base({ webhooks: { outbox: [...outbox, { id: 'e9', type: 'message.delivered', createdAt: 0 }], processed: twice, rejected: 0, requests: 5 } }));
  assert.deepEqual([doubled.webhooks!.doubled, doubled.ok], [2, false]);
});

test('reports: one processed row and one late outcome each; none means lost, two means doubled; a 451 is counted', () => {
  const f = fault({ kind: 'inbound-db-down', batch: ['m1', 'm2'] });
  const headers = new Map([
    ['m1', 'h1@x'],
    ['m2', 'h2@x'],
  ]);
  const transactions = [tx({ messageId: '<h1@x>', accepted: ['a@x'] }), tx({ messageId: '<h2@x>', accepted: ['b@x'] })];
  const tries = [
    { report: 1, kind: 'dsn-delayed', messageId: '<h1@x>', reportMessageId: 'r1', try: 1, reply: '451 4.3.0 try again', state: 'waiting', seenAt: 1500, sinkRun: 1 },
    { report: 1, kind: 'dsn-delayed', messageId: '<h1@x>', reportMessageId: 'r1', try: 2, reply: '250 2.0.0 stored', state: 'sent', seenAt: 2500, sinkRun: 1 },
    { report: 2, kind: 'dsn-delayed', messageId: '<h2@x>', reportMessageId: 'r2', try: 1, reply: '250 2.0.0 stored', state: 'sent', seenAt: 500, sinkRun: 1 },
  ];
  const rows = new Map([
    ['m1', { reports: [{ id: '1', processed: true, outcome: 'matched' }], lateOutcomes: 1 }],
    ['m2', { reports: [], lateOutcomes: 0 }],
  ]);
  const v = judgeSurfaces(base({ faults: [f], headers, transactions, reports: { tries, rows } }));
  assert.deepEqual([v.reports!.reports, v.reports!.lost, v.reports!.doubled, v.reports!.answered451, v.ok], [2, 1, 0, 1, false]);
  assert.equal(v.reports!.missedOutage.length, 1);
  rows.set('m2', { reports: [{ id: '2', processed: true, outcome: 'matched' }], lateOutcomes: 2 });
  const d = judgeSurfaces(base({ faults: [f], headers, transactions, reports: { tries, rows } }));
  assert.deepEqual([d.reports!.lost, d.reports!.doubled], [0, 1]);
});

test('suspended site: a transaction begun during the suspension that delivered fails the run; one begun before is only reported', () => {
  const f = fault({ kind: 'pause-worker-suspended', suspension: { site: '127.0.0.1', from: 10_000, to: 50_000 } });
  const before = tx({ at: new Date(9_000).toISOString(), seenAt: 12_000, accepted: ['a@x'] });
  const after = tx({ at: new Date(51_000).toISOString(), seenAt: 51_100, accepted: ['b@x'] });
  const v = judgeSurfaces(base({ faults: [f], transactions: [before, after], heldBySuspension: 3 }));
  assert.deepEqual([v.suspended!.deliveredWhileSuspended, v.suspended!.finishedDuringSuspension, v.suspended!.held, v.ok], [0, 1, 3, true]);
  const during = tx({ at: new Date(20_000).toISOString(), seenAt: 20_100, accepted: ['c@x'] });
  const bad = judgeSurfaces(base({ faults: [f], transactions: [during] }));
  assert.deepEqual([bad.suspended!.deliveredWhileSuspended, bad.ok], [1, false]);
});
