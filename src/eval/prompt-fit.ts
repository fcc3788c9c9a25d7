import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { promptOf, type Example } from './tasks/task.js';

/** An example that fits the model's context, and how it was shortened to fit (undefined when it was not). */
export type Fitted = { example: Example; shots: number; fit?: string } | { skipped: string };

/** Context lengths (characters) a long-context task is redrawn at, longest first, when its prompt does not fit. */
const SHORTER_CONTEXTS = [768, 512, 384, 256, 128, 64];

/** Tokens of the prompt as a session tokenises it: segment by segment, BOS on the first. */
export function promptTokens(tokenizer: Tokenizer, segments: Example['segments']): number {
  return segments.reduce((n, s, i) => n + tokenizer.encode(s.text, { addBos: i === 0 }).length, 0);
}

const shotCount = (e: Example) => e.segments.filter((s) => s.kind === 'shot').length;

/**
 * An example made to fit `maxSeqLen` with room for its answer: as drawn when it fits; else with its
 * earliest shots dropped, one at a time; else (no shot to drop) `redraw`n with a shorter context,
 * for tasks that take a context length (retrieval); else skipped, saying why. Deterministic, so
 * resumed and sharded runs fit every example the same way.
 */
export function fitExample(drawn: Example, redraw: (length: number) => Example, tokenizer: Tokenizer, maxSeqLen: number): Fitted {
  const fits = (e: Example) => promptTokens(tokenizer, e.segments) + e.maxNewTokens <= maxSeqLen;
  if (fits(drawn)) return { example: drawn, shots: shotCount(drawn) };
  const asked = shotCount(drawn);
  for (let drop = 1; drop <= asked; drop++) {
    let seen = 0;
    const segments = drawn.segments.filter((s) => s.kind !== 'shot' || ++seen > drop);
    const e = { ...drawn, segments };
    if (fits(e)) return { example: e, shots: asked - drop, fit: `${asked - drop} of ${asked} shots` };
  }
  if (asked === 0)
    for (const length of SHORTER_CONTEXTS) {
      const e = redraw(length);
      if (promptOf(e) !== promptOf(drawn) && fits(e)) return { example: e, shots: 0, fit: `context shortened to ${length} characters` };
    }
  const tokens = promptTokens(tokenizer, drawn.segments);
  return { skipped: `prompt of ${tokens} tokens + ${drawn.maxNewTokens} answer tokens does not fit the ${maxSeqLen}-token context, even shortened` };
}
