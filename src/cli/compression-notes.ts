import type { KVCache } from '../cache/kv-cache.js';
import type { KvQuantOptions } from '../cache/quantized-head-cache.js';
import type { Press } from '../press/press.js';
import { pressRegistry } from '../press/registry.js';
import type { SegmentRange } from '../press/segment-range.js';

/**
 * Why compression the user asked for did not act, or acts by another rule than the flags suggest:
 * one line each, said after the prefill instead of leaving the user to wonder at the KV bytes.
 */
export function compressionNotes(a: {
  press?: Press;
  /** The --ratio the user gave (undefined: the default). */
  ratio?: number;
  segments: readonly SegmentRange[];
  kvQuant?: KvQuantOptions;
  cache: KVCache;
}): string[] {
  const notes: string[] = [];
  const entry = a.press && pressRegistry.find((e) => e.name === a.press!.name);
  if (a.press?.usesShots && !a.segments.some((s) => s.kind === 'shot'))
    notes.push(`--press ${a.press.name} found no shot in the prompt, so it dropped nothing: separate the examples with a blank line or name the separator with --shot-separator`);
  if (entry?.memoryParam && a.ratio !== undefined)
    notes.push(
      `--press ${entry.name} keeps what its ${entry.memoryParam} (--press-param ${entry.memoryParam}=…) decides, not a share set by --ratio; a ratio above 0 only switches it on`,
    );
  if (a.kvQuant && a.cache.seen <= a.kvQuant.residual)
    notes.push(
      `--kv-quant: the prompt's ${a.cache.seen} tokens lie inside the ${a.kvQuant.residual}-token full-precision window (--kv-residual), so nothing is quantised until the cache holds more`,
    );
  return notes;
}
