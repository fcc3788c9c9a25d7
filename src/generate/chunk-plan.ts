import { MIN_CHUNKED_PROMPT } from '../model/model.js';

/** A prompt's chunk: tokens [from, to). */
export interface Chunk {
  from: number;
  to: number;
}

/**
 * Cuts a prompt of n tokens into chunks of at most `size` (a multiple of 4, at least 64): every chunk
 * starts on a multiple of 4 (where the one-shot forward's tiles start, so the chunks give its bits),
 * and the last one holds at least size − 3 tokens, so that a press acting after it sees a whole
 * observation window of queries. The short remainder goes first.
 */
export function planChunks(n: number, size: number): Chunk[] {
  if (!(Number.isInteger(size) && size % 4 === 0 && size >= MIN_CHUNKED_PROMPT)) throw new RangeError(`prefill chunk ${size} must be a multiple of 4 of at least ${MIN_CHUNKED_PROMPT}`);
  if (n <= size) return [{ from: 0, to: n }];
  const last = Math.ceil((n - size) / 4) * 4;
  const chunks: Chunk[] = [];
  let from = last % size;
  if (from > 0) chunks.push({ from: 0, to: from });
  for (; from < last; from += size) chunks.push({ from, to: from + size });
  chunks.push({ from: last, to: n });
  return chunks;
}
