import type { Segment } from '../../press/segment.js';

export type { Segment } from '../../press/segment.js';

/** The seven abilities of the study; every synthetic task measures exactly one. */
export type Ability = 'knowledge' | 'commonsense' | 'arithmetic' | 'code' | 'safety' | 'retrieval' | 'long-generation';

export interface ExampleOptions {
  /** Number of worked examples before the question (few-shot tasks support 0, 1, 2, 4, 8). */
  shots?: number;
  /** Target prompt length in characters (= tokens of the char-level model) for long-context tasks. */
  length?: number;
}

/** One prompt with its reference answer. The prompt is the concatenation of the segments' texts. */
export interface Example {
  /** Unique and stable: task, seed and index. */
  id: string;
  task: string;
  /** In prompt order; the question segment is last, so everything before it is the question-agnostic context. */
  segments: Segment[];
  /** The reference completion, starting right after the prompt (e.g. " 6"). */
  answer: string;
  maxNewTokens: number;
  /** Generation stops at the first of these (the stop text itself is not part of the output). */
  stop?: string[];
}

export interface Task {
  readonly name: string;
  readonly ability: Ability;
  /** Shot counts the task supports; [0] for zero-shot tasks. */
  readonly shotCounts: readonly number[];
  /** `n` examples, a pure function of (seed, n, opts): the same arguments give the same examples. */
  examples(seed: number, n: number, opts?: ExampleOptions): Example[];
  /** The part of a model output that is graded (e.g. the number after "Answer:"). */
  extract(output: string): string;
  /** 0..1 for a model output generated after `example`'s prompt. */
  score(example: Example, output: string): number;
  /** Tasks that grade refusals (safety): whether `example` must be refused. */
  expectsRefusal?(example: Example): boolean;
}

/** Text of the whole prompt. */
export function promptOf(example: Pick<Example, 'segments'>): string {
  return example.segments.map((s) => s.text).join('');
}

/**
 * Seeds at or above this value are training data (scripts/train-tiny.ts); evaluation uses seeds below it,
 * so the embedded model never trains on an evaluation example's random draw.
 */
export const TRAINING_SEED_BASE = 1_000_000_000;
