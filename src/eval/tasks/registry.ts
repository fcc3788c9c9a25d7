import { arithmeticTask } from './arithmetic.js';
import { codeTask } from './code.js';
import { commonsenseTask } from './commonsense.js';
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

export function taskByName(name: string): Task {
  const t = syntheticSuite.find((x) => x.name === name);
  if (!t) throw new RangeError(`unknown task "${name}" (known: ${syntheticSuite.map((x) => x.name).join(', ')})`);
  return t;
}
