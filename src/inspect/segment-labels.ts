import type { SegmentRange } from '../press/segment-range.js';

/** Display names: the kind, with shots numbered ("shot 1", "shot 2", …). */
export function segmentLabels(ranges: readonly SegmentRange[]): string[] {
  let shot = 0;
  return ranges.map((r) => (r.kind === 'shot' ? `shot ${++shot}` : r.kind));
}
