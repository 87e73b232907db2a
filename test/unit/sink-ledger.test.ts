// The bounce simulator's ledger (src/sink/ledger.ts) without sockets: SMTP events in, replies,
// transactions, stored messages, delivery counts and duplicates out (README "The bounce simulator").
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SinkLedger, extractMessageId, type LateReport, type SinkTransactionLog } from '../../src/sink/ledger';
import type { SendResult } from '../../src/sink/report-retry';

const T0 = Date.parse('2025-01-01T00:00:00.000Z');

/** A ledger on a clock that ticks one second a call, with queue ids Q1, Q2, ... */
function ledger(
  opts: {
    greylistHintSeconds?: number;
    onTransaction?: (e: SinkTransactionLog) => void;
    reportTo?: string | null;
    onReport?: (r: LateReport, headers: Buffer) => void;
  } = {},
): SinkLedger {
  let tick = 0;
  let queue = 0;
  return new SinkLedger({ ...opts, now: () => new Date(T0 + 1000 * tick++), queueId: () => `Q${++queue}` });
}

const message = (messageId: string | null, body = 'hello'): Buffer =>
  Buffer.from(`${messageId === null ? '' : `Message-ID: ${messageId}\r\n`}Subject: t\r\n\r\n${body}\r\n`);

type Event =
  | ['mail', string]
  | ['rcpt', string]
  | ['data', string | null]
  | ['data-oversize']
  | ['rset']
  | ['close'];

/**
 * Plays events on connection 'c1' the way smtp-server reports them (only accepted recipients
 * reach the envelope) and returns every reply, as the client would read it.
 */
function play(l: SinkLedger, events: Event[], connection = 'c1'): string[] {
  const replies: string[] = [];
  let from = '';
  let envelope: string[] = [];
  for (const e of events) {
    switch (e[0]) {
      case 'mail':
        from = e[1];
        envelope = [];
        l.mailFrom(connection, from);
        replies.push('250');
        break;
      case 'rcpt': {
        const d = l.rcptTo(connection, e[1]);
        if (d.code === 250) envelope.push(e[1]);
        replies.push(d.drop ? 'dropped' : `${d.code} ${d.text}`);
        break;
      }
      case 'data':
      case 'data-oversize': {
        const raw = e[0] === 'data' ? message(e[1]) : message('<big@x>');
        const a = l.dataEnd(connection, { raw, size: raw.length, oversize: e[0] === 'data-oversize', from, recipients: envelope });
        replies.push(`${a.code} ${a.text}`);
        break;
      }
      case 'rset':
        l.end(connection, 'rset');
        break;
      case 'close':
        l.end(connection, 'closed');
        break;
    }
  }
  return replies;
}

const summary = (t: SinkTransactionLog) => ({ outcome: t.outcome, ended: t.ended, data: t.data, accepted: t.accepted });

