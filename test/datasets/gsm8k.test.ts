import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FormatError } from '../../src/formats/format-error.js';
import { lastNumber, loadGsm8k } from '../../src/eval/datasets/gsm8k.js';
import { promptOf } from '../../src/eval/tasks/task.js';
import { jsonl, scratch } from './scratch.js';

const write = scratch();
const record = (i: number) => ({ question: `Q${i}: what is ${i}+${i}?`, answer: `${i}+${i}=<<${i}+${i}=${2 * i}>>${2 * i}\n#### ${(2 * i * 1000).toLocaleString('en-US')}` });
// 8 shot-pool records, then 5 questions.
const file = write('test.jsonl', jsonl(Array.from({ length: 13 }, (_, i) => record(i + 1))));
const task = loadGsm8k(file, 'gsm8k:test.jsonl');

test('the first 8 records are the shot pool; questions follow in file order for seed 0', () => {
  const ex = task.examples(0, 100, { shots: 2 });
  assert.equal(ex.length, 5, 'n beyond the file gives every question');
  assert.deepEqual(ex.map((e) => e.id), [9, 10, 11, 12, 13].map((l) => `gsm8k:test.jsonl#L${l}`));
  const e = ex[0]!;
  assert.deepEqual(e.segments, [
    { kind: 'shot', text: `Question: Q1: what is 1+1?\nAnswer: 1+1=<<1+1=2>>2\n#### 2,000\n\n` },
    { kind: 'shot', text: `Question: Q2: what is 2+2?\nAnswer: 2+2=<<2+2=4>>4\n#### 4,000\n\n` },
    { kind: 'question', text: 'Question: Q9: what is 9+9?\nAnswer:' },
  ]);
  assert.equal(e.answer, ' 9+9=<<9+9=18>>18\n#### 18,000');
  assert.ok(e.stop!.includes('Question:'));
  assert.equal(task.ability, 'arithmetic');
});

test('every shot count asks the same questions; seeds shuffle deterministically; ids are stable', () => {
  const ids = (seed: number, shots: number) => task.examples(seed, 5, { shots }).map((e) => e.id);
  for (const shots of task.shotCounts) assert.deepEqual(ids(0, shots), ids(0, 0));
  assert.deepEqual(ids(3, 4), ids(3, 4));
  assert.deepEqual([...ids(3, 4)].sort(), [...ids(0, 4)].sort(), 'a shuffle of the same questions');
  assert.ok([1, 2, 3, 4, 5, 6].some((s) => ids(s, 0).join() !== ids(0, 0).join()), 'some seed changes the order');
  assert.deepEqual(task.examples(3, 2, { shots: 1 }).map((e) => e.id), ids(3, 1).slice(0, 2));
  for (const e of task.examples(3, 5, { shots: 8 })) assert.equal(e.segments.filter((s) => s.kind === 'shot').length, 8);
  assert.throws(() => task.examples(0, 1, { shots: 3 }), RangeError);
  assert.throws(() => task.examples(0, -1), RangeError);
  assert.equal(promptOf(task.examples(0, 1, { shots: 0 })[0]!), 'Question: Q9: what is 9+9?\nAnswer:');
});

test('metric: the last number of the output equals the number after ####', () => {
  const e = task.examples(0, 1, { shots: 0 })[0]!; // reference 18,000
  assert.equal(task.score(e, e.answer), 1);
  assert.equal(task.score(e, ' 9+9=18, so 18*1000 = 18000'), 1);
  assert.equal(task.score(e, ' The answer is 18,000.'), 1);
  assert.equal(task.score(e, ' #### 18000.00'), 1, 'numeric comparison');
  assert.equal(task.score(e, ' 18000 apples, or 17999'), 0, 'the last number counts');
  assert.equal(task.score(e, ' #### 18000\n\nQuestion: what is 5?'), 1, 'text after a stop sequence is ignored');
  assert.equal(task.score(e, ' eighteen thousand'), 0);
  assert.equal(task.score(e, ''), 0);
  assert.equal(task.extract(' so -3.5 and then 1,234,567'), '1234567');
  assert.equal(lastNumber('x -3.5'), '-3.5');
  assert.equal(lastNumber('none'), '');
  assert.throws(() => task.score({ ...e, id: 'other#L1' }, ' 1'), RangeError, 'examples of another file are refused');
});

test('malformed files: bad JSON, missing fields, no #### number, too few records — errors name file and line', () => {
  const rows = Array.from({ length: 9 }, (_, i) => JSON.stringify(record(i + 1)));
  const bad = (name: string, lines: string[], pattern: RegExp) =>
    assert.throws(() => loadGsm8k(write(name, lines.join('\n')), 'g'), (e: unknown) => e instanceof FormatError && e.file.endsWith(name) && pattern.test(e.message), name);
  bad('json.jsonl', [...rows.slice(0, 3), '{"question": "x", ', ...rows.slice(3)], /line 4: bad JSON/);
  bad('array.jsonl', [...rows, '[1, 2]'], /line 10: expected a JSON object/);
  bad('missing.jsonl', [...rows, '{"question": "x"}'], /line 10: missing field "answer"/);
  bad('type.jsonl', [...rows, '{"question": 5, "answer": "#### 5"}'], /line 10: field "question" must be a string/);
  bad('hash.jsonl', [...rows, '{"question": "x", "answer": "it is 5"}'], /line 10: .*#### <number>/);
  bad('few.jsonl', rows.slice(0, 8), /no records to ask: 8 found/);
  assert.throws(() => loadGsm8k(write('ok.jsonl', rows.join('\n')) + '.nope', 'g'), FormatError);
});
