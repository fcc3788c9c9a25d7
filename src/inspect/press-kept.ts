import type { KVCache } from '../cache/kv-cache.js';
import type { Press } from '../press/press.js';

/** What one press kept of a prompt. */
export interface PressKept {
  name: string;
  ratio: number;
  /** kept[layer][kvHead]: absolute positions still cached after prefill, ascending. */
  kept: number[][][];
  /** A per-head policy name, [layer][kvHead], for presses that choose one per head (FastGen). */
  policies?: string[][];
}

/** A press that chooses a policy per (layer, KV head) during prefill (FastGen) reports the names it chose. */
export interface HeadPolicyReporter {
  policies(): string[][];
}

/** The absolute positions each (layer, KV head) of a cache still holds, ascending. */
export function keptPositions(cache: KVCache): number[][][] {
  return cache.heads.map((layer) => layer.map((h) => Array.from(h.positions.subarray(0, h.length)).sort((a, b) => a - b)));
}

/** What `press` left in `cache` after prefilling a prompt at `ratio`, with its per-head policies if it reports them. */
export function pressKept(cache: KVCache, press: Press, ratio: number): PressKept {
  const out: PressKept = { name: press.name, ratio, kept: keptPositions(cache) };
  const reporter = press as Partial<HeadPolicyReporter>;
  if (typeof reporter.policies === 'function') out.policies = reporter.policies();
  return out;
}