describe('SinkLedger transactions', () => {
  const cases: { name: string; events: Event[]; replies: string[]; transactions: ReturnType<typeof summary>[]; stored: number }[] = [
    {
      name: 'accepted',
      events: [['mail', 's@x'], ['rcpt', 'alice@x'], ['data', '<m1@x>']],
      replies: ['250', '250 2.1.5 Recipient OK', '250 2.0.0 Ok: queued as Q1'],
      transactions: [{ outcome: 'accepted', ended: undefined, data: '250 2.0.0 Ok: queued as Q1', accepted: ['alice@x'] }],
      stored: 1,
    },
    {
      name: 'partial: one recipient rejected, the other stored',
      events: [['mail', 's@x'], ['rcpt', 'erin@x'], ['rcpt', 'unknown@x'], ['data', '<m2@x>']],
      replies: ['250', '250 2.1.5 Recipient OK', '550 5.1.1 <unknown@x>: Recipient address rejected: User unknown', '250 2.0.0 Ok: queued as Q1'],
      transactions: [{ outcome: 'partial', ended: undefined, data: '250 2.0.0 Ok: queued as Q1', accepted: ['erin@x'] }],
      stored: 1,
    },
    {
      name: 'all rejected, then RSET',
      events: [['mail', 's@x'], ['rcpt', 'unknown@x'], ['rset']],
      replies: ['250', '550 5.1.1 <unknown@x>: Recipient address rejected: User unknown'],
      transactions: [{ outcome: 'rejected', ended: 'rset', data: undefined, accepted: [] }],
      stored: 0,
    },
    {
      name: 'accepted recipient, closed before DATA: dropped',
      events: [['mail', 's@x'], ['rcpt', 'bob@x'], ['close'], ['close']],
      replies: ['250', '250 2.1.5 Recipient OK'],
      transactions: [{ outcome: 'dropped', ended: 'closed', data: undefined, accepted: [] }],
      stored: 0,
    },
    {
      name: 'a new MAIL ends the open transaction',
      events: [['mail', 's@x'], ['rcpt', 'bob@x'], ['mail', 's@x'], ['rcpt', 'carol@x'], ['data', '<m3@x>']],
      replies: ['250', '250 2.1.5 Recipient OK', '250', '250 2.1.5 Recipient OK', '250 2.0.0 Ok: queued as Q1'],
      transactions: [
        { outcome: 'dropped', ended: 'new-mail', data: undefined, accepted: [] },
        { outcome: 'accepted', ended: undefined, data: '250 2.0.0 Ok: queued as Q1', accepted: ['carol@x'] },
      ],
      stored: 1,
    },
    {
      name: 'drop ends the transaction at RCPT; the close that follows adds nothing',
      events: [['mail', 's@x'], ['rcpt', 'carol@x'], ['rcpt', 'drop@x'], ['close']],
      replies: ['250', '250 2.1.5 Recipient OK', 'dropped'],
      transactions: [{ outcome: 'dropped', ended: 'drop-scenario', data: undefined, accepted: [] }],
      stored: 0,
    },
    {
      name: 'toolarge rejects the whole transaction after DATA',
      events: [['mail', 's@x'], ['rcpt', 'toolarge@x'], ['rcpt', 'bob@x'], ['data', '<m4@x>']],
      replies: ['250', '250 2.1.5 Recipient OK', '250 2.1.5 Recipient OK', '552 5.3.4 Message size exceeds fixed limit'],
      transactions: [{ outcome: 'rejected', ended: undefined, data: '552 5.3.4 Message size exceeds fixed limit', accepted: [] }],
      stored: 0,
    },
    {
      name: 'a message over the size limit is rejected like toolarge',
      events: [['mail', 's@x'], ['rcpt', 'bob@x'], ['data-oversize']],
      replies: ['250', '250 2.1.5 Recipient OK', '552 5.3.4 Message size exceeds fixed limit'],
      transactions: [{ outcome: 'rejected', ended: undefined, data: '552 5.3.4 Message size exceeds fixed limit', accepted: [] }],
      stored: 0,
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const logged: SinkTransactionLog[] = [];
      const l = ledger({ onTransaction: (e) => logged.push(e) });
      assert.deepEqual(play(l, c.events), c.replies);
      assert.deepEqual(l.transactions().map(summary), c.transactions);
      assert.deepEqual(logged, l.transactions(), 'every transaction logged once, as recorded');
      assert.equal(l.received().length, c.stored);
    });
  }

  test('a transaction record in full', () => {
    const l = ledger();
    play(l, [['mail', 'S@x'], ['rcpt', 'Alice+1@x'], ['rcpt', 'full@x'], ['data', '<m@x>']]);
    const body = message('<m@x>');
    assert.deepEqual(l.transactions(), [
      {
        transaction: 1,
        at: '2025-01-01T00:00:00.000Z',
        from: 'S@x',
        rcpt: [
          { address: 'Alice+1@x', scenario: 'accept', reply: '250 2.1.5 Recipient OK' },
          { address: 'full@x', scenario: 'full', reply: '452 4.2.2 <full@x>: mailbox full, over quota' },
        ],
        outcome: 'partial',
        connection: 'c1',
        accepted: ['Alice+1@x'],
        data: '250 2.0.0 Ok: queued as Q1',
        messageId: '<m@x>',
        size: body.length,
      },
    ]);
    assert.deepEqual(l.received(), [
      { messageId: '<m@x>', from: 'S@x', recipients: ['Alice+1@x'], size: body.length, receivedAt: '2025-01-01T00:00:01.000Z', transaction: 1 },
    ]);
  });

  test('transactions on two connections stay apart, numbered in MAIL order', () => {
    const l = ledger();
    l.mailFrom('a', 's@x');
    l.mailFrom('b', 's@x');
    l.rcptTo('b', 'bob@x');
    l.rcptTo('a', 'unknown@x');
    l.end('b', 'closed');
    l.end('a', 'rset');
    assert.deepEqual(
      l.transactions().map((t) => [t.connection, t.transaction, t.outcome]),
      [
        ['b', 2, 'dropped'],
        ['a', 1, 'rejected'],
      ],
    );
  });

  test('a DATA without an open transaction still stores the message, with a fresh number', () => {
    const l = ledger();
    l.mailFrom('a', 's@x');
    l.end('a', 'rset');
    const a = l.dataEnd('b', { raw: message('<x@y>'), size: 10, oversize: false, from: '', recipients: ['bob@x'] });
    assert.equal(a.code, 250);
    assert.equal(l.received()[0]!.transaction, 2);
    assert.equal(l.transactions().length, 1);
  });

  test('a log sink that throws does not break the session', () => {
    const l = ledger({
      onTransaction: () => {
        throw new Error('log down');
      },
    });
    assert.deepEqual(play(l, [['mail', 's@x'], ['rcpt', 'bob@x'], ['data', '<m@x>']]).at(-1), '250 2.0.0 Ok: queued as Q1');
    assert.equal(l.transactions().length, 1);
  });
});

