import type { ModelConfig } from '../formats/model-config.js';
import type { SegmentRange } from '../press/segment-range.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import type { AttentionCapture } from './attention-capture.js';
import type { HeadStats } from './head-stats.js';
import type { PressKept } from './press-kept.js';
import { segmentLabels } from './segment-labels.js';

/**
 * A capture as plain JSON (for notebooks, the harness and the heatmap page): the same numbers as
 * `AttentionCapture`, typed arrays turned into number arrays, plus token labels and press results.
 */
export interface HeatmapData {
  title: string;
  model: { name: string; nLayers: number; nHeads: number; nKvHeads: number; headDim: number };
  tokens: { id: number; text: string }[];
  rowStart: number;
  block: number;
  rows: number;
  cols: number;
  segments: (SegmentRange & { label: string })[];
  maps: { layer: number; head: number; kvHead: number; weights: number[]; stats: HeadStats }[];
  presses: PressKept[];
}

export interface HeatmapDataInput {
  title?: string;
  modelName: string;
  config: ModelConfig;
  tokenizer: Tokenizer;
  ids: readonly number[];
  capture: AttentionCapture;
  presses?: readonly PressKept[];
}

export function heatmapData(input: HeatmapDataInput): HeatmapData {
  const { capture: cap, tokenizer, ids, config } = input;
  if (ids.length !== cap.tokens) throw new RangeError(`heatmapData: ${ids.length} token ids for a capture of ${cap.tokens} tokens`);
  const labels = segmentLabels(cap.segments);
  return {
    title: input.title ?? `attention of ${input.modelName}`,
    model: { name: input.modelName, nLayers: config.nLayers, nHeads: config.nHeads, nKvHeads: config.nKvHeads, headDim: config.headDim },
    tokens: ids.map((id) => ({ id, text: tokenizer.piece(id) })),
    rowStart: cap.rowStart,
    block: cap.block,
    rows: cap.rows,
    cols: cap.cols,
    segments: cap.segments.map((r, i) => ({ ...r, label: labels[i]! })),
    maps: cap.maps.map((m) => ({ layer: m.layer, head: m.head, kvHead: m.kvHead, weights: Array.from(m.weights), stats: m.stats })),
    presses: (input.presses ?? []).map((p) => ({ ...p })),
  };
}
