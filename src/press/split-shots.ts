import type { Segment } from './segment.js';

/**
 * Segments of a plain few-shot prompt (ShotKV): blocks separated by `separator` (default a blank
 * line); every block but the last is a shot, the last is the question. Each separator stays with
 * the block before it and empty blocks join their neighbour, so the texts concatenate to the prompt.
 */
export function splitShots(prompt: string, separator = '\n\n'): Segment[] {
  if (separator === '') throw new RangeError('shot separator must not be empty');
  const blocks: string[] = [];
  let from = 0;
  for (let at = prompt.indexOf(separator); at >= 0; at = prompt.indexOf(separator, at + separator.length)) {
    const text = prompt.slice(from, at + separator.length);
    if (text.trim() === '' && blocks.length > 0) blocks[blocks.length - 1] += text;
    else blocks.push(text);
    from = at + separator.length;
  }
  const tail = prompt.slice(from);
  if (tail.trim() === '' && blocks.length > 0) blocks[blocks.length - 1] += tail;
  else blocks.push(tail);
  return blocks.map((text, i) => ({ kind: i === blocks.length - 1 ? 'question' : 'shot', text }));
}