describe('SinkLedger attempts per address', () => {
  test('greylist, soft-K and full-K count RCPTs per whole address, case-insensitively', () => {
    const l = ledger({ greylistHintSeconds: 5 });
    const rcpt = (address: string) => {
      const d = l.rcptTo('c', address);
      return d.code;
    };
    assert.deepEqual(['greylist+a@x', 'GreyList+A@X', 'greylist+b@x'].map(rcpt), [450, 250, 450]);
    assert.match(l.rcptTo('c', 'greylist+c@x').text, /try again in 5 seconds$/);
    assert.deepEqual(['soft-2@x', 'soft-2@x', 'soft-2@x', 'soft-2@x'].map(rcpt), [451, 451, 250, 250]);
    assert.deepEqual(['full-1@x', 'full-1@x', 'full@x', 'full@x'].map(rcpt), [452, 250, 452, 452]);
  });

  test('reset() forgets attempts, messages and transactions; numbering and open transactions go on', () => {
    const l = ledger();
    play(l, [['mail', 's@x'], ['rcpt', 'greylist@x'], ['rcpt', 'greylist@x'], ['data', '<m@x>']]);
    l.mailFrom('c2', 's@x');
    l.rcptTo('c2', 'bob@x');
    l.reset();
    assert.deepEqual([l.received(), l.transactions(), l.duplicates(), l.deliveries('<m@x>')], [[], [], [], 0]);
    assert.equal(l.rcptTo('c1', 'greylist@x').code, 450, 'greylisted afresh');
    l.end('c2', 'closed');
    assert.deepEqual(
      l.transactions().map((t) => [t.transaction, t.outcome, t.ended]),
      [[2, 'dropped', 'closed']],
    );
    l.mailFrom('c3', 's@x');
    l.end('c3', 'rset');
    assert.equal(l.transactions().at(-1)!.transaction, 3);
  });
});

