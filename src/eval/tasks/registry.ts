import { arithmeticTask } from './arithmetic.js';
import { codeTask } from './code.js';
import { commonsenseTask } from './commonsense.js';
import { contextKnowledgeTask } from './context-knowledge.js';
import { knowledgeTask } from './knowledge.js';
import { longGenerationTask } from './long-generation.js';
import { retrievalTask } from './retrieval.js';
import { safetyTask } from './safety.js';
import type { Task } from './task.js';

/** The default study suite: one synthetic, offline, seeded task per ability. */
export const syntheticSuite: readonly Task[] = [
  knowledgeTask,
  commonsenseTask,
  arithmeticTask,
  codeTask,
  safetyTask,
  retrievalTask,
  longGenerationTask,
];

/** Synthetic tasks outside the default suite, run by name (--tasks). */
export const extraTasks: readonly Task[] = [contextKnowledgeTask];

export function taskByName(name: string): Task {
  const known = [...syntheticSuite, ...extraTasks];
  const t = known.find((x) => x.name === name);
  if (!t) throw new RangeError(`unknown task "${name}" (known: ${known.map((x) => x.name).join(', ')})`);
  return t;
}
