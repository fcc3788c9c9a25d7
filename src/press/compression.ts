import type { ForwardHooks } from '../model/hooks.js';
import { checkBudget } from './budget.js';
import type { Budget, Press } from './press.js';
import type { PressContext } from './press-context.js';
import { pressHooks, type SequenceContext } from './press-hooks.js';
import { createPress } from './registry.js';

export interface CompressionOptions {
  /** Press run after each layer's prefill attention (a registry name or a Press); needs `ratio` > 0 to act. */
  press?: Press | string;
  /** Fraction of the prompt's entries the press removes (0 = none: a plain forward, bit-identical). */
  ratio?: number;
  /** Press run during decoding, keeping floor((1 − decodeRatio) · tokens seen when generation starts) entries per head. */
  decodePress?: Press | string;
  decodeRatio?: number;
  /** Run the decoding press every this many generated tokens (default 1). */
  decodeInterval?: number;
}

/**
 * One sequence's whole compression policy, built and checked once: the prefill press and its ratio,
 * the decoding press with its ratio and interval. It knows whether the cache must keep attention
 * sums, gives each prefill its hooks, and fixes the decoding phase when generation starts, so a
 * prompt prefilled in several parts (a context, then its question) is one prompt to it.
 */
export class Compression {
  /** The prefill press, or undefined when the prefill is a plain forward (no press, or ratio 0). */
  readonly press: Press | undefined;
  readonly ratio: number;
  readonly decodeRatio: number;
  readonly decodeInterval: number;
  /** The press whose decoding rule runs: a named decoding press, else the prefill press's own phase. */
  private readonly decodeSource: Press | undefined;
  readonly needsAttentionSums: boolean;

  /** `presses`: what presses named here may need to run the model (KVzip, DuoAttention). */
  constructor(opts: CompressionOptions = {}, presses: PressContext = {}) {
    this.ratio = checkedRatio(opts.ratio);
    if (this.ratio !== 0 && !opts.press) throw new RangeError('a compression ratio needs a press');
    const named = opts.press === undefined ? undefined : resolvePress(opts.press, presses);
    this.press = this.ratio > 0 ? named : undefined;
    this.decodeRatio = checkedRatio(opts.decodeRatio);
    this.decodeInterval = opts.decodeInterval ?? 1;
    if (!(Number.isSafeInteger(this.decodeInterval) && this.decodeInterval >= 1))
      throw new RangeError(`decodeInterval ${this.decodeInterval} must be a positive integer`);
    this.decodeSource = opts.decodePress === undefined || opts.decodePress === named?.name ? named : resolvePress(opts.decodePress, presses);
    const phase = this.decodeSource?.decoding;
    const decodePress = !phase && this.decodeRatio > 0 ? this.decodeSource : undefined;
    this.needsAttentionSums = Boolean(this.press?.needsAttentionSums || phase?.needsAttentionSums || decodePress?.needsAttentionSums);
  }

  /** Hooks compressing one prefill (undefined: a plain forward); the press's per-prompt state starts here. */
  prefillHooks(ctx: SequenceContext): ForwardHooks | undefined {
    if (!this.press) return undefined;
    this.press.beginPrefill?.();
    return pressHooks(this.press, { ratio: this.ratio }, ctx);
  }

  /** The decoding phase of a generation that starts after `promptEnd` positions; undefined when decoding is not compressed. */
  startDecoding(promptEnd: number): Decoding | undefined {
    const source = this.decodeSource;
    if (source?.decoding) {
      const own = source.decoding.start({ promptEnd, decodeRatio: this.decodeRatio });
      return own && new Decoding(own, { ratio: this.decodeRatio }, this.decodeInterval);
    }
    if (this.decodeRatio === 0 || !source) return undefined;
    // H2O's budget (methods.md §2): fixed for the whole generation from the tokens seen when it starts.
    return new Decoding(source, { tokens: Math.max(1, Math.floor((1 - this.decodeRatio) * promptEnd)) }, this.decodeInterval);
  }
}

/** A running decoding phase: its press with a fixed budget, run every `interval` generated tokens. */
export class Decoding {
  private steps = 0;

  constructor(
    readonly press: Press,
    readonly budget: Budget,
    readonly interval: number,
  ) {}

  /** Hooks for the next generated token (undefined on the steps the interval skips). */
  stepHooks(ctx: SequenceContext): ForwardHooks | undefined {
    return ++this.steps % this.interval === 0 ? pressHooks(this.press, this.budget, ctx) : undefined;
  }
}

function resolvePress(p: Press | string, presses: PressContext): Press {
  return typeof p === 'string' ? createPress(p, {}, presses) : p;
}

function checkedRatio(ratio = 0): number {
  checkBudget({ ratio });
  return ratio;
}
