// Suppression CSV import and export (README "Reputation and suppression": operators import and
// export suppressions).
// Expected line numbers are counted by hand (or, for generated files, from the text itself).
// Long because every malformed-file case is spelled out as a file, which is what it tests.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import type { SuppressionRow } from '../../src/reputation/store';
import { ValidationError } from '../../src/errors';
import { SUPPRESSION_CSV_COLUMNS, parseIsoDateTime, parseSuppressionCsv, suppressionsToCsv } from '../../src/reputation/csv';

const NOW = Date.parse('2025-06-01T00:00:00Z');
const DAY = 24 * 60 * 60 * 1000;
const inDays = (days: number) => new Date(NOW + days * DAY).toISOString();
const parseCsv = (text: string, defaultDays?: number | null) =>
  parseSuppressionCsv(text, defaultDays === undefined ? { nowMs: NOW } : { nowMs: NOW, defaultDays });
const lines = (...ls: string[]) => ls.join('\n') + '\n';
const errorLines = (r: { errors: { line: number }[] }) => r.errors.map((e) => e.line);

describe('suppression CSV: header', () => {
  it('matches column names case-insensitively, in any order, ignoring unknown columns', () => {
    const r = parseCsv(lines(' Note ,ADDRESS,Extra, Reason', 'hello,A@Example.COM,zzz,manual_x'));
    assert.deepEqual(r.errors, []);
    assert.deepEqual(r.rows, [{ address: 'a@example.com', reason: 'manual_x', expiresAt: inDays(180), note: 'hello' }]);
    assert.equal(r.total, 1);
    assert.equal(r.skipped, 0);
  });

  it('needs only an address column', () => {
    const r = parseCsv(lines('address', 'a@example.com', 'b@example.com'));
    assert.deepEqual(r.errors, []);
    assert.deepEqual(r.rows.map((x) => x.address), ['a@example.com', 'b@example.com']);
  });

  it('reports a header without an address column at line 1 and reads nothing', () => {
    const r = parseCsv(lines('email,reason', 'a@example.com,x'));
    assert.deepEqual(errorLines(r), [1]);
    assert.match(r.errors[0].message, /"address"/);
    assert.deepEqual(r.rows, []);
    assert.equal(r.total, 0);
  });

  it('reports a file without a header (first line is data) at line 1', () => {
    const r = parseCsv(lines('a@example.com', 'b@example.com'));
    assert.deepEqual(errorLines(r), [1]);
    assert.match(r.errors[0].message, /name the columns/);
    assert.deepEqual(r.rows, []);
  });

  it('reports an empty or blank file', () => {
    for (const text of ['', '\n\n', '\r\n']) {
      const r = parseCsv(text);
      assert.deepEqual(errorLines(r), [1], JSON.stringify(text));
      assert.match(r.errors[0].message, /empty file/);
    }
  });

  it('accepts a header with no rows', () => {
    assert.deepEqual(parseCsv('address,reason\n'), { rows: [], errors: [], total: 0, skipped: 0 });
    assert.deepEqual(parseCsv('address,reason'), { rows: [], errors: [], total: 0, skipped: 0 });
  });

  it('rejects a known column named twice', () => {
    const r = parseCsv(lines('address,note,Address', 'a@example.com,x,b@example.com'));
    assert.deepEqual(errorLines(r), [1]);
    assert.match(r.errors[0].message, /"address" appears twice/);
    assert.deepEqual(r.rows, []);
  });

  it('ignores a byte order mark and CRLF line ends', () => {
    const r = parseCsv('\ufeffAddress,Reason\r\na@example.com,list_cleanup\r\n');
    assert.deepEqual(r.errors, []);
    assert.deepEqual(r.rows, [{ address: 'a@example.com', reason: 'list_cleanup', expiresAt: inDays(180), note: null }]);
  });

  it('counts blank lines before the header', () => {
    const r = parseCsv(lines('', '', 'address', 'bad'));
    assert.deepEqual(errorLines(r), [4]);
  });

  it('reports a malformed header line', () => {
    const r = parseCsv(lines('"address,note', 'a@example.com,x'));
    assert.deepEqual(errorLines(r), [1]);
    assert.match(r.errors[0].message, /malformed CSV header/);
    assert.deepEqual(r.rows, []);
  });
});

