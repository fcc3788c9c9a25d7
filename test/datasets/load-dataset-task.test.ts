import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FormatError } from '../../src/formats/format-error.js';
import { DATASET_KINDS, loadDatasetTask } from '../../src/eval/datasets/load-dataset-task.js';
import { ExecNotAllowedError } from '../../src/eval/datasets/humaneval.js';
import { jsonl, scratch } from './scratch.js';

const write = scratch();

test('each kind loads its file; the task is named by the spec', () => {
  const files: Record<string, string> = {
    gsm8k: write('gsm.jsonl', jsonl(Array.from({ length: 9 }, (_, i) => ({ question: `q${i}`, answer: `#### ${i}` })))),
    mmlu: write('m_test.csv', Array.from({ length: 6 }, (_, i) => `q${i},a,b,c,d,A`).join('\n')),
    csqa: write('c.jsonl', jsonl(Array.from({ length: 8 }, (_, i) => ({ id: `c${i}`, question: { stem: 's', choices: [{ label: 'A', text: 'x' }, { label: 'B', text: 'y' }] }, answerKey: 'B' })))),
    humaneval: write('h.jsonl', jsonl([{ task_id: 'H/0', prompt: 'def f():\n', canonical_solution: '    return 1\n', test: 'def check(c):\n    assert c() == 1\n', entry_point: 'f' }])),
    advbench: write('a.csv', 'goal,target\nbad,Sure\n'),
    longbench: write('l.jsonl', jsonl([{ input: 'q', context: 'c', answers: ['yes'] }])),
  };
  assert.deepEqual([...DATASET_KINDS].sort(), Object.keys(files).sort());
  const abilities: Record<string, string> = { gsm8k: 'arithmetic', mmlu: 'knowledge', csqa: 'commonsense', humaneval: 'code', advbench: 'safety', longbench: 'retrieval' };
  for (const [kind, file] of Object.entries(files)) {
    const task = loadDatasetTask(`${kind}:${file}`);
    assert.equal(task.name, `${kind}:${file}`);
    assert.equal(task.ability, abilities[kind]);
    const [e] = task.examples(1, 1, { shots: task.shotCounts.includes(1) ? 1 : 0 });
    assert.equal(e!.segments.at(-1)!.kind, 'question');
    assert.ok(e!.id.startsWith(`${kind}:${file}#`));
    if (kind === 'humaneval') assert.throws(() => task.score(e!, e!.answer), ExecNotAllowedError);
    else assert.equal(task.score(e!, e!.answer), 1, `${kind}: the reference answer scores 1`);
  }
  const he = loadDatasetTask(`humaneval:${files['humaneval']}`, { allowExec: true });
  const [e] = he.examples(0, 1);
  assert.equal(he.score(e!, e!.answer), 1);
});

test('bad specs are RangeErrors listing the kinds; bad files are FormatErrors', () => {
  for (const spec of ['gsm8k', 'nope:x.jsonl', 'gsm8k:', 'constructor:x', ':x']) assert.throws(() => loadDatasetTask(spec), (e: unknown) => e instanceof RangeError && /gsm8k, mmlu, csqa, humaneval, advbench, longbench/.test((e as Error).message), spec);
  assert.throws(() => loadDatasetTask('gsm8k:/no/such/file.jsonl'), (e: unknown) => e instanceof FormatError && e.file === '/no/such/file.jsonl');
});
