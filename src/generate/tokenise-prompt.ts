import type { Segment } from '../press/segment.js';
import type { SegmentRange } from '../press/segment-range.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';

/**
 * The ids a prefill at absolute position `start` runs for `prompt`, and its segments' ranges: strings
 * get BOS by the tokenizer's convention at position 0; with segments, the prompt must be their
 * concatenation and is tokenised segment by segment so boundaries are exact. (A server sizes a
 * request's KV reservation by these ids before the session exists.)
 */
export function tokenisePrompt(
  tokenizer: Tokenizer,
  prompt: string | readonly number[],
  segments: readonly Segment[] | undefined,
  start: number,
): { ids: number[]; ranges: SegmentRange[] } {
  const bos = start === 0;
  if (!segments) return { ids: typeof prompt === 'string' ? tokenizer.encode(prompt, { addBos: bos }) : [...prompt], ranges: [] };
  if (typeof prompt !== 'string' || prompt !== segments.map((s) => s.text).join(''))
    throw new RangeError('prefill: with segments, the prompt must be the concatenation of their texts');
  const ids: number[] = [];
  const ranges: SegmentRange[] = [];
  for (const [i, seg] of segments.entries()) {
    const segIds = tokenizer.encode(seg.text, { addBos: bos && i === 0 });
    const segStart = start + ids.length;
    ranges.push({ kind: seg.kind, start: segStart, end: segStart + segIds.length });
    ids.push(...segIds);
  }
  return { ids, ranges };
}
