import { nonNegativeInt } from './param-checks.js';
import type { PressEntry } from './registry-entry.js';
import { scorerPress, type Scorer } from './scorer-press.js';

/**
 * StreamingLLM (methods.md §1): the first S entries (sinks) and the most recent rest of the budget;
 * with a budget of at most S, only the first n_keep sinks. Positions stay absolute (no re-rotation).
 */
export function streamingllmScorer(sinks: number): Scorer {
  return {
    score: (view, h) => Float32Array.from({ length: view.length(h) }, (_, j) => j),
    protect(view, h, nKeep) {
      const m = new Uint8Array(view.length(h));
      m.fill(1, 0, Math.min(sinks, nKeep));
      return m;
    },
  };
}

export const streamingllmEntry: PressEntry = {
  name: 'streamingllm',
  description: 'StreamingLLM: keeps the first tokens (attention sinks) and the most recent ones',
  params: [{ name: 'sinks', default: 4, description: 'number of initial entries always kept' }],
  create: (p) => scorerPress('streamingllm', streamingllmScorer(nonNegativeInt(p.sinks, 'sinks'))),
};
