/** One contiguous piece of a prompt; the press framework maps segments to token ranges (ShotKV, heatmaps). */
export interface Segment {
  kind: 'system' | 'shot' | 'question' | 'other';
  text: string;
}
