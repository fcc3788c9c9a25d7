import type { Task } from '../tasks/task.js';
import { loadAdvBench } from './advbench.js';
import { loadCsqa } from './csqa.js';
import { loadGsm8k } from './gsm8k.js';
import { loadHumanEval } from './humaneval.js';
import { loadLongBench } from './longbench.js';
import { loadMmlu } from './mmlu.js';

export interface DatasetTaskOptions {
  /** Allow HumanEval scoring to run model-written Python (the CLI's --allow-exec). */
  allowExec?: boolean;
  /** HumanEval's per-problem time limit (default 10 s). */
  execTimeoutMs?: number;
}

const LOADERS: Record<string, (file: string, name: string, opts: DatasetTaskOptions) => Task> = {
  gsm8k: loadGsm8k,
  mmlu: loadMmlu,
  csqa: loadCsqa,
  humaneval: (file, name, opts) => loadHumanEval(file, name, { allowExec: opts.allowExec ?? false, timeoutMs: opts.execTimeoutMs ?? 10_000 }),
  advbench: loadAdvBench,
  longbench: loadLongBench,
};

/** Dataset kinds a spec may name. */
export const DATASET_KINDS: readonly string[] = Object.keys(LOADERS);

/**
 * A Task over a standard benchmark file the user brought: spec "<kind>:<path>", e.g.
 * "gsm8k:data/test.jsonl". The file is read and validated now (FormatError naming file and line);
 * the task's name is the spec itself.
 */
export function loadDatasetTask(spec: string, opts: DatasetTaskOptions = {}): Task {
  const at = spec.indexOf(':');
  const kind = at < 0 ? '' : spec.slice(0, at);
  const file = spec.slice(at + 1);
  const load = Object.hasOwn(LOADERS, kind) ? LOADERS[kind] : undefined;
  if (at < 0 || !load || !file) throw new RangeError(`dataset task "${spec}" must be <kind>:<path> with kind one of ${DATASET_KINDS.join(', ')}`);
  return load(file, spec, opts);
}
