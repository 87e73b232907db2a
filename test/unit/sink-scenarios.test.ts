// The bounce simulator's scenario table (src/sink/scenarios.ts) without a server: which local
// part selects which scenario, what each one replies on which attempt, and the two places the
// table is shown (`rebound sink --help`, README "The bounce simulator") kept in step with it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { buildProgram } from '../../src/cli/main';
import {
  SCENARIOS,
  SCENARIO_HELP,
  dataReply,
  laterReport,
  rcptDecision,
  scenarioFor,
  scenarioMarkdown,
  scenarioTable,
  shownReply,
  type ScenarioKind,
} from '../../src/sink/scenarios';

const ROOT = path.resolve(__dirname, '../../..');

describe('scenarioFor', () => {
  test('maps local parts to scenarios, ignoring case and +tags, keyed by the whole address', () => {
    assert.equal(scenarioFor('someone@example.test').kind, 'accept');
    assert.equal(scenarioFor('accept-anything@example.test').kind, 'accept');
    assert.equal(scenarioFor('ok123@example.test').kind, 'accept');
    const g = scenarioFor('GreyList+T1@Example.test');
    assert.equal(g.kind, 'greylist');
    assert.equal(g.hintSeconds, null);
    assert.equal(g.tag, 't1');
    assert.equal(g.key, 'greylist+t1@example.test');
    assert.equal(scenarioFor('greylist-300@x.test').hintSeconds, 300);
    assert.equal(scenarioFor('full@x.test').kind, 'full');
    assert.equal(scenarioFor('mailbox-full+a@x.test').kind, 'full');
    assert.deepEqual([scenarioFor('soft-3@x.test').kind, scenarioFor('soft-3@x.test').failures], ['soft', 3]);
    assert.equal(scenarioFor('soft2@x.test').failures, 2);
    assert.equal(scenarioFor('soft-0@x.test').kind, 'accept');
    assert.equal(scenarioFor('rate-limit@x.test').kind, 'ratelimit');
    assert.equal(scenarioFor('ratelimit@x.test').kind, 'ratelimit');
    assert.equal(scenarioFor('nouser@x.test').kind, 'unknown');
    assert.equal(scenarioFor('unknown+1@x.test').kind, 'unknown');
    assert.equal(scenarioFor('too-large@x.test').kind, 'toolarge');
    assert.equal(scenarioFor('policy@x.test').kind, 'blocked');
    assert.equal(scenarioFor('blocked@x.test').kind, 'blocked');
    assert.equal(scenarioFor('drop@x.test').kind, 'drop');
    assert.equal(scenarioFor('dropbox@x.test').kind, 'accept');
  });

  test('names and parameters, one address a row', () => {
    const cases: [string, ScenarioKind, string, Record<string, unknown>][] = [
      ['alice@x.test', 'accept', 'accept', {}],
      ['greylist@x.test', 'greylist', 'greylist', { hintSeconds: null }],
      ['greylist-030@x.test', 'greylist', 'greylist-30', { hintSeconds: 30 }],
      ['greylist-0@x.test', 'greylist', 'greylist-0', { hintSeconds: 0 }],
      ['greylist-1234567@x.test', 'accept', 'accept', {}],
      ['full@x.test', 'full', 'full', {}],
      ['mailbox-full@x.test', 'full', 'full', {}],
      ['full-12@x.test', 'full', 'full-12', { failures: 12 }],
      ['full-0@x.test', 'accept', 'accept', {}],
      ['soft-2@x.test', 'soft', 'soft-2', { failures: 2 }],
      ['soft02@x.test', 'soft', 'soft-2', { failures: 2 }],
      ['soft@x.test', 'accept', 'accept', {}],
      ['ratelimit@x.test', 'ratelimit', 'ratelimit', {}],
      ['rate-limit@x.test', 'ratelimit', 'ratelimit', {}],
      ['ratelimit-ip@x.test', 'ratelimit', 'ratelimit-ip', {}],
      ['unknown@x.test', 'unknown', 'unknown', {}],
      ['nouser@x.test', 'unknown', 'unknown', {}],
      ['toolarge@x.test', 'toolarge', 'toolarge', {}],
      ['too-large@x.test', 'toolarge', 'toolarge', {}],
      ['blocked@x.test', 'blocked', 'blocked', {}],
      ['policy@x.test', 'blocked', 'blocked', {}],
      ['drop@x.test', 'drop', 'drop', {}],
      ['slow-1500@x.test', 'slow', 'slow-1500', { delayMs: 1500 }],
      ['slow-0@x.test', 'slow', 'slow-0', { delayMs: 0 }],
      ['slow@x.test', 'accept', 'accept', {}],
      ['  Drop+X@Y.test ', 'drop', 'drop', {}],
      ['unknown', 'unknown', 'unknown', {}],
      ['a@b@unknown@x.test', 'accept', 'accept', {}],
      ['bouncelater@x.test', 'bouncelater', 'bouncelater', { reportDelaySeconds: 2 }],
      ['BounceLater-10+t@x.test', 'bouncelater', 'bouncelater-10', { reportDelaySeconds: 10 }],
      ['bouncelater-0@x.test', 'bouncelater', 'bouncelater-0', { reportDelaySeconds: 0 }],
      ['bouncelater-123456@x.test', 'accept', 'accept', {}],
      ['bouncelater10@x.test', 'accept', 'accept', {}],
      ['delaylater@x.test', 'delaylater', 'delaylater', { reportDelaySeconds: 2 }],
      ['delaylater-5@x.test', 'delaylater', 'delaylater-5', { reportDelaySeconds: 5 }],
      ['complain@x.test', 'complain', 'complain', { reportDelaySeconds: 2 }],
      ['complain-60+a@x.test', 'complain', 'complain-60', { reportDelaySeconds: 60 }],
      ['complaint@x.test', 'accept', 'accept', {}],
    ];
    for (const [address, kind, name, params] of cases) {
      const s = scenarioFor(address);
      const { kind: k, name: n, base: _b, tag: _t, key: _k, ...rest } = s;
      assert.deepEqual([k, n, rest], [kind, name, params], address);
    }
    assert.deepEqual(scenarioFor(' Soft-2+Retry@Example.TEST'), {
      kind: 'soft',
      name: 'soft-2',
      base: 'soft-2',
      tag: 'retry',
      key: 'soft-2+retry@example.test',
      failures: 2,
    });
  });
});

