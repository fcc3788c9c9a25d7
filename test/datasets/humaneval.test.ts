import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FormatError } from '../../src/formats/format-error.js';
import { ExecNotAllowedError, HUMANEVAL_STOP, humanEvalProgram, loadHumanEval, truncateCompletion } from '../../src/eval/datasets/humaneval.js';
import { runPython } from '../../src/eval/datasets/run-python.js';
import { jsonl, scratch } from './scratch.js';

const write = scratch();
const problems = [
  {
    task_id: 'HumanEval/0',
    prompt: 'def add(a, b):\n    """Return a + b.\n    >>> add(1, 2)\n    3\n    """\n',
    canonical_solution: '    return a + b\n',
    test: 'METADATA = {}\n\n\ndef check(candidate):\n    assert candidate(1, 2) == 3\n    assert candidate(-4, 1) == -3\n',
    entry_point: 'add',
  },
  {
    task_id: 'HumanEval/1',
    prompt: 'def evens(xs):\n    """The even numbers of xs, in order."""\n',
    canonical_solution: '    return [x for x in xs if x % 2 == 0]\n',
    test: 'def check(candidate):\n    assert candidate([1, 2, 3, 4]) == [2, 4]\n    assert candidate([]) == []\n',
    entry_point: 'evens',
  },
];
const file = write('HumanEval.jsonl', jsonl(problems));

test('zero-shot: the prompt is the question, the canonical solution the reference', () => {
  const task = loadHumanEval(file, 'humaneval:he');
  const ex = task.examples(0, 5);
  assert.deepEqual(ex.map((e) => e.id), ['humaneval:he#HumanEval/0', 'humaneval:he#HumanEval/1']);
  assert.deepEqual(ex[0]!.segments, [{ kind: 'question', text: problems[0]!.prompt }]);
  assert.equal(ex[0]!.answer, problems[0]!.canonical_solution);
  assert.deepEqual(ex[0]!.stop, HUMANEVAL_STOP);
  assert.equal(task.ability, 'code');
  assert.throws(() => task.examples(0, 1, { shots: 1 }), RangeError);
});

test('completions are cut at the first top-level stop sequence', () => {
  assert.equal(truncateCompletion('    return 1\n\ndef other():\n    pass'), '    return 1\n');
  assert.equal(truncateCompletion('    x = 1\n#comment\n    return x\nclass A: pass'), '    x = 1');
  assert.equal(truncateCompletion('    return 1\n\nif __name__ == "__main__":\n    print(1)'), '    return 1\n');
  assert.equal(truncateCompletion('    def inner():\n        return 2\n    return inner()\n'), '    def inner():\n        return 2\n    return inner()\n', 'nested defs are kept');
  assert.equal(humanEvalProgram('P\n', 'C\nprint(1)', 'T', 'f'), 'P\nC\n\nT\n\ncheck(f)\n');
});

test('without allowExec, scoring refuses and tells the user to pass --allow-exec', () => {
  const task = loadHumanEval(file, 'humaneval:he');
  const e = task.examples(0, 1)[0]!;
  assert.throws(() => task.score(e, e.answer), (err: unknown) => err instanceof ExecNotAllowedError && /--allow-exec/.test((err as Error).message));
});

test('with allowExec: right code passes, wrong code fails, an infinite loop is killed at the timeout', () => {
  // A generous limit for the verdicts (python3 may start slowly on a loaded machine), a short one for the loop.
  const task = loadHumanEval(file, 'humaneval:he', { allowExec: true, timeoutMs: 30_000 });
  const impatient = loadHumanEval(file, 'humaneval:he', { allowExec: true, timeoutMs: 2000 });
  const [add, evens] = task.examples(0, 2) as [never, never];
  assert.equal(task.score(add, '    return a + b\n'), 1);
  assert.equal(task.score(evens, problems[1]!.canonical_solution), 1);
  assert.equal(task.score(add, '    return a + b\n\ndef broken(:\n'), 1, 'text after a stop sequence is not run');
  assert.equal(task.score(add, '    import sys\n    sys.stdin.read()\n    return a + b\n'), 1, 'stdin is empty, not a terminal to wait on');
  assert.equal(task.score(add, '    return a - b\n'), 0, 'failing assertion');
  assert.equal(task.score(add, '    return a +\n'), 0, 'syntax error');
  assert.equal(task.score(evens, '    return [x for x in xs if x % 2]\n'), 0);
  const t0 = Date.now();
  assert.equal(impatient.score(add, '    while True:\n        pass\n'), 0);
  const ms = Date.now() - t0;
  assert.ok(ms >= 1900 && ms < 12_000, `killed after ${ms} ms`);
});

test('runPython reports status and timeouts, and a missing python3 is a clear error', () => {
  assert.deepEqual({ ...runPython('import sys\nsys.exit(3)\n', 30_000), stderr: '' }, { passed: false, timedOut: false, status: 3, stderr: '' });
  assert.match(runPython('raise ValueError("boom")\n', 30_000).stderr, /ValueError: boom/);
  assert.equal(runPython('import time\ntime.sleep(30)\n', 300).timedOut, true);
  const path = process.env['PATH'];
  process.env['PATH'] = '/nonexistent';
  try {
    assert.throws(() => runPython('pass\n', 1000), /python3 was not found/);
  } finally {
    process.env['PATH'] = path;
  }
});

test('malformed HumanEval records name the file and line', () => {
  const { test: _t, ...noTest } = problems[0]!;
  assert.throws(() => loadHumanEval(write('a.jsonl', jsonl([problems[1], noTest])), 'h'), (e: unknown) => e instanceof FormatError && /line 2: missing field "test"/.test(e.message));
  const evil = { ...problems[0]!, entry_point: 'add); import os; (' };
  assert.throws(() => loadHumanEval(write('b.jsonl', jsonl([evil])), 'h'), (e: unknown) => e instanceof FormatError && /line 1: entry_point .* is not a Python name/.test(e.message));
});
