import { FormatError } from '../../formats/format-error.js';
import { checkCount, checkShots } from '../tasks/few-shot.js';
import { exampleRng, shuffled } from '../tasks/pick.js';
import type { Ability, Example, ExampleOptions, Task } from '../tasks/task.js';

/** A validated record of a dataset file. */
export interface DatasetRecord {
  /** Stable within the file: the record's own id (task_id, id, _id) or "L<line>". */
  key: string;
  /** Records share shots only within their group (MMLU: the subject); one group when absent. */
  group?: string;
}

export interface FileTaskSpec<R extends DatasetRecord> {
  /** The task name recorded in results (the spec the user gave, e.g. "gsm8k:data/test.jsonl"). */
  name: string;
  /** The loader kind ("gsm8k"); keys the seeded shuffle, so a file shuffles the same from any path. */
  kind: string;
  file: string;
  ability: Ability;
  shotCounts: readonly number[];
  defaultShots: number;
  records: readonly R[];
  /** The prompt (question segment last) and reference answer of `record` after `shots` worked records. */
  build(record: R, shots: readonly R[], opts: ExampleOptions): Omit<Example, 'id' | 'task'>;
  extract(output: string): string;
  score(record: R, example: Example, output: string): number;
}

/**
 * A Task over the records of a file. The first max(shotCounts) records of each group are the shot
 * pool and are never asked; an example with k shots uses the first k of its group's pool, so every
 * shot count asks the same questions. Questions come in file order for seed 0; any other seed is a
 * deterministic shuffle of them (dataset files are often sorted by subject, so a small n from the
 * top would be one subject). `n` beyond the file's question count returns them all. Example ids are
 * "<name>#<key>", independent of seed and position.
 */
export function fileTask<R extends DatasetRecord>(spec: FileTaskSpec<R>): Task {
  const poolSize = Math.max(...spec.shotCounts);
  const pools = new Map<string, R[]>();
  const questions: R[] = [];
  const byId = new Map<string, R>();
  for (const r of spec.records) {
    const id = `${spec.name}#${r.key}`;
    if (byId.has(id)) throw new FormatError(spec.file, `duplicate record id "${r.key}"`);
    byId.set(id, r);
    const pool = pools.get(r.group ?? '') ?? [];
    pools.set(r.group ?? '', pool);
    if (pool.length < poolSize) pool.push(r);
    else questions.push(r);
  }
  if (!questions.length)
    throw new FormatError(spec.file, `no records to ask: ${spec.records.length} found, and the first ${poolSize} (of each group) are the shot pool`);
  return {
    name: spec.name,
    ability: spec.ability,
    shotCounts: spec.shotCounts,
    examples(seed: number, n: number, opts: ExampleOptions = {}): Example[] {
      const shots = opts.shots ?? spec.defaultShots;
      checkShots(spec.name, shots, spec.shotCounts);
      checkCount(spec.name, n);
      const order = seed === 0 ? questions : shuffled(exampleRng(spec.kind, seed, 0), questions);
      return order.slice(0, n).map((r) => ({
        id: `${spec.name}#${r.key}`,
        task: spec.name,
        ...spec.build(r, pools.get(r.group ?? '')!.slice(0, shots), opts),
      }));
    },
    extract: spec.extract,
    score(example: Example, output: string): number {
      const r = byId.get(example.id);
      if (!r) throw new RangeError(`${spec.name}: example "${example.id}" does not come from ${spec.file}`);
      return spec.score(r, example, output);
    },
  };
}