describe('rcptDecision', () => {
  const OK = '250 2.1.5 Recipient OK';
  test('the reply on each attempt, one scenario a row', () => {
    const cases: [string, string[]][] = [
      ['alice@x.test', [OK, OK]],
      ['greylist@x.test', ['450 4.2.0 <greylist@x.test>: Recipient address rejected: Greylisted, try again in 60 seconds', OK, OK]],
      ['Greylist-5+a@x.test', ['450 4.2.0 <Greylist-5+a@x.test>: Recipient address rejected: Greylisted, try again in 5 seconds', OK]],
      ['full@x.test', ['452 4.2.2 <full@x.test>: mailbox full, over quota', '452 4.2.2 <full@x.test>: mailbox full, over quota', '452 4.2.2 <full@x.test>: mailbox full, over quota']],
      ['full-2@x.test', ['452 4.2.2 <full-2@x.test>: mailbox full, over quota', '452 4.2.2 <full-2@x.test>: mailbox full, over quota', OK]],
      ['soft-2@x.test', ['451 4.3.0 Temporary local problem, please try again later', '451 4.3.0 Temporary local problem, please try again later', OK]],
      ['ratelimit@x.test', ['421 4.7.0 Too many messages, slow down', '421 4.7.0 Too many messages, slow down']],
      ['ratelimit-ip@x.test', ['421 4.7.28 [127.0.0.1] Our system has detected an unusual rate of unsolicited mail originating from your IP address. To protect our users from spam, mail sent from your IP address has been temporarily rate limited.']],
      ['unknown@x.test', ['550 5.1.1 <unknown@x.test>: Recipient address rejected: User unknown']],
      ['policy@x.test', ['554 5.7.1 <policy@x.test>: Relay access denied: message rejected due to policy']],
      ['toolarge@x.test', [OK, OK]],
      ['slow-20@x.test', [OK]],
      ['bouncelater@x.test', [OK, OK]],
      ['delaylater-3@x.test', [OK]],
      ['complain@x.test', [OK]],
    ];
    for (const [address, replies] of cases) {
      replies.forEach((reply, i) => {
        const d = rcptDecision(address, i + 1);
        assert.equal(`${d.code} ${d.text}`, reply, `${address}, attempt ${i + 1}`);
        assert.equal(d.drop, undefined);
      });
    }
  });

  test('the sink default hint, drop and slow', () => {
    assert.match(rcptDecision('greylist@x.test', 1, 30).text, /try again in 30 seconds$/);
    assert.match(rcptDecision('greylist-7@x.test', 1, 30).text, /try again in 7 seconds$/);
    assert.deepEqual(
      { ...rcptDecision('drop@x.test', 1), scenario: undefined },
      { scenario: undefined, code: 0, text: '(connection dropped)', drop: true },
    );
    assert.equal(rcptDecision('slow-20@x.test', 1).delayMs, 20);
    assert.equal(rcptDecision('slow-0@x.test', 1).delayMs, 0);
    assert.equal(rcptDecision('alice@x.test', 1).delayMs, undefined);
  });

  test('the DATA reply: 552 5.3.4 for the whole transaction when one recipient is toolarge', () => {
    assert.deepEqual(dataReply(['a@x.test']), { code: 250, enhanced: '2.0.0', text: 'Ok: queued as {id}' });
    assert.deepEqual(dataReply([]), { code: 250, enhanced: '2.0.0', text: 'Ok: queued as {id}' });
    assert.deepEqual(dataReply(['a@x.test', 'Too-Large+1@x.test']), { code: 552, enhanced: '5.3.4', text: 'Message size exceeds fixed limit' });
  });
});

