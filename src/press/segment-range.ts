import type { Segment } from './segment.js';

/** A prompt segment as a range of absolute positions [start, end), fixed when the prompt is tokenised. */
export interface SegmentRange {
  kind: Segment['kind'];
  start: number;
  end: number;
}
