import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FormatError } from '../../src/formats/format-error.js';
import { longBenchInfo, loadLongBench } from '../../src/eval/datasets/longbench.js';
import { qaF1, rougeL } from '../../src/eval/datasets/longbench-metrics.js';
import { promptOf } from '../../src/eval/tasks/task.js';
import { jsonl, scratch } from './scratch.js';

const write = scratch();
const qa = (i: number) => ({ _id: `q${i}`, dataset: 'hotpotqa', input: `Who wrote book ${i}?`, context: `Passage ${i}. `.repeat(20), answers: [`Ann Lee ${i}`, `A. Lee ${i}`], all_classes: null, length: 120 });

test('QA file: context segment then the question; QA-F1, best over the answers', () => {
  const task = loadLongBench(write('hotpotqa.jsonl', jsonl([qa(0), qa(1)])), 'longbench:hotpotqa');
  assert.equal(task.ability, 'retrieval');
  const [e] = task.examples(0, 5);
  assert.equal(task.examples(0, 5).length, 2);
  assert.equal(e!.id, 'longbench:hotpotqa#q0');
  assert.deepEqual(e!.segments, [
    { kind: 'other', text: `${qa(0).context}\n\n` },
    { kind: 'question', text: 'Question: Who wrote book 0?\nAnswer:' },
  ]);
  assert.equal(e!.answer, ' Ann Lee 0');
  assert.equal(e!.maxNewTokens, 32);
  assert.equal(task.score(e!, ' Ann Lee 0'), 1);
  assert.equal(task.score(e!, ' a lee 0'), 1, 'the second answer, after normalisation');
  const partial = ' It was Ann Lee';
  assert.equal(task.score(e!, partial), Math.max(qaF1(partial, 'Ann Lee 0'), qaF1(partial, 'A. Lee 0')));
  assert.equal(task.score(e!, ' Bob'), 0);
});

test('`length` cuts the middle of the context so the prompt fits, keeping head and tail', () => {
  const long = { ...qa(0), context: 'HEAD ' + 'x'.repeat(5000) + ' TAIL' };
  const task = loadLongBench(write('long.jsonl', jsonl([long])), 'l');
  const [e] = task.examples(0, 1, { length: 400 });
  assert.equal(promptOf(e!).length, 400);
  assert.ok(e!.segments[0]!.text.startsWith('HEAD '));
  assert.ok(e!.segments[0]!.text.endsWith(' TAIL\n\n'));
  assert.equal(e!.segments[1]!.text, 'Question: Who wrote book 0?\nAnswer:', 'the question is never cut');
  assert.equal(promptOf(task.examples(0, 1, { length: 100_000 })[0]!).length, 5010 + 2 + 35, 'short enough: untouched');
  assert.throws(() => task.examples(0, 1, { length: 20 }), RangeError);
  assert.throws(() => task.examples(0, 1, { length: 1.5 }), RangeError);
});

test('the metric follows the dataset field', () => {
  const rows = [
    { dataset: 'gov_report', input: '', context: 'A long report.', answers: ['The report says the cat sat on the mat.'] },
    { dataset: 'trec', input: 'What city is the capital?', context: 'examples...', answers: ['capital city'], all_classes: ['city', 'capital city', 'country'] },
    { dataset: 'passage_retrieval_en', input: 'A summary.', context: 'Paragraph 1: ... Paragraph 2: ...', answers: ['Paragraph 2'] },
    { dataset: 'passage_count', input: '', context: 'p p p', answers: ['3'] },
    { dataset: 'lcc', input: '', context: 'def f(x):\n', answers: ['    return x + 1'] },
    { dataset: 'qasper_e', input: 'What?', context: 'c', answers: ['the cat sat'] },
    { input: 'What?', context: 'c', answers: ['cat sat on'] },
  ];
  const task = loadLongBench(write('mixed.jsonl', jsonl(rows)), 'lb');
  const [gov, trec, ret, count, lcc, qasper, plain] = task.examples(0, 10);
  assert.equal(task.ability, 'retrieval', 'a mixed file counts as retrieval');
  assert.equal(gov!.segments[1]!.text, 'Summary:');
  assert.equal(gov!.maxNewTokens, 512);
  const summary = ' The report: a cat sat on a mat.';
  assert.equal(task.score(gov!, summary), rougeL(summary, rows[0]!.answers[0]!));
  assert.ok(task.score(gov!, summary) > 0 && task.score(gov!, summary) < 1);
  assert.equal(task.score(trec!, ' capital city\ncountry'), 1, 'first line only');
  assert.equal(task.score(trec!, ' capital city or country'), 0.5);
  assert.equal(task.score(ret!, ' Paragraph 2'), 1);
  assert.equal(task.score(ret!, ' Paragraph 1'), 0);
  assert.equal(task.score(count!, ' 3'), 1);
  assert.equal(lcc!.segments[1]!.text, 'Next line of code:\n');
  assert.equal(task.score(lcc!, '    return x + 1'), 1);
  assert.equal(task.score(qasper!, ' cat sat on'), qaF1('cat sat on', 'the cat sat'));
  assert.equal(task.score(plain!, ' the cat sat'), 0.8, 'no dataset: QA-F1');
  assert.equal(longBenchInfo('unknown').metric, 'qa-f1');
  assert.equal(loadLongBench(write('gov.jsonl', jsonl([rows[0]])), 'g').ability, 'long-generation');
});

test('malformed LongBench records name the file and line', () => {
  const bad = (name: string, rows: unknown[], pattern: RegExp) =>
    assert.throws(() => loadLongBench(write(name, jsonl(rows)), 'l'), (e: unknown) => e instanceof FormatError && pattern.test(e.message), name);
  bad('noctx.jsonl', [qa(0), { ...qa(1), context: undefined }], /line 2: missing field "context"/);
  bad('answers.jsonl', [{ ...qa(0), answers: 'Ann' }], /line 1: field "answers" must be an array of strings/);
  bad('empty.jsonl', [{ ...qa(0), answers: [] }], /line 1: field "answers" is empty/);
  bad('classes.jsonl', [{ ...qa(0), dataset: 'trec' }], /line 1: a classification subset needs "all_classes"/);
  bad('dup.jsonl', [qa(0), qa(0)], /duplicate record id "q0"/);
  assert.throws(() => loadLongBench(write('nothing.jsonl', '\n\n'), 'l'), /no records to ask: 0 found/);
});
