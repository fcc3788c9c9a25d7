import type { HeadCache } from '../cache/head-cache.js';
import type { ModelConfig } from '../formats/model-config.js';
import type { ForwardHooks } from '../model/hooks.js';
import { CacheLayerView } from './layer-view.js';
import type { Budget, Keep, Press } from './press.js';
import type { SegmentRange } from './segment-range.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';

/** What a press sees of its sequence besides the layer: the tokens so far, the prompt's structure, token classes. */
export interface SequenceContext {
  config: ModelConfig;
  tokens: readonly number[];
  segments?: readonly SegmentRange[];
  tokenizer?: Pick<Tokenizer, 'isSpecial' | 'piece'>;
}

/** Forward hooks that run `press` after each layer's attention and compact the cache to what it keeps. */
export function pressHooks(press: Press, budget: Budget, ctx: SequenceContext): ForwardHooks {
  return {
    afterAttention(actx) {
      const view = new CacheLayerView(actx, ctx.config, ctx.tokens, ctx.segments, ctx.tokenizer);
      const keep = press.compress(view, budget);
      if (keep) applyKeep(actx.heads, keep, press.name);
    },
  };
}

/** Compacts each head to its kept indices; a head keeping everything is left untouched. */
export function applyKeep(heads: readonly HeadCache[], keep: Keep, pressName: string): void {
  if (keep.length !== heads.length) throw new RangeError(`press ${pressName} returned ${keep.length} index lists for ${heads.length} KV heads`);
  heads.forEach((h, i) => {
    if (keep[i]!.length === 0) throw new RangeError(`press ${pressName} kept no entry of KV head ${i}`);
    if (keep[i]!.length < h.length) h.keep(keep[i]!);
  });
}

/** Both sets of hooks, in order. */
export function combineHooks(a: ForwardHooks | undefined, b: ForwardHooks | undefined): ForwardHooks | undefined {
  if (!a || !b) return a ?? b;
  return {
    onLinearInput(layer, name, x, n) {
      a.onLinearInput?.(layer, name, x, n);
      b.onLinearInput?.(layer, name, x, n);
    },
    afterAttention(ctx) {
      a.afterAttention?.(ctx);
      b.afterAttention?.(ctx);
    },
  };
}
