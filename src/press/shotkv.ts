import type { LayerView } from './layer-view.js';
import { nonNegativeInt } from './param-checks.js';
import type { Press } from './press.js';
import type { PressEntry } from './registry-entry.js';
import type { SegmentRange } from './segment-range.js';
import { ShotPress, type EntryScorer, type ShotPressOptions, type ShotScorer } from './shot-press.js';
import { shotkvDecoding } from './shotkv-decoding.js';

export interface ShotKVOptions extends ShotPressOptions {
  /** Decoding phase: protected most recent generated entries. */
  recent: number;
  /** Decoding phase: score generated entries by accumulated attention (H2O-like) instead of the newest query's. */
  accumulate: boolean;
}

export const shotkvDefaults: ShotKVOptions = { stopAtFirstMiss: false, keepProtected: false, recent: 8, accumulate: false };

/**
 * ShotKV's shot score (methods.md §11): attention the question's queries (all of them, through the
 * end of the prompt; the last 32 prompt queries when there is no question segment) give each shot
 * entry, group-mean per KV head, summed over rows and KV heads, divided by the shot's token count.
 */
export const shotkvScorer: ShotScorer = (view, shots, shotOf) => {
  const rows = queryRows(view);
  const sums = new Float64Array(shots.length);
  for (let h = 0; h < view.kvHeads; h++) {
    const T = view.length(h);
    const a = view.attention(h, { rows });
    const of = shotOf[h]!;
    for (let r = 0; r < rows; r++) for (let j = 0; j < T; j++) if (of[j]! >= 0) sums[of[j]!] += a[r * T + j]!;
  }
  // Position 0 (BOS) is never a shot entry (shot-press.ts).
  return shots.map((s: SegmentRange, i) => sums[i]! / (s.end - s.start - (s.start === 0 ? 1 : 0)));
};

/** An entry's score when the protected text alone exceeds the budget: the attention the question's queries give it (the shot score's α, not averaged). */
export const shotkvEntryScorer: EntryScorer = (view, h) => {
  const rows = queryRows(view);
  const T = view.length(h);
  const a = view.attention(h, { rows });
  const out = new Float64Array(T);
  for (let r = 0; r < rows; r++) for (let j = 0; j < T; j++) out[j] += a[r * T + j]!;
  return out;
};

/** Query rows from the start of the prompt's last question segment to the end of the prompt. */
function queryRows(view: LayerView): number {
  const { startPos, n } = view.processed;
  const q = (view.segments ?? []).filter((s) => s.kind === 'question' && s.start >= startPos && s.start < startPos + n).at(-1);
  return q ? startPos + n - q.start : Math.min(32, n);
}

/** ShotKV: the shot-level prefill press, with its decoding phase attached. */
export function shotkvPress(opts: ShotKVOptions = shotkvDefaults): Press {
  return new ShotPress('shotkv', shotkvScorer, shotkvEntryScorer, opts, {
    needsAttentionSums: opts.accumulate,
    start: ({ promptEnd, decodeRatio }) =>
      decodeRatio > 0 ? shotkvDecoding({ promptEnd, decodeRatio, recent: opts.recent, accumulate: opts.accumulate }) : undefined,
  });
}

export function shotkvOptions(p: Record<string, unknown>): ShotKVOptions {
  return { stopAtFirstMiss: p.stopAtFirstMiss === true, keepProtected: p.keepProtected === true, recent: nonNegativeInt(p.recent, 'recent'), accumulate: p.accumulate === true };
}

export const shotkvEntry: PressEntry = {
  name: 'shotkv',
  description: 'ShotKV: keeps or drops whole few-shot examples by the attention the question pays them; generated tokens compressed separately (decodeRatio)',
  params: [
    { name: 'stopAtFirstMiss', default: shotkvDefaults.stopAtFirstMiss, description: 'stop at the first shot that does not fit instead of trying smaller ones' },
    { name: 'keepProtected', default: shotkvDefaults.keepProtected, description: "keep system prompt and question whole even beyond the budget, and zero-shot prompts untouched (the paper's reading)" },
    { name: 'recent', default: shotkvDefaults.recent, description: 'decoding: most recent generated entries always kept' },
    { name: 'accumulate', default: shotkvDefaults.accumulate, description: 'decoding: score by accumulated attention instead of the newest query' },
  ],
  create: (p) => shotkvPress(shotkvOptions(p)),
};