describe('suppression CSV: defaults', () => {
  it('defaults reason to import, expiry to 180 days and note to null; normalises addresses', () => {
    const r = parseCsv(lines('address,reason,note', '  Someone@Example.ORG ,,', 'b@example.com, , '));
    assert.deepEqual(r.errors, []);
    assert.deepEqual(r.rows, [
      { address: 'someone@example.org', reason: 'import', expiresAt: inDays(180), note: null },
      { address: 'b@example.com', reason: 'import', expiresAt: inDays(180), note: null },
    ]);
  });

  it('uses defaultDays for rows without an expiry; null means never', () => {
    assert.equal(parseCsv(lines('address', 'a@example.com'), 30).rows[0].expiresAt, inDays(30));
    assert.equal(parseCsv(lines('address', 'a@example.com'), 0.5).rows[0].expiresAt, inDays(0.5));
    assert.equal(parseCsv(lines('address', 'a@example.com'), null).rows[0].expiresAt, null);
  });

  it('rejects an invalid defaultDays', () => {
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, 3651]) {
      assert.throws(() => parseCsv(lines('address', 'a@example.com'), bad), ValidationError, String(bad));
    }
  });

  it('trims the note and keeps its inner text as written', () => {
    const r = parseCsv(lines('address,note', 'a@example.com,"  asked us, politely, to stop ""for good""  "'));
    assert.equal(r.rows[0].note, 'asked us, politely, to stop "for good"');
  });

  it('accepts a note of exactly 500 characters (counted as code points)', () => {
    const r = parseCsv(lines('address,note', `a@example.com,${'x'.repeat(500)}`, `b@example.com,${'😀'.repeat(500)}`));
    assert.deepEqual(r.errors, []);
    assert.equal(r.rows.length, 2);
  });
});

describe('suppression CSV: expires_at and days', () => {
  it('takes expires_at (any zone, normalised to UTC)', () => {
    const r = parseCsv(
      lines(
        'address,expires_at',
        'a@example.com,2030-01-01T00:00:00Z',
        'b@example.com,2030-01-01T02:30:00+02:30',
        'c@example.com,2030-01-01T00:00:00.123456Z',
        'd@example.com,2030-01-01 00:00Z',
        'e@example.com,2030-01-01T05:00:00-0500',
        'f@example.com,2028-02-29T00:00:00Z',
      ),
    );
    assert.deepEqual(r.errors, []);
    assert.deepEqual(
      r.rows.map((x) => x.expiresAt),
      [
        '2030-01-01T00:00:00.000Z',
        '2030-01-01T00:00:00.000Z',
        '2030-01-01T00:00:00.123Z',
        '2030-01-01T00:00:00.000Z',
        '2030-01-01T10:00:00.000Z',
        '2028-02-29T00:00:00.000Z',
      ],
    );
  });

  it('takes days when expires_at is empty, then falls back to defaultDays', () => {
    const r = parseCsv(
      lines(
        'address,expires_at,days',
        'a@example.com,2030-01-01T00:00:00Z,7', // expires_at wins
        'b@example.com,,7',
        'c@example.com,,1.5',
        'd@example.com,,', // neither: default
        'e@example.com, , ',
      ),
      null,
    );
    assert.deepEqual(r.errors, []);
    assert.deepEqual(
      r.rows.map((x) => [x.address, x.expiresAt]),
      [
        ['a@example.com', '2030-01-01T00:00:00.000Z'],
        ['b@example.com', inDays(7)],
        ['c@example.com', inDays(1.5)],
        ['d@example.com', null],
        ['e@example.com', null],
      ],
    );
  });

  it('uses the days column without an expires_at column', () => {
    const r = parseCsv(lines('address,days', 'a@example.com,10', 'b@example.com,'), 20);
    assert.deepEqual(r.rows.map((x) => x.expiresAt), [inDays(10), inDays(20)]);
  });
});

