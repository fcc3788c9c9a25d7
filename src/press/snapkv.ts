import type { LayerView } from './layer-view.js';
import { pool1d } from './pool1d.js';
import { oneOf, positiveInt } from './param-checks.js';
import type { PressEntry } from './registry-entry.js';
import { scorerPress, type Scorer } from './scorer-press.js';
import { lastEntries } from './select-keep.js';

export interface SnapKVOptions {
  window: number;
  kernel: number;
  pooling: 'max' | 'avg';
}

export const snapkvDefaults: SnapKVOptions = { window: 32, kernel: 7, pooling: 'max' };

/**
 * SnapKV's scorer (methods.md §3): the last W queries' group-mean attention, averaged over the
 * window rows for the keys before the window, pooled along the keys; the window is protected
 * (only its most recent n_keep entries when the budget is smaller than W).
 */
export function snapkvScorer(opts: SnapKVOptions = snapkvDefaults): Scorer {
  const windowOf = (view: LayerView, h: number) => Math.max(1, Math.min(opts.window, view.processed.n, view.length(h)));
  return {
    score(view, h) {
      const T = view.length(h);
      const w = windowOf(view, h);
      const a = view.attention(h, { rows: w });
      const col = new Float32Array(T - w);
      for (let r = 0; r < w; r++) for (let j = 0; j < T - w; j++) col[j] += a[r * T + j]! / w;
      const scores = new Float32Array(T);
      scores.set(pool1d(col, opts.kernel, opts.pooling));
      return scores;
    },
    protect: (view, h, nKeep) => lastEntries(view.length(h), Math.min(windowOf(view, h), nKeep)),
  };
}

export const snapkvParams = [
  { name: 'window', default: snapkvDefaults.window, description: 'observation window: the last W prompt queries (always kept)' },
  { name: 'kernel', default: snapkvDefaults.kernel, description: 'pooling kernel size along the keys' },
  { name: 'pooling', default: snapkvDefaults.pooling, description: "'max' or 'avg' pooling" },
];

export function snapkvOptions(p: Record<string, unknown>): SnapKVOptions {
  return { window: positiveInt(p.window, 'window'), kernel: positiveInt(p.kernel, 'kernel'), pooling: oneOf(p.pooling, 'pooling', ['max', 'avg']) };
}

export const snapkvEntry: PressEntry = {
  name: 'snapkv',
  description: 'SnapKV: keeps keys the last prompt queries (observation window) attend to, after pooling',
  params: snapkvParams,
  scorer: (p) => snapkvScorer(snapkvOptions(p)),
  create: (p) => scorerPress('snapkv', snapkvScorer(snapkvOptions(p))),
};
