import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runProgram, SandboxError } from '../../src/eval/sandbox.js';

const fails = (src: string, kind: SandboxError['kind'], limits = {}) =>
  assert.throws(() => runProgram(src, limits), (e: unknown) => e instanceof SandboxError && e.kind === kind);

test('runs assignments, arithmetic with precedence, loops and prints', () => {
  assert.deepEqual(runProgram('x=3\ny=x+4*2\nprint(y)\nprint((x+4)*2)'), ['11', '14']);
  assert.deepEqual(runProgram('n=1\nwhile n<100: n=n*3\nprint(n)'), ['243']);
  assert.deepEqual(runProgram('a=-7\nprint(a//2)\nprint(a%3)\nprint(-(2-5))'), ['-4', '2', '3']);
  assert.deepEqual(runProgram('\n\nx=1\n\n'), []);
});

test('an endless loop stops at the step budget or the deadline, not a hang', () => {
  fails('x=0\nwhile 1<2: x=x+1', 'timeout');
  fails('x=0\nwhile 1<2: x=x+1', 'timeout', { maxSteps: 1e12, timeoutMs: 20 });
});

test('bad programs give typed syntax and runtime errors', () => {
  fails('x==3', 'syntax');
  fails('print(x', 'syntax');
  fails('import os', 'syntax');
  fails('require("fs")', 'syntax');
  fails('x=1; y=2', 'syntax');
  fails('print=3', 'syntax');
  fails('x'.repeat(5000), 'syntax');
  fails('print(y)', 'runtime');
  fails('x=1//0', 'runtime');
  fails('x=99999999\nx=x*x\nx=x*x', 'runtime');
});