describe('suppression CSV: the expires_at date-time form', () => {
  it('accepts ISO 8601 date-times with a zone, in the forms people and exports write', () => {
    const accepted: [string, string][] = [
      ['2030-01-31T00:00:00Z', '2030-01-31T00:00:00.000Z'],
      ['2030-01-31T00:00:00.000Z', '2030-01-31T00:00:00.000Z'],
      ['2030-01-31t12:34:56z', '2030-01-31T12:34:56.000Z'],
      ['2030-01-31 12:34Z', '2030-01-31T12:34:00.000Z'],
      ['2030-01-31T12:34:56.7Z', '2030-01-31T12:34:56.700Z'],
      ['2030-01-31T12:34:56,25Z', '2030-01-31T12:34:56.250Z'],
      ['2030-01-31T12:34:56.999999999Z', '2030-01-31T12:34:56.999Z'], // cut, not rounded
      ['2030-01-31T12:00:00+05:30', '2030-01-31T06:30:00.000Z'],
      ['2030-01-31T12:00:00-0800', '2030-01-31T20:00:00.000Z'],
      ['2030-01-31T00:00:00+23:59', '2030-01-30T00:01:00.000Z'],
      ['2030-01-31T23:59:59-23:59', '2030-02-01T23:58:59.000Z'],
      ['2028-02-29T00:00:00Z', '2028-02-29T00:00:00.000Z'], // leap year
      ['2000-02-29T00:00:00Z', '2000-02-29T00:00:00.000Z'], // divisible by 400
      ['0050-06-01T00:00:00Z', '0050-06-01T00:00:00.000Z'], // not mapped to 1950
    ];
    for (const [value, iso] of accepted) {
      const ms = parseIsoDateTime(value);
      assert.equal(ms === null ? null : new Date(ms).toISOString(), iso, value);
    }
  });

  it('rejects dates without a time or a zone, days that do not exist and values out of range', () => {
    const rejected = [
      '2030-01-31', // no time
      '2030-01-31T00:00:00', // no zone
      '2030-01-31T00Z', // no minutes
      '2030-02-29T00:00:00Z', // not a leap year
      '2100-02-29T00:00:00Z', // divisible by 100, not 400
      '2030-04-31T00:00:00Z',
      '2030-13-01T00:00:00Z',
      '2030-00-10T00:00:00Z',
      '2030-01-00T00:00:00Z',
      '2030-01-32T00:00:00Z',
      '2030-01-31T24:00:00Z',
      '2030-01-31T23:60:00Z',
      '2030-01-31T23:59:60Z', // no leap seconds
      '2030-01-31T00:00:00.Z', // a fraction needs digits
      '2030-01-31T00:00:00.1234567890Z', // at most 9 digits
      '2030-01-31T00:00:00+24:00',
      '2030-01-31T00:00:00+05:60',
      '2030-01-31T00:00:00+5:30',
      '2030-01-31T00:00:00 UTC',
      '2030-1-31T00:00:00Z',
      '30-01-31T00:00:00Z',
      '+002030-01-31T00:00:00Z', // expanded years
      '2030-01-31X00:00:00Z',
      ' 2030-01-31T00:00:00Z', // the caller trims
      'Thu, 31 Jan 2030 00:00:00 GMT', // Date.parse would take it
      '',
    ];
    for (const value of rejected) assert.equal(parseIsoDateTime(value), null, value);
  });
});

