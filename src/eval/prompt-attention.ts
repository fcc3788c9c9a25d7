import type { PrefillRecord } from '../generate/prefill-record.js';
import type { Model } from '../model/model.js';
import { HeadStatsAccumulator, type HeadStats } from '../inspect/head-stats.js';
import type { SegmentRange } from '../press/segment-range.js';
import { lastRowsAttention } from '../press/last-rows-attention.js';
import type { PromptAttention } from './result.js';

/**
 * The head statistics of the ShotKV study over one recorded prefill: the question segment's query
 * rows (group-mean per KV head) on the whole prompt, averaged over layers and KV heads. `ranges`
 * are the prompt's segments as the session placed them.
 */
export function promptAttention(model: Model, rec: PrefillRecord, ranges: readonly SegmentRange[]): PromptAttention {
  const { nLayers, nKvHeads, nHeads, slidingWindow } = model.config;
  const question = ranges.filter((r) => r.kind === 'question').at(-1);
  const n = rec.ids.length;
  const rows = question ? question.end - question.start : Math.min(32, n);
  const system = ranges.filter((r) => r.kind === 'system');
  const shots = ranges.filter((r) => r.kind === 'shot');
  const stats: HeadStats[] = [];
  for (let layer = 0; layer < nLayers; layer++)
    for (let h = 0; h < nKvHeads; h++) {
      const head = rec.cache.layer(layer)[h]!;
      const a = lastRowsAttention(rec.queries[layer]!, n, rec.startPos, nHeads, h, nHeads / nKvHeads, head, rows, slidingWindow);
      const acc = new HeadStatsAccumulator([...system, ...shots]);
      const T = head.length;
      for (let r = 0; r < rows; r++) {
        const visible = n - rows + r + 1; // causal: the row sees the entries up to its own position
        acc.add(a.subarray(r * T, r * T + visible), head.positions, visible);
      }
      stats.push(acc.result());
    }
  const avg = (f: (s: HeadStats) => number) => stats.reduce((a, s) => a + f(s), 0) / stats.length;
  return {
    entropy: avg((s) => s.entropy),
    top10: avg((s) => s.top10),
    system: avg((s) => s.segmentMass.slice(0, system.length).reduce((a, b) => a + b, 0)),
    systemShare: system.reduce((a, r) => a + r.end - r.start, 0) / n,
    shots: shots.map((_, i) => avg((s) => s.segmentMass[system.length + i]!)),
  };
}
