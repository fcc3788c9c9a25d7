import { FASTGEN_POLICIES, profileHead, type FastGenPolicy, type FastGenRates, type HeadProfile } from './fastgen-profile.js';
import { headKeepCounts, keepCount, keepsAll } from './budget.js';
import { fastgenDecoding } from './fastgen-decoding.js';
import type { LayerView } from './layer-view.js';
import { unitFraction } from './param-checks.js';
import type { Budget, DecodingPhase, Keep, Press } from './press.js';
import type { PressEntry } from './registry-entry.js';
import { tokenClasses } from './token-class.js';

export interface FastGenOptions extends FastGenRates {
  /**
   * kvtrim option: r_l = r_f = n_keep / (2T) from the press budget instead of the fixed rates, so the
   * hybrid policies fit the study's ratio axis (the paper fixes 0.3 / 0.3 and varies only τ).
   */
  budgetRates: boolean;
}

export const fastgenDefaults: FastGenOptions = { threshold: 0.95, local: 0.3, frequent: 0.3, budgetRates: false };

/**
 * FastGen (methods.md §12): at the end of each layer's prefill every KV head is profiled and gets
 * the cheapest policy recovering ≥ τ of its attention; its prompt cache is cut to that policy, and
 * during decoding (its `decoding` phase) it keeps evicting by the same policy. The
 * memory is set by τ, not by the compression ratio: a budget below the prompt length only switches
 * the press on (ratio 0 leaves the cache untouched).
 * Per-prompt state (the profiles, the rates used) lives in this instance; `policies()` reads them
 * after prefill.
 */
export class FastGenPress implements Press {
  readonly name = 'fastgen';
  /** The cache tracks running attention from the prefill on, for the frequent heads' decoding. */
  readonly needsAttentionSums = true;
  private profiles: HeadProfile[][] = [];
  private classes: { ids: Int32Array; bits: Uint8Array } | undefined;
  private used: FastGenRates;

  constructor(readonly opts: FastGenOptions = fastgenDefaults) {
    this.used = opts;
  }

  compress(view: LayerView, budget: Budget): Keep | null {
    const heads = Array.from({ length: view.kvHeads }, (_, h) => h);
    if (keepsAll(view, headKeepCounts(view, budget))) return null;
    const classes = this.classesOf(view);
    const half = keepCount(view.length(0), budget) / (2 * view.length(0));
    this.used = this.opts.budgetRates ? { threshold: this.opts.threshold, local: half, frequent: half } : this.opts;
    const profiles = heads.map((h) => profileHead(view, h, Uint8Array.from(view.positions(h), (p) => classes[p]!), this.used));
    this.profiles[view.layer] = profiles;
    return profiles.every((p, h) => p.keep.length === view.length(h)) ? null : profiles.map((p) => p.keep);
  }

  /** The policy of each (layer, KV head) after the last prefill: `policies()[layer][kvHead]`. */
  policies(): FastGenPolicy[][] {
    return this.profiles.map((l) => l.map((p) => p.policy));
  }

  /** Recovery of each candidate policy (FASTGEN_POLICIES order) per (layer, KV head). */
  recoveries(): number[][][] {
    return this.profiles.map((l) => l.map((p) => p.recovery));
  }

  beginPrefill(): void {
    this.profiles = [];
  }

  readonly decoding: DecodingPhase = {
    needsAttentionSums: true,
    start: () => fastgenDecoding((layer) => this.profiles[layer]?.map((p) => p.policy), (view) => this.classesOf(view), () => this.used),
  };

  /** Class bits by absolute position, recomputed only when the token list changed. */
  private classesOf(view: LayerView): Uint8Array {
    if (!view.tokenizer) throw new Error('fastgen: needs token classes (run it through a Session, whose layer views carry the tokenizer)');
    const ids = view.tokens;
    const c = this.classes;
    if (c && c.ids.length <= ids.length && c.ids.every((t, i) => t === ids[i])) {
      if (c.ids.length === ids.length) return c.bits;
      const bits = new Uint8Array(ids.length);
      bits.set(c.bits);
      bits.set(tokenClasses(view.tokenizer, ids.subarray(c.ids.length)), c.ids.length);
      this.classes = { ids: ids.slice(), bits };
      return bits;
    }
    this.classes = { ids: ids.slice(), bits: tokenClasses(view.tokenizer, ids) };
    return this.classes.bits;
  }
}

/** Heads per policy in one layer (the paper's Fig. 3 histogram; the heatmap page reads it). */
export function policyHistogram(layer: readonly FastGenPolicy[]): Record<FastGenPolicy, number> {
  const out = Object.fromEntries(FASTGEN_POLICIES.map((p) => [p, 0])) as Record<FastGenPolicy, number>;
  for (const p of layer) out[p]++;
  return out;
}

export function fastgenOptions(p: Record<string, unknown>): FastGenOptions {
  const threshold = unitFraction(p.threshold, 'threshold');
  if (threshold === 0) throw new RangeError('threshold must be in (0, 1], not 0');
  return { threshold, local: unitFraction(p.local, 'local'), frequent: unitFraction(p.frequent, 'frequent'), budgetRates: p.budgetRates === true };
}

export const fastgenEntry: PressEntry = {
  name: 'fastgen',
  memoryParam: 'threshold',
  description: 'FastGen: profiles each head at prefill and gives it the cheapest policy (special, punct, frequent, local, full) recovering τ of its attention; keeps applying it while decoding',
  params: [
    { name: 'threshold', default: fastgenDefaults.threshold, description: 'recovery threshold τ in (0, 1]' },
    { name: 'local', default: fastgenDefaults.local, description: 'r_l: local window as a fraction of the sequence length' },
    { name: 'frequent', default: fastgenDefaults.frequent, description: 'r_f: heavy hitters as a fraction of the sequence length' },
    { name: 'budgetRates', default: fastgenDefaults.budgetRates, description: 'r_l = r_f = n_keep / (2T) from the compression ratio (kvtrim option)' },
  ],
  create: (p) => new FastGenPress(fastgenOptions(p)),
};
