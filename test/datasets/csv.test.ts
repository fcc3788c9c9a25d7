import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FormatError } from '../../src/formats/format-error.js';
import { parseCsv, readCsv, readCsvWithHeader } from '../../src/eval/datasets/csv.js';
import { scratch } from './scratch.js';

const write = scratch();
const cells = (text: string) => parseCsv(text, 'f.csv').map((r) => r.cells);

test('plain rows, with or without a final newline, LF / CRLF / CR', () => {
  for (const eol of ['\n', '\r\n', '\r']) {
    assert.deepEqual(cells(`a,b,c${eol}1,2,3${eol}`), [['a', 'b', 'c'], ['1', '2', '3']]);
    assert.deepEqual(cells(`a,b,c${eol}1,2,3`), [['a', 'b', 'c'], ['1', '2', '3']]);
  }
  assert.deepEqual(cells('a,,c\n,,\n'), [['a', '', 'c'], ['', '', '']]);
});

test('quoted fields hold commas, newlines and doubled quotes; line numbers are where a record starts', () => {
  const text = 'id,text\n1,"one, two"\n2,"line1\nline2\r\nline3"\n3,"say ""hi"""\n4,""\n';
  const rows = parseCsv(text, 'f.csv');
  assert.deepEqual(rows.map((r) => r.cells), [['id', 'text'], ['1', 'one, two'], ['2', 'line1\nline2\r\nline3'], ['3', 'say "hi"'], ['4', '']]);
  assert.deepEqual(rows.map((r) => r.line), [1, 2, 3, 6, 7]);
});

test('blank lines are skipped; a quote inside an unquoted field is literal', () => {
  assert.deepEqual(cells('a,b\n\n\r\nc,d\n\n'), [['a', 'b'], ['c', 'd']]);
  assert.deepEqual(cells('5 o"clock,x\n'), [['5 o"clock', 'x']]);
  assert.deepEqual(cells('""\n'), [['']], 'an explicitly quoted empty field is a row');
});

test('malformed quoting is a FormatError naming file and line', () => {
  assert.throws(() => parseCsv('a,b\n1,"never closed\n2,3\n', 'x.csv'), (e: unknown) => e instanceof FormatError && e.file === 'x.csv' && /line 2: quoted field never closed/.test(e.message));
  assert.throws(() => parseCsv('a,b\n1,2\n3,"q"tail\n', 'x.csv'), (e: unknown) => e instanceof FormatError && /line 3: unexpected text after a closing quote/.test(e.message));
});

test('files: BOM dropped, missing file and header column counts reported', () => {
  const f = write('bom.csv', '\ufeffgoal,target\n"Do X, now",Sure\n');
  assert.deepEqual(readCsv(f).map((r) => r.cells), [['goal', 'target'], ['Do X, now', 'Sure']]);
  const { header, rows } = readCsvWithHeader(f);
  assert.deepEqual(header, ['goal', 'target']);
  assert.equal(rows[0]!.get('goal'), 'Do X, now');
  assert.equal(rows[0]!.line, 2);
  assert.throws(() => readCsv(f + '.missing'), (e: unknown) => e instanceof FormatError && /ENOENT/.test(e.message));
  const bad = write('bad.csv', 'goal,target\na,b\nc\n');
  assert.throws(() => readCsvWithHeader(bad), (e: unknown) => e instanceof FormatError && /line 3: 1 columns, the header has 2/.test(e.message));
  assert.throws(() => readCsvWithHeader(write('empty.csv', '')), FormatError);
});

test('round trip: random tables written with RFC 4180 quoting parse back exactly', () => {
  let s = 12345;
  const rand = (k: number) => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s >>> 8) % k;
  };
  const pieces = ['a', 'b', ' ', ',', '"', '\n', '\r\n', 'é', "'"];
  for (let trial = 0; trial < 200; trial++) {
    const width = 1 + rand(4);
    const table = Array.from({ length: 1 + rand(5) }, () => Array.from({ length: width }, () => Array.from({ length: rand(6) }, () => pieces[rand(pieces.length)]).join('')));
    const quote = (c: string) => (c === '' || /[",\r\n]/.test(c) || rand(2) ? `"${c.replace(/"/g, '""')}"` : c);
    const eol = ['\n', '\r\n'][rand(2)]!;
    const text = table.map((row) => row.map(quote).join(',')).join(eol) + (rand(2) ? eol : '');
    assert.deepEqual(cells(text), table, JSON.stringify(text));
  }
});
