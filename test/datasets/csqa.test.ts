import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FormatError } from '../../src/formats/format-error.js';
import { loadCsqa } from '../../src/eval/datasets/csqa.js';
import { jsonl, scratch } from './scratch.js';

const write = scratch();
const LABELS = ['A', 'B', 'C', 'D', 'E'];
const record = (i: number) => ({
  id: `id${i}`,
  question: { question_concept: 'x', stem: `Where is thing ${i}?`, choices: LABELS.map((label, k) => ({ label, text: `place ${i}-${k}` })) },
  answerKey: LABELS[i % 5],
});

test('7-shot pool, MMLU-style layout with five choices, ids from the file', () => {
  const task = loadCsqa(write('dev.jsonl', jsonl(Array.from({ length: 10 }, (_, i) => record(i)))), 'csqa:dev');
  assert.equal(task.ability, 'commonsense');
  const ex = task.examples(0, 10, { shots: 1 });
  assert.deepEqual(ex.map((e) => e.id), ['csqa:dev#id7', 'csqa:dev#id8', 'csqa:dev#id9']);
  assert.deepEqual(ex[0]!.segments, [
    { kind: 'shot', text: 'Where is thing 0?\nA. place 0-0\nB. place 0-1\nC. place 0-2\nD. place 0-3\nE. place 0-4\nAnswer: A\n\n' },
    { kind: 'question', text: 'Where is thing 7?\nA. place 7-0\nB. place 7-1\nC. place 7-2\nD. place 7-3\nE. place 7-4\nAnswer:' },
  ]);
  assert.equal(ex[0]!.answer, ' C');
  assert.equal(task.examples(0, 1, { shots: 7 })[0]!.segments.length, 8);
  assert.equal(task.score(ex[0]!, ' C'), 1);
  assert.equal(task.score(ex[2]!, ' E. place 9-4'), 1);
  assert.equal(task.score(ex[0]!, ' E'), 0);
  assert.equal(task.score(ex[0]!, ' F'), 0);
});

test('malformed CommonsenseQA records name the file and line', () => {
  const good = Array.from({ length: 8 }, (_, i) => record(i));
  const bad = (name: string, rows: unknown[], pattern: RegExp) =>
    assert.throws(() => loadCsqa(write(name, jsonl(rows)), 'c'), (e: unknown) => e instanceof FormatError && pattern.test(e.message), name);
  bad('nokey.jsonl', [...good, { ...record(8), answerKey: undefined }], /line 9: missing field "answerKey"/);
  bad('badkey.jsonl', [...good, { ...record(8), answerKey: 'F' }], /line 9: answerKey "F" is not one of the choice labels/);
  bad('nostem.jsonl', [{ ...record(0), question: { choices: record(0).question.choices } }], /line 1: missing field "stem"/);
  bad('one.jsonl', [{ ...record(0), question: { stem: 's', choices: [{ label: 'A', text: 'x' }] } }], /line 1: choices must have distinct labels/);
  bad('labels.jsonl', [...good, { ...record(8), question: { stem: 's', choices: [{ label: 'A', text: 'x' }, { label: 'A', text: 'y' }] } }], /line 9: choices must have distinct labels/);
  bad('choices.jsonl', [{ ...record(0), question: { stem: 's', choices: 'A' } }], /line 1: field "choices" must be an array of objects/);
  bad('dup.jsonl', [...good, record(3)], /duplicate record id "id3"/);
});
