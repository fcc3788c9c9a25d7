import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FormatError } from '../../src/formats/format-error.js';
import { loadMmlu } from '../../src/eval/datasets/mmlu.js';
import { jsonl, scratch } from './scratch.js';

const write = scratch();
const LETTERS = 'ABCD';
const csvRow = (i: number) => `"Which, of these, is ${i}?",${i},"${i + 1}","say ""${i + 2}""",${i + 3},${LETTERS[i % 4]}`;

test('original csv: no header, quoted fields, subject from the file name, standard 5-shot layout', () => {
  const file = write('high_school_physics_test.csv', Array.from({ length: 7 }, (_, i) => csvRow(i)).join('\r\n') + '\r\n');
  const task = loadMmlu(file, 'mmlu:physics');
  assert.equal(task.ability, 'knowledge');
  const [e, f] = task.examples(0, 9, { shots: 5 });
  assert.equal(task.examples(0, 9).length, 2);
  assert.equal(e!.segments[0]!.text, 'The following are multiple choice questions (with answers) about high school physics.\n\n');
  assert.equal(e!.segments[1]!.text, 'Which, of these, is 0?\nA. 0\nB. 1\nC. say "2"\nD. 3\nAnswer: A\n\n');
  assert.equal(e!.segments.filter((s) => s.kind === 'shot').length, 5);
  assert.deepEqual(e!.segments.at(-1), { kind: 'question', text: 'Which, of these, is 5?\nA. 5\nB. 6\nC. say "7"\nD. 8\nAnswer:' });
  assert.equal(e!.answer, ' B');
  assert.equal(f!.answer, ' C');
  assert.equal(task.examples(0, 1, { shots: 0 })[0]!.segments.length, 2, 'zero-shot keeps the header');
});

test('letter extraction and accuracy', () => {
  const task = loadMmlu(write('x_dev.csv', Array.from({ length: 6 }, (_, i) => csvRow(i)).join('\n')), 'm');
  const e = task.examples(0, 1)[0]!; // answer B
  for (const right of [' B', 'B', ' B. 6', ' (B)', ' The answer is B', ' B\nA']) assert.equal(task.score(e, right), 1, right);
  for (const wrong of [' A', ' C is right', '', ' b', ' Both', '\nB', ' E']) assert.equal(task.score(e, wrong), 0, wrong);
  assert.equal(task.extract(' Answer: D'), 'D', '"Answer" is a word, not the letter A');
});

test('Hugging Face jsonl: numeric or letter answers, shots drawn from the question\'s own subject', () => {
  const rows = [
    ...Array.from({ length: 6 }, (_, i) => ({ question: `alg ${i}`, subject: 'abstract_algebra', choices: ['w', 'x', 'y', 'z'], answer: i % 4 })),
    ...Array.from({ length: 7 }, (_, i) => ({ question: `ana ${i}`, subject: 'anatomy', choices: ['w', 'x', 'y', 'z'], answer: LETTERS[(i + 1) % 4] })),
  ];
  const task = loadMmlu(write('all.jsonl', jsonl(rows)), 'mmlu:all');
  const ex = task.examples(0, 10, { shots: 2 });
  assert.deepEqual(ex.map((e) => e.segments.at(-1)!.text.split('\n')[0]), ['alg 5', 'ana 5', 'ana 6']);
  assert.deepEqual(ex.map((e) => e.answer), [' B', ' C', ' D']);
  const ana = ex[1]!;
  assert.match(ana.segments[0]!.text, /about anatomy\./);
  assert.deepEqual(ana.segments.filter((s) => s.kind === 'shot').map((s) => s.text.split('\n')[0]), ['ana 0', 'ana 1']);
  assert.equal(task.score(ana, ' C'), 1);
});

test('malformed MMLU files name the file and line', () => {
  const good = Array.from({ length: 6 }, (_, i) => csvRow(i));
  const bad = (name: string, text: string, pattern: RegExp) =>
    assert.throws(() => loadMmlu(write(name, text), 'm'), (e: unknown) => e instanceof FormatError && e.file.endsWith(name) && pattern.test(e.message), name);
  bad('cols_test.csv', [...good.slice(0, 2), 'q,a,b,c,A', ...good.slice(2)].join('\n'), /line 3: 5 columns, expected 6/);
  bad('letter_test.csv', [...good, 'q,a,b,c,d,E'].join('\n'), /line 7: answer "E" is not one of A, B, C, D/);
  bad('quote_test.csv', [...good, '"q,a,b,c,d,A'].join('\n'), /line 7: quoted field never closed/);
  const row = { question: 'q', choices: ['a', 'b', 'c', 'd'], answer: 1 };
  bad('three.jsonl', jsonl([row, { ...row, choices: ['a', 'b', 'c'] }]), /line 2: field "choices" has 3 entries/);
  bad('answer.jsonl', jsonl([row, row, { ...row, answer: 4 }]), /line 3: field "answer" must be 0-3/);
  bad('noanswer.jsonl', jsonl([{ question: 'q', choices: ['a', 'b', 'c', 'd'] }]), /line 1: missing field "answer"/);
  bad('mmlu.parquet', 'PAR1', /\.csv file .* or a \.jsonl file/);
});
