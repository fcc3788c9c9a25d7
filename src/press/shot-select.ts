/**
 * Whole-shot selection (ShotKV, methods.md §11): shots in descending score (ties by lower index)
 * are kept whole while they fit in `room` entries; a shot that does not fit is skipped and smaller
 * lower-ranked ones may still be added, unless `stopAtFirstMiss` (the strict reading). Returns the
 * chosen shot indices, ascending.
 */
export function selectShots(scores: ArrayLike<number>, sizes: ArrayLike<number>, room: number, stopAtFirstMiss = false): number[] {
  const key = (i: number) => (Number.isNaN(scores[i]!) ? -Infinity : scores[i]!);
  const order = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => key(b) - key(a) || a - b);
  const chosen: number[] = [];
  for (const i of order) {
    if (sizes[i]! <= room) {
      chosen.push(i);
      room -= sizes[i]!;
    } else if (stopAtFirstMiss) break;
  }
  return chosen.sort((a, b) => a - b);
}