describe('SinkLedger deliveries and duplicates', () => {
  test('counts per (Message-ID, recipient), with or without brackets, any case of the recipient', () => {
    const l = ledger();
    play(l, [['mail', 's@x'], ['rcpt', 'frank@x'], ['rcpt', 'gina@x'], ['data', '<dup@x>']]);
    assert.deepEqual(l.duplicates(), []);
    play(l, [['mail', 's@x'], ['rcpt', 'Frank@x'], ['data', '<dup@x>']]);
    play(l, [['mail', 's@x'], ['rcpt', 'hank@x'], ['data', null]]);
    play(l, [['mail', 's@x'], ['rcpt', 'hank@x'], ['data', null]]);
    const cases: [string, string | undefined, number][] = [
      ['<dup@x>', 'frank@x', 2],
      ['dup@x', 'FRANK@x', 2],
      [' <dup@x> ', ' frank@x ', 2],
      ['<dup@x>', 'gina@x', 1],
      ['<dup@x>', 'nobody@x', 0],
      ['<dup@x>', undefined, 2],
      ['dup@x', undefined, 2],
      ['<other@x>', undefined, 0],
    ];
    for (const [id, rcpt, count] of cases) assert.equal(l.deliveries(id, rcpt), count, `${id} ${rcpt}`);
    // messages without a Message-ID are stored but never counted as duplicates
    assert.equal(l.received().length, 4);
    assert.deepEqual(l.duplicates(), [{ messageId: '<dup@x>', recipient: 'frank@x', count: 2 }]);
  });

  test('received() and transactions() return copies', () => {
    const l = ledger();
    play(l, [['mail', 's@x'], ['rcpt', 'bob@x'], ['data', '<m@x>']]);
    l.received()[0]!.recipients.push('mallory@x');
    l.transactions()[0]!.accepted.push('mallory@x');
    l.transactions()[0]!.rcpt[0]!.address = 'mallory@x';
    assert.deepEqual(l.received()[0]!.recipients, ['bob@x']);
    assert.deepEqual(l.transactions()[0]!.accepted, ['bob@x']);
    assert.equal(l.transactions()[0]!.rcpt[0]!.address, 'bob@x');
  });
});