describe('suppression CSV: errors with line numbers', () => {
  it('reports every kind of bad row at its line and keeps the good rows', () => {
    const text = lines(
      'address,reason,expires_at,days,note', // 1
      'ok1@example.com,,,,', // 2
      'not-an-address,,,,', // 3 bad address
      ',,,,', // 4 missing address
      'ok2@example.com,Bad-Reason,,,', // 5 bad reason
      'ok3@example.com,,2020-01-01T00:00:00Z,,', // 6 past
      'ok4@example.com,,2030-02-30T00:00:00Z,,', // 7 no such day
      'ok5@example.com,,2030-01-01,,', // 8 date without time
      'ok6@example.com,,2030-01-01T00:00:00,,', // 9 no zone
      'ok7@example.com,,,0,', // 10 days not positive
      'ok8@example.com,,,abc,', // 11 days not a number
      'ok9@example.com,,,4000,', // 12 too many days
      `ok10@example.com,,,,${'n'.repeat(501)}`, // 13 note too long
      'ok11@example.com,,,', // 14 too few fields
      'ok12@example.com,,,,,', // 15 too many fields
      'ok13@exa"mple.com,,,,', // 16 quote inside an unquoted value
      '"ok14@example.com"x,,,,', // 17 text after a closing quote
      'a b@example.com,,,,', // 18 space in address
      'ok15@example.com,,,,', // 19
      `ok16@example.com,,${new Date(NOW).toISOString()},,`, // 20 expiring right now
    );
    const r = parseCsv(text);
    const expected: [number, RegExp][] = [
      [3, /^invalid address "not-an-address": missing "@"$/],
      [4, /^missing address$/],
      [5, /^invalid reason "Bad-Reason"/],
      [6, /^expires_at "2020-01-01T00:00:00Z" is in the past$/],
      [7, /^invalid expires_at "2030-02-30T00:00:00Z": expected an ISO 8601 date-time/],
      [8, /^invalid expires_at "2030-01-01"/],
      [9, /^invalid expires_at "2030-01-01T00:00:00"/],
      [10, /^invalid days "0"/],
      [11, /^invalid days "abc"/],
      [12, /^invalid days "4000"/],
      [13, /^note is 501 characters long \(at most 500\)$/],
      [14, /^expected 5 fields as in the header, found 4$/],
      [15, /^expected 5 fields as in the header, found 6/],
      [16, /^malformed CSV: a quote/],
      [17, /^malformed CSV: quotes do not pair up/],
      [18, /^invalid address "a b@example.com": .*spaces/],
      [20, /is in the past/],
    ];
    assert.deepEqual(errorLines(r), expected.map(([line]) => line));
    r.errors.forEach((e, i) => assert.match(e.message, expected[i][1], `line ${e.line}: ${e.message}`));
    assert.deepEqual(r.rows.map((x) => x.address), ['ok1@example.com', 'ok15@example.com']);
    assert.equal(r.total, 19);
  });

  it('recovers after a quote that is never closed in the middle of the file', () => {
    const r = parseCsv(
      lines(
        'address,note', // 1
        'a@example.com,"never closed', // 2
        'b@example.com,fine', // 3
        'c@example.com,"quoted, fine"', // 4
        'd@example.com,', // 5
        'bad,', // 6
      ),
    );
    assert.deepEqual(errorLines(r), [2, 6]);
    assert.match(r.errors[0].message, /^malformed CSV/);
    assert.deepEqual(
      r.rows.map((x) => [x.address, x.note]),
      [
        ['b@example.com', 'fine'],
        ['c@example.com', 'quoted, fine'],
        ['d@example.com', null],
      ],
    );
  });

  it('recovers after a quote that is still open at the end of the file', () => {
    const r = parseCsv(lines('address,note', 'a@example.com,x', 'b@example.com,"open', 'c@example.com,y'));
    assert.deepEqual(errorLines(r), [3]);
    assert.match(r.errors[0].message, /never closed/);
    assert.deepEqual(r.rows.map((x) => x.address), ['a@example.com', 'c@example.com']);
  });

  it('reports many stray quotes each at its own line without losing the rows between them', () => {
    // Every third row has an unescaped quote in an unquoted note; the others are plain or have a
    // properly quoted note, so the quotes of the whole file never balance until the end.
    const records = ['address,note'];
    const bad: number[] = [];
    for (let i = 0; i < 3000; i++) {
      if (i % 3 === 0) {
        records.push(`u${i}@example.com,He said "stop`);
        bad.push(i + 2);
      } else {
        records.push(i % 3 === 1 ? `u${i}@example.com,"quoted, fine"` : `u${i}@example.com,plain`);
      }
    }
    const r = parseCsv(records.join('\n'));
    assert.deepEqual(errorLines(r), bad);
    assert.ok(r.errors.every((e) => /^malformed CSV: a quote/.test(e.message)));
    assert.equal(r.rows.length, 2000);
    assert.equal(r.total, 3000);
  });

  it('counts blank lines (LF, CRLF, CR) and ignores them and whitespace-only lines', () => {
    const r = parseCsv('address,reason\r\n\r\na@example.com,x\r\n   \r\n\r\nbad,x\r\n\n\rworse,x\n');
    assert.deepEqual(errorLines(r), [6, 9]);
    assert.equal(r.total, 3);
  });
});

