// The line-numbered CSV reader behind the suppression import (README "Reputation and
// suppression": an import reports bad rows by line number). Expected lines are counted by hand,
// or for generated files from the text itself.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { readCsvRecords, type CsvLineRecord } from '../../src/reputation/csv-reader';

const read = (text: string): CsvLineRecord[] => [...readCsvRecords(text)];
/** Records as [line, fields] and problems as [line, 'problem'], for short assertions. */
const brief = (text: string) => read(text).map((r) => (r.problem !== undefined ? [r.line, 'problem'] : [r.line, r.fields]));

describe('readCsvRecords: lines', () => {
  it('numbers records by physical line, for LF, CRLF and lone CR alike', () => {
    for (const eol of ['\n', '\r\n', '\r']) {
      assert.deepEqual(brief(['a,b', 'c,d', 'e'].join(eol) + eol), [[1, ['a', 'b']], [2, ['c', 'd']], [3, ['e']]], JSON.stringify(eol));
    }
  });

  it('gives blank lines as one empty field and counts them', () => {
    assert.deepEqual(brief('a\n\n\r\nb\r\rc'), [[1, ['a']], [2, ['']], [3, ['']], [4, ['b']], [5, ['']], [6, ['c']]]);
  });

  it('reads the last line without a line break, and nothing after a final break', () => {
    assert.deepEqual(brief('a\nb'), [[1, ['a']], [2, ['b']]]);
    assert.deepEqual(brief('a\nb\n'), [[1, ['a']], [2, ['b']]]);
    assert.deepEqual(brief(''), []);
  });

  it('splits unquoted lines at every comma and keeps spaces', () => {
    assert.deepEqual(brief(' a , b ,,'), [[1, [' a ', ' b ', '', '']]]);
  });
});

describe('readCsvRecords: quoted values', () => {
  it('unquotes values and undoubles quotes', () => {
    assert.deepEqual(brief('"a, b","say ""hi""",c\n'), [[1, ['a, b', 'say "hi"', 'c']]]);
  });

  it('keeps line breaks inside quoted values and numbers the following lines after them', () => {
    const text = 'x,"one\ntwo\r\nthree\rfour"\nnext\n"a\n\nb"\nlast\n';
    assert.deepEqual(brief(text), [
      [1, ['x', 'one\ntwo\r\nthree\rfour']],
      [5, ['next']],
      [6, ['a\n\nb']],
      [9, ['last']],
    ]);
  });
});

describe('readCsvRecords: malformed records', () => {
  it('reports each kind at its first line, with a hint, and reads on from the next line', () => {
    const records = read(['ok1', 'a"b,c', '"x"y,z', '"never closed', 'ok2', ''].join('\n'));
    assert.deepEqual(records.map((r) => r.line), [1, 2, 3, 4, 5]);
    assert.deepEqual(records[0].fields, ['ok1']);
    assert.match(records[1].problem ?? '', /^a quote \("\) inside an unquoted value/);
    assert.match(records[2].problem ?? '', /^quotes do not pair up/);
    assert.match(records[3].problem ?? '', /never closed/);
    assert.deepEqual(records[4].fields, ['ok2']);
  });

  it('reads the lines after an unclosed quote again, as records of their own', () => {
    assert.deepEqual(brief('a,"open\nb,1\nc,"x, y"\n'), [[1, 'problem'], [2, ['b', '1']], [3, ['c', 'x, y']]]);
  });

  it('keeps line numbers right across windows, many stray quotes and multi-line values', () => {
    // 10,000 records: every 13th has a two-line value, every 89th a stray quote, every 1,000th
    // a quote that is never closed (reported at its line; the lines after it are read again).
    const lines: string[] = [];
    const expected: [number, string][] = [];
    let line = 1;
    for (let i = 0; i < 10_000; i++) {
      let rec: string;
      let kind = 'record';
      if (i % 1000 === 999) [rec, kind] = [`u${i},"unclosed`, 'problem'];
      else if (i % 89 === 0) [rec, kind] = [`u${i},st"ray`, 'problem'];
      else if (i % 13 === 0) rec = `u${i},"two\nlines"`;
      else rec = `u${i},plain`;
      lines.push(rec);
      expected.push([line, kind]);
      line += 1 + (rec.match(/\n/g)?.length ?? 0);
    }
    const got = read(lines.join('\n') + '\n');
    assert.deepEqual(
      got.map((r) => [r.line, r.problem !== undefined ? 'problem' : 'record']),
      expected,
    );
    assert.deepEqual(got.find((r) => r.fields?.[0] === 'u13')?.fields, ['u13', 'two\nlines']);
  });
});

describe('readCsvRecords: stopping early', () => {
  it('reads no further than the caller asks', () => {
    const seen: number[] = [];
    for (const r of readCsvRecords('a\nb\nc\n')) {
      seen.push(r.line);
      if (r.line === 2) break;
    }
    assert.deepEqual(seen, [1, 2]);
  });
});
