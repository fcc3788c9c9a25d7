import type { LayerView } from './layer-view.js';

export function samePositions(a: Int32Array, b: Int32Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** Every KV head of the layer holds the same positions (so per-position scores can be shared). */
export function sameEntries(view: LayerView): boolean {
  const p0 = view.positions(0);
  for (let h = 1; h < view.kvHeads; h++) if (!samePositions(view.positions(h), p0)) return false;
  return true;
}