describe('suppression CSV: multi-line quoted notes', () => {
  it('keeps the line numbers after a multi-line note right', () => {
    const text = lines(
      'address,note', // 1
      'a@example.com,"first', // 2
      'second', // 3
      'third"', // 4
      'bad-address,', // 5
      'b@example.com,"x ""quoted""', // 6
      'y"', // 7
      'also-bad,', // 8
    );
    for (const variant of [text, text.replace(/\n/g, '\r\n')]) {
      const r = parseCsv(variant);
      assert.deepEqual(errorLines(r), [5, 8]);
      const eol = variant === text ? '\n' : '\r\n';
      assert.deepEqual(
        r.rows.map((x) => x.note),
        [`first${eol}second${eol}third`, `x "quoted"${eol}y`],
      );
    }
  });

  it('keeps line numbers right across many multi-line notes, stray quotes and windows', () => {
    // 3,000 records; every 7th has a three-line note, every 101st a bad address, every 997th a
    // stray quote. Expected lines are counted from the generated text.
    const records: string[] = ['address,reason,note'];
    const bad: number[] = [];
    let line = 2;
    for (let i = 0; i < 3000; i++) {
      let rec: string;
      if (i % 997 === 500) rec = `stray${i}@exa"mple.com,import,`;
      else if (i % 101 === 50) rec = `bad-${i},import,`;
      else if (i % 7 === 0) rec = `u${i}@example.com,import,"note ${i}, line one\nline ""two""\nline three"`;
      else rec = `u${i}@example.com,import,plain ${i}`;
      if (rec.startsWith('bad-') || rec.startsWith('stray')) bad.push(line);
      records.push(rec);
      line += 1 + (rec.match(/\n/g)?.length ?? 0);
    }
    const r = parseCsv(records.join('\n') + '\n');
    assert.deepEqual(errorLines(r), bad);
    assert.equal(r.rows.length + r.errors.length, 3000);
    assert.equal(r.rows.find((x) => x.address === 'u7@example.com')?.note, 'note 7, line one\nline "two"\nline three');
  });

  it('reads a file the same whether or not its values are quoted', () => {
    const plain: string[] = ['address,reason,days,note'];
    for (let i = 0; i < 2000; i++) plain.push(i % 97 === 0 ? `bad${i},import,3,n` : `u${i}@example.com,import,${(i % 5) + 1},note ${i}`);
    const quoted = plain.map((l) => l.split(',').map((f) => `"${f}"`).join(','));
    const a = parseCsv(plain.join('\n') + '\n');
    const b = parseCsv(quoted.join('\r\n'));
    assert.equal(a.errors.length, Math.ceil(2000 / 97));
    assert.deepEqual(b, a);
  });
});

describe('suppression CSV: lifted rows and duplicates', () => {
  it('skips rows whose lifted_at is set, counting them apart', () => {
    const r = parseCsv(
      lines(
        'address,lifted_at',
        'a@example.com,',
        'b@example.com,2025-05-01T00:00:00.000Z',
        'not-valid-but-lifted,2025-05-01T00:00:00.000Z',
        'bad,',
      ),
    );
    assert.deepEqual(r.rows.map((x) => x.address), ['a@example.com']);
    assert.deepEqual(errorLines(r), [5]);
    assert.equal(r.skipped, 2);
    assert.equal(r.total, 4);
  });

  it('keeps the last row of a repeated address, without reporting it', () => {
    const r = parseCsv(lines('address,reason', 'a@example.com,first', 'b@example.com,', 'A@EXAMPLE.com,second'));
    assert.deepEqual(r.errors, []);
    assert.deepEqual(
      r.rows.map((x) => [x.address, x.reason]),
      [
        ['a@example.com', 'second'],
        ['b@example.com', 'import'],
      ],
    );
    assert.equal(r.total, 3);
  });
});

function row(over: Partial<SuppressionRow>): SuppressionRow {
  return {
    address: 'x@example.com',
    reason: 'manual',
    category: null,
    source: 'manual',
    messageId: null,
    reply: null,
    since: '2025-05-01T00:00:00.000Z',
    until: null,
    actor: null,
    note: null,
    liftedAt: null,
    ...over,
  };
}