describe('laterReport', () => {
  test('the report a recipient owes once queued, and its delay', () => {
    const cases: [string, ReturnType<typeof laterReport>][] = [
      ['alice@x.test', null],
      ['unknown@x.test', null],
      ['bouncelater@x.test', { kind: 'dsn-failed', delaySeconds: 2 }],
      ['bouncelater-7+a@x.test', { kind: 'dsn-failed', delaySeconds: 7 }],
      ['delaylater-0@x.test', { kind: 'dsn-delayed', delaySeconds: 0 }],
      ['Complain@x.test', { kind: 'complaint', delaySeconds: 2 }],
    ];
    for (const [address, want] of cases) assert.deepEqual(laterReport(address), want, address);
  });

  test('late-report scenarios are queued like accept', () => {
    for (const a of ['bouncelater@x.test', 'delaylater@x.test', 'complain@x.test']) {
      assert.deepEqual(dataReply([a]), { code: 250, enhanced: '2.0.0', text: 'Ok: queued as {id}' }, a);
    }
  });
});

describe('the scenario table as documented', () => {
  test('every row: a kind, documented local parts, a description; shortened texts keep their words', () => {
    for (const row of SCENARIOS) {
      assert.ok(row.localParts.length > 0, row.kind);
      assert.ok(row.description.length > 0 && !row.description.includes('\n'), row.kind);
      for (const reply of [row.rcpt, row.data]) {
        if (!reply?.shown) continue;
        // each piece between '...' appears in the real text, in order
        let from = 0;
        for (const piece of reply.shown.split('...').map((p) => p.trim()).filter(Boolean)) {
          const at = reply.text.indexOf(piece, from);
          assert.ok(at >= 0, `${row.localParts[0]}: "${piece}" is in the reply text`);
          from = at + piece.length;
        }
      }
    }
  });

  test('every documented local part selects its own row', () => {
    const example = (part: string): string => part.replace(/-K$|K$/, (m) => m.replace('K', '3')).replace(/-N$/, '-30').replace(/-MS$/, '-10').replace(/-S$/, '-5');
    for (const row of SCENARIOS) {
      if (!row.match) continue;
      for (const part of row.localParts) {
        const address = `${example(part)}@x.test`;
        const s = scenarioFor(address);
        assert.equal(s.kind, row.kind, address);
        const d = rcptDecision(address, 1);
        if (row.rcpt) assert.ok(`${d.code} ${d.text}`.startsWith(`${row.rcpt.code} ${row.rcpt.enhanced} `), address);
      }
    }
  });

  test('`rebound sink --help` lists every row with its reply', () => {
    const sink = buildProgram().commands.find((c) => c.name() === 'sink');
    assert.ok(sink, 'the sink command exists');
    let help = '';
    sink.configureOutput({ writeOut: (s) => (help += s) });
    sink.outputHelp();
    assert.ok(help.includes(scenarioTable()), help);
    assert.equal(SCENARIO_HELP.length, SCENARIOS.length);
    for (const row of SCENARIOS) {
      assert.ok(help.includes(row.localParts.join(', ')), row.localParts.join(', '));
      if (row.rcpt) assert.ok(help.includes(shownReply(row.rcpt)), shownReply(row.rcpt));
    }
  });

  test('scenarioMarkdown: a header and one line per row', () => {
    const lines = scenarioMarkdown().split('\n');
    assert.equal(lines.length, SCENARIOS.length + 2);
    assert.equal(lines[0], '| local part | reply | when |');
    for (const line of lines) assert.match(line, /^\|.*\|$/);
    assert.ok(lines.includes("| `greylist`, `greylist-N` | `450 4.2.0 <addr>: Recipient address rejected: Greylisted, try again in N seconds` | the address's first RCPT (N: 60 when absent), then accepted whenever it comes back |"));
  });

  test(
    'the README "The bounce simulator" table is scenarioMarkdown()',
    () => {
      const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
      const section = readme.split(/^## /m).find((s) => s.startsWith('The bounce simulator\n'));
      assert.ok(section, 'README.md has a "## The bounce simulator" section');
      const table = section
        .split('\n')
        .filter((line) => line.startsWith('|'))
        .join('\n');
      assert.equal(table, scenarioMarkdown());
    },
  );
});
