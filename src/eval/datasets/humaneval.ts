import type { Task } from '../tasks/task.js';
import { fileTask, type DatasetRecord } from './file-task.js';
import { readJsonl } from './jsonl.js';
import { runPython } from './run-python.js';

/** Thrown by HumanEval scoring when the user did not allow running model-written code. */
export class ExecNotAllowedError extends Error {
  override readonly name = 'ExecNotAllowedError';
  constructor(task: string) {
    super(`${task}: scoring runs model-written Python on this machine; pass --allow-exec to allow it`);
  }
}

interface HumanEvalRecord extends DatasetRecord {
  prompt: string;
  canonical: string;
  test: string;
  entryPoint: string;
}

/** HumanEval's stop sequences: the completion ends where a new top-level statement would start. */
export const HUMANEVAL_STOP = ['\ndef ', '\nclass ', '\nif __name__', '\nprint(', '\n#'];

/** The completion up to the first stop sequence. */
export function truncateCompletion(output: string): string {
  const at = Math.min(...HUMANEVAL_STOP.map((s) => output.indexOf(s)).filter((i) => i >= 0));
  return Number.isFinite(at) ? output.slice(0, at) : output;
}

/** The program HumanEval runs: prompt + completion + the tests + check(entry_point). */
export function humanEvalProgram(prompt: string, completion: string, test: string, entryPoint: string): string {
  return `${prompt}${truncateCompletion(completion)}\n\n${test}\n\ncheck(${entryPoint})\n`;
}

export interface HumanEvalOptions {
  allowExec?: boolean;
  /** Per-problem time limit (default 10 s). */
  timeoutMs?: number;
}

/**
 * HumanEval jsonl `{task_id, prompt, canonical_solution, test, entry_point}`, zero-shot: the model
 * continues the prompt. pass@1 with one greedy sample: 1 if the program exits 0 within the time
 * limit. Scoring executes model output with python3, so it refuses unless `allowExec` is set.
 */
export function loadHumanEval(file: string, name: string, opts: HumanEvalOptions = {}): Task {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const records = readJsonl(file).map((r): HumanEvalRecord => {
    const entryPoint = r.string('entry_point');
    // It is pasted into the program as check(<entry_point>), so it must be a plain name.
    if (!/^[A-Za-z_]\w*$/.test(entryPoint)) r.fail(`entry_point "${entryPoint}" is not a Python name`);
    return { key: r.string('task_id'), prompt: r.string('prompt'), canonical: r.string('canonical_solution'), test: r.string('test'), entryPoint };
  });
  return fileTask({
    name,
    kind: 'humaneval',
    file,
    ability: 'code',
    shotCounts: [0],
    defaultShots: 0,
    records,
    build: (r) => ({
      segments: [{ kind: 'question', text: r.prompt }],
      answer: r.canonical,
      maxNewTokens: 512,
      stop: HUMANEVAL_STOP,
    }),
    extract: truncateCompletion,
    score(r, _example, output) {
      if (!opts.allowExec) throw new ExecNotAllowedError(name);
      return runPython(humanEvalProgram(r.prompt, output, r.test, r.entryPoint), timeoutMs).passed ? 1 : 0;
    },
  });
}