describe('suppression CSV: export', () => {
  it('writes the header and the rows in column order, empty for null', () => {
    assert.deepEqual([...SUPPRESSION_CSV_COLUMNS], ['address', 'reason', 'category', 'source', 'created_at', 'expires_at', 'lifted_at', 'message_id', 'note']);
    const csv = suppressionsToCsv([
      row({
        address: 'hb@example.com',
        reason: 'hard_bounce',
        category: 'unknown_user',
        source: 'auto',
        messageId: 'msg-1',
        since: '2025-05-01T10:00:00Z',
        until: '2025-10-28T10:00:00+00:00',
      }),
      row({ address: 'm@example.com', note: 'asked, "nicely"' }),
    ]);
    assert.equal(
      csv,
      'address,reason,category,source,created_at,expires_at,lifted_at,message_id,note\n' +
        'hb@example.com,hard_bounce,unknown_user,auto,2025-05-01T10:00:00.000Z,2025-10-28T10:00:00.000Z,,msg-1,\n' +
        'm@example.com,manual,,manual,2025-05-01T00:00:00.000Z,never,,,"asked, ""nicely"""\n',
    );
  });

  it('writes only the header for no rows', () => {
    assert.equal(suppressionsToCsv([]), `${SUPPRESSION_CSV_COLUMNS.join(',')}\n`);
  });

  it('round-trips: an export parses back to the same suppressions', () => {
    const rows = [
      row({ address: 'hb@example.com', reason: 'hard_bounce', category: 'unknown_user', source: 'auto', messageId: 'm-1', until: '2025-11-01T00:00:00.000Z' }),
      row({ address: 'soft@example.com', reason: 'soft_bounce_threshold', category: 'mailbox_full', source: 'auto', until: '2025-12-24T12:34:56.789Z', note: 'five in a row' }),
      row({ address: 'forever@example.com', note: 'He said "stop", twice,\nthen\r\nagain\rand again' }),
      row({ address: 'lifted@example.com', until: '2025-11-01T00:00:00.000Z', liftedAt: '2025-05-02T00:00:00.000Z' }),
      row({ address: 'imp@example.com', reason: 'import', source: 'import', until: '2026-01-01T00:00:00.000Z', note: ' padded ' }),
    ];
    const csv = suppressionsToCsv(rows);
    // Rows without an expiry come back without one only when the import default is "never".
    const r = parseCsv(csv, null);
    assert.deepEqual(r.errors, []);
    assert.equal(r.total, 5);
    assert.equal(r.skipped, 1);
    assert.deepEqual(
      r.rows,
      rows
        .filter((x) => x.liftedAt === null)
        .map((x) => ({ address: x.address, reason: x.reason, expiresAt: x.until, note: x.note?.trim() ?? null })),
    );
    // And exporting what was read gives the same import again.
    const again = suppressionsToCsv(r.rows.map((x) => row({ address: x.address, reason: x.reason, until: x.expiresAt, note: x.note })));
    assert.deepEqual(parseCsv(again, null).rows, r.rows);
  });
});

describe('suppression CSV: 100,000 rows', () => {
  it('parses 100,000 valid rows and reports 5 bad ones at their lines', () => {
    const header = 'address,reason,expires_at,days,note';
    const parts: string[] = [header];
    const badAt = new Map<number, [string, RegExp]>([
      [15_000, ['not-an-address,import,,,', /^invalid address "not-an-address"/]],
      [35_000, ['badreason@example.com,Hard-Bounce,,,', /^invalid reason "Hard-Bounce"/]],
      [55_000, ['past@example.com,import,2001-01-01T00:00:00Z,,', /is in the past/]],
      [75_000, ['baddate@example.com,import,2030-13-45T00:00:00Z,,', /^invalid expires_at "2030-13-45T00:00:00Z"/]],
      [95_000, ['"unclosed@example.com,import,,,', /^malformed CSV/]],
    ]);
    const expected: [number, RegExp][] = [];
    let line = 2;
    for (let i = 0; i < 100_000; i++) {
      const bad = badAt.get(i);
      if (bad) {
        parts.push(bad[0]);
        expected.push([line, bad[1]]);
        line += 1;
      }
      const expires = i % 3 === 0 ? '2030-01-01T00:00:00Z' : '';
      const days = i % 3 === 1 ? String((i % 90) + 1) : '';
      const note = i % 1000 === 0 ? `"note ${i}, line one\nline ""two"""` : i % 10 === 0 ? `"note ${i}, with a comma"` : i % 10 === 1 ? `note ${i}` : '';
      const rec = `user${i}@example${i % 50}.com,${i % 2 === 0 ? 'import' : 'hard_bounce'},${expires},${days},${note}`;
      parts.push(rec);
      line += 1 + (rec.match(/\n/g)?.length ?? 0);
    }
    const text = parts.join('\n') + '\n';

    const started = performance.now();
    const r = parseSuppressionCsv(text, { nowMs: NOW, defaultDays: 180 });
    const elapsedMs = performance.now() - started;
    console.log(`parseSuppressionCsv: 100,005 rows (${(text.length / 1e6).toFixed(1)} MB) in ${elapsedMs.toFixed(0)} ms`);

    assert.equal(r.rows.length, 100_000);
    assert.deepEqual(errorLines(r), expected.map(([l]) => l));
    r.errors.forEach((e, i) => assert.match(e.message, expected[i][1], `line ${e.line}: ${e.message}`));
    assert.equal(r.total, 100_005);
    assert.equal(r.skipped, 0);
    assert.deepEqual(r.rows[0], { address: 'user0@example0.com', reason: 'import', expiresAt: '2030-01-01T00:00:00.000Z', note: 'note 0, line one\nline "two"' });
    assert.deepEqual(r.rows[99_998], { address: 'user99998@example48.com', reason: 'import', expiresAt: inDays(180), note: null });
  });
});
