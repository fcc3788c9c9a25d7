import type { Rng } from '../../generate/rng.js';
import { runProgram, SandboxError } from '../sandbox.js';
import { fewShotExamples, firstLine, type QA } from './few-shot.js';
import { choice, int, sample } from './pick.js';
import type { Example, ExampleOptions, Task } from './task.js';

const VARS = ['a', 'b', 'n', 'x', 'y', 'z'];
const TRACE = 'What does it print?';
const FILL = 'Fill the ? so it prints';

/** Trace: a 2–4 line program (maybe a loop); the answer is what it prints, computed by the sandbox. */
function trace(rng: Rng): QA {
  const [u, w] = sample(rng, VARS, 2) as [string, string];
  const lines = [`${u}=${int(rng, 1, 9)}`];
  const shape = int(rng, 0, 2);
  if (shape === 0) lines.push(`${w}=${u}${choice(rng, ['+', '-', '*'])}${int(rng, 1, 9)}`);
  else if (shape === 1) lines.push(`${w}=${int(rng, 1, 9)}`, `${u}=${u}${choice(rng, ['+', '*'])}${w}`);
  else lines.push(`while ${u}<${int(rng, 10, 40)}: ${u}=${u}+${int(rng, 2, 9)}`);
  lines.push(`print(${shape === 0 ? w : u})`);
  const program = lines.join('\n');
  return { q: `${TRACE}\n${program}`, a: runProgram(program).join(' ') };
}

/** Fill: one assignment is a "?"; any line that makes the program print the target scores, checked by running it. */
function fill(rng: Rng): QA {
  const x = int(rng, 1, 9);
  const y = int(rng, 1, 9);
  const op = choice(rng, ['+', '*', '-']);
  const target = runProgram(`x=${x}\ny=${y}\nprint(x${op}y)`)[0]!;
  return { q: `${FILL} ${target}:\nx=${x}\ny=?\nprint(x${op}y)`, a: `y=${y}` };
}

const problem = (rng: Rng): QA => (rng.next() < 0.5 ? trace(rng) : fill(rng));

/** The question's program lines ("Q: header", program..., "A:"), recovered from the question segment. */
function questionLines(example: Example): string[] {
  const text = example.segments[example.segments.length - 1]!.text;
  return text.split('\n').slice(1, -1);
}

/** Code: trace or complete tiny programs; answers are graded by executing them in the sandbox. */
export const codeTask: Task = {
  name: 'code',
  ability: 'code',
  shotCounts: [0, 1, 2, 4, 8],
  examples(seed: number, n: number, opts: ExampleOptions = {}): Example[] {
    return fewShotExamples(this, seed, n, opts.shots ?? 4, (rng, shots) => ({
      worked: Array.from({ length: shots }, () => problem(rng)),
      question: problem(rng),
      maxNewTokens: 24,
    }));
  },
  extract: firstLine,
  score(example: Example, output: string): number {
    const got = this.extract(output);
    const lines = questionLines(example);
    const header = example.segments[example.segments.length - 1]!.text.split('\n')[0]!;
    if (!header.includes(FILL)) return got === example.answer.trim() ? 1 : 0;
    const target = header.slice(header.indexOf(FILL) + FILL.length).replace(':', '').trim();
    if (!/^y\s*=/.test(got)) return 0;
    try {
      const printed = runProgram(lines.map((l) => (l === 'y=?' ? got : l)).join('\n'), { maxSteps: 1000, timeoutMs: 50 });
      return printed.join(' ') === target ? 1 : 0;
    } catch (e) {
      if (e instanceof SandboxError) return 0;
      throw e;
    }
  },
};