describe('SinkLedger late reports', () => {
  const TO = '127.0.0.1:2527';
  const cases: { name: string; reportTo: string | null; from: string; rcpts: string[]; want: Partial<LateReport>[] }[] = [
    { name: 'accept owes nothing', reportTo: TO, from: 'b+t@bounces.test', rcpts: ['alice@x'], want: [] },
    {
      name: 'bouncelater: a failed DSN to the envelope sender, due 2 s after the 250',
      reportTo: TO,
      from: 'b+t@bounces.test',
      rcpts: ['bouncelater+a@x'],
      want: [{ id: 1, kind: 'dsn-failed', recipient: 'bouncelater+a@x', to: 'b+t@bounces.test', state: 'waiting', dueAt: '2025-01-01T00:00:03.000Z' }],
    },
    {
      name: 'one report per late recipient, each with its own delay and kind',
      reportTo: TO,
      from: 'b+t@bounces.test',
      rcpts: ['bob@x', 'delaylater-30@x', 'complain-0@x'],
      want: [
        { id: 1, kind: 'dsn-delayed', to: 'b+t@bounces.test', state: 'waiting', dueAt: '2025-01-01T00:00:31.000Z' },
        { id: 2, kind: 'complaint', to: 'fbl@bounces.test', state: 'waiting', dueAt: '2025-01-01T00:00:01.000Z' },
      ],
    },
    {
      name: 'without reportTo: recorded, not handed over',
      reportTo: null,
      from: 'b+t@bounces.test',
      rcpts: ['complain@x'],
      want: [{ kind: 'complaint', to: 'fbl@bounces.test', destination: null, state: 'no_destination' }],
    },
    { name: 'the null sender gets no report', reportTo: TO, from: '', rcpts: ['bouncelater@x'], want: [{ kind: 'dsn-failed', to: null, state: 'no_sender' }] },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const handed: [LateReport, string][] = [];
      const l = ledger({ reportTo: c.reportTo, onReport: (r, h) => handed.push([r, h.toString()]) });
      const events: Parameters<typeof play>[1] = [['mail', c.from], ...c.rcpts.map((r) => ['rcpt', r] as ['rcpt', string]), ['data', '<m@x>']];
      play(l, events);
      const reports = l.reports();
      assert.equal(reports.length, c.want.length);
      reports.forEach((r, i) => {
        const picked = Object.fromEntries(Object.keys(c.want[i]!).map((k) => [k, r[k as keyof LateReport]]));
        assert.deepEqual(picked, c.want[i]);
        assert.deepEqual([r.messageId, r.originalFrom, r.queueId, r.tries], ['<m@x>', c.from, 'Q1', []]);
      });
      const waiting = reports.filter((r) => r.state === 'waiting');
      assert.deepEqual(handed.map(([r]) => r), waiting, 'the waiting ones, and only those, are handed over');
      for (const [, headers] of handed) assert.equal(headers, 'Message-ID: <m@x>\r\nSubject: t\r\n');
    });
  }

  test('reportTried: each try kept; the state follows the answer', () => {
    const deferred: SendResult = { kind: 'deferred', reply: '451 4.3.0 Try later' };
    const steps: { result: SendResult; givingUp: boolean; state: LateReport['state'] }[][] = [
      [{ result: { kind: 'accepted', reply: '250 2.0.0 Ok' }, givingUp: false, state: 'sent' }],
      [
        { result: deferred, givingUp: false, state: 'waiting' },
        { result: { kind: 'unreachable', error: 'ECONNREFUSED' }, givingUp: false, state: 'waiting' },
        { result: { kind: 'accepted', reply: '250 2.0.0 Ok' }, givingUp: false, state: 'sent' },
      ],
      [
        { result: deferred, givingUp: false, state: 'waiting' },
        { result: deferred, givingUp: true, state: 'gave_up' },
      ],
      [{ result: { kind: 'refused', reply: '550 5.7.1 no' }, givingUp: false, state: 'refused' }],
    ];
    for (const run of steps) {
      const l = ledger({ reportTo: TO });
      play(l, [['mail', 'b+t@bounces.test'], ['rcpt', 'bouncelater@x'], ['data', '<m@x>']]);
      for (const step of run) {
        const after = l.reportTried(1, step.result, { givingUp: step.givingUp, reportMessageId: '<r@sink>' });
        assert.equal(after?.state, step.state);
      }
      const [r] = l.reports();
      assert.equal(r!.tries.length, run.length);
      assert.deepEqual(
        r!.tries.map((t) => t.reply ?? t.error),
        run.map((s) => (s.result.kind === 'unreachable' ? s.result.error : s.result.reply)),
      );
      assert.equal(r!.reportMessageId, '<r@sink>');
      assert.equal(r!.sentAt !== undefined, r!.state === 'sent');
    }
  });

  test('reset() forgets reports; a late try for one is ignored; numbering goes on', () => {
    const l = ledger({ reportTo: TO });
    play(l, [['mail', 'b+t@bounces.test'], ['rcpt', 'bouncelater@x'], ['data', '<m@x>']]);
    l.reset();
    assert.deepEqual(l.reports(), []);
    assert.equal(l.reportTried(1, { kind: 'accepted', reply: '250 ok' }, { givingUp: false }), null);
    play(l, [['mail', 'b+t@bounces.test'], ['rcpt', 'complain@x'], ['data', '<n@x>']]);
    assert.deepEqual(l.reports().map((r) => r.id), [2]);
  });
});

describe('extractMessageId', () => {
  test('reads the header block only, unfolds, ignores case', () => {
    const cases: [string, string | null][] = [
      ['Message-ID: <a@b>\r\nSubject: x\r\n\r\nbody', '<a@b>'],
      ['Subject: x\r\nmessage-id:<a@b>\r\n\r\n', '<a@b>'],
      ['MESSAGE-ID  :  <a@b>  \r\n\r\n', '<a@b>'],
      ['Message-ID:\r\n <folded@b>\r\n\r\n', '<folded@b>'],
      ['Message-ID: <lf@b>\nSubject: x\n\nbody', '<lf@b>'],
      ['Subject: x\r\n\r\nMessage-ID: <in-body@b>\r\n', null],
      ['Message-ID: \r\n\r\n', null],
      ['Subject: no id\r\n\r\n', null],
      ['X-Message-ID: <not-this@b>\r\n\r\n', null],
      ['', null],
    ];
    for (const [raw, id] of cases) assert.equal(extractMessageId(Buffer.from(raw)), id, JSON.stringify(raw));
  });
});
