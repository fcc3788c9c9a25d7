import { KVCache } from '../cache/kv-cache.js';
import type { KvQuantOptions } from '../cache/quantized-head-cache.js';
import type { ForwardHooks } from '../model/hooks.js';
import type { Model } from '../model/model.js';
import type { Segment } from '../press/segment.js';
import { checkBudget } from '../press/budget.js';
import type { Budget, Press } from '../press/press.js';
import { combineHooks, pressHooks } from '../press/press-hooks.js';
import { createPress } from '../press/registry.js';
import type { SegmentRange } from '../press/segment-range.js';
import { TextStreamer } from '../tokenizer/text-streamer.js';
import { recordQueries, type PrefillRecord } from './prefill-record.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { Sampler, type SamplingOptions } from './sampler.js';
import { StopMatcher } from './stop-matcher.js';

export interface GenerateOptions extends SamplingOptions {
  maxTokens?: number;
  /** Extra token ids that end generation (the tokenizer's EOS ids always do). */
  stopTokens?: number[];
  /** Strings that end generation; the text up to them is returned, the stop string is not. */
  stop?: string[];
}

export interface GeneratedToken {
  id: number;
  /** Text this token completes (may be empty while a UTF-8 sequence or a possible stop string is pending). */
  text: string;
}

export interface SessionStats {
  promptTokens: number;
  generatedTokens: number;
  prefillMs: number;
  decodeMs: number;
}

export interface PrefillOptions {
  /** Press run after each layer's prefill attention (a registry name or a Press); needs `ratio` > 0 to act. */
  press?: Press | string;
  /** Fraction of the prompt's entries the press removes (0 = none: a plain forward, bit-identical). */
  ratio?: number;
  /** Press run during decoding, keeping floor((1 − decodeRatio) · tokens seen at the end of this prefill) entries per head. */
  decodePress?: Press | string;
  decodeRatio?: number;
  /** Run the decoding press every this many generated tokens (default 1). */
  decodeInterval?: number;
  /** Prompt structure; the prompt must be their concatenation and is tokenised segment by segment so boundaries are exact. */
  segments?: readonly Segment[];
  /** Other observers of the prefill forward pass. */
  hooks?: ForwardHooks;
  /** Derive the cache from this recorded prefill of the same prompt instead of running the model (see `record`). */
  from?: PrefillRecord;
}

/** The decoding press of a session, with its fixed budget. */
interface DecodeCompression {
  press: Press;
  budget: Budget;
  interval: number;
  steps: number;
}

function resolvePress(p: Press | string): Press {
  return typeof p === 'string' ? createPress(p) : p;
}

/** One conversation over one KV cache: prefill a prompt, then decode token by token. */
export class Session {
  readonly cache: KVCache;
  readonly stats: SessionStats = { promptTokens: 0, generatedTokens: 0, prefillMs: 0, decodeMs: 0 };
  private lastLogits: Float32Array | undefined;
  private decode: DecodeCompression | undefined;
  /** Absolute position ranges of the segments given to prefill so far. */
  readonly segments: SegmentRange[] = [];

  constructor(
    readonly model: Model,
    readonly tokenizer: Tokenizer,
    /** `kvQuant`: store the new cache KIVI-quantised (ignored when `cache` is given). */
    opts: { cache?: KVCache; trackAttention?: boolean; kvQuant?: KvQuantOptions } = {},
  ) {
    const { nLayers, nKvHeads, headDim } = model.config;
    this.cache =
      opts.cache ??
      (opts.kvQuant
        ? new KVCache({ nLayers, nKvHeads, headDim }, { trackAttention: opts.trackAttention, quant: opts.kvQuant })
        : model.newCache({ trackAttention: opts.trackAttention }));
  }

  /**
   * Tokenises (strings get BOS by the tokenizer's convention when the cache is empty) and runs the
   * prompt, compressing the cache with `press` after each layer's attention when asked.
   */
  prefill(prompt: string | readonly number[], opts: PrefillOptions = {}): Float32Array {
    const { ids, ranges } = this.tokenise(prompt, opts.segments);
    if (ids.length === 0) throw new RangeError('empty prompt');
    const room = this.model.config.maxSeqLen - this.cache.seen;
    if (ids.length > room)
      throw new RangeError(`prompt of ${ids.length} tokens does not fit: ${room} of the model's ${this.model.config.maxSeqLen} context positions are left`);
    const ratio = opts.ratio ?? 0;
    checkBudget({ ratio });
    if (ratio !== 0 && !opts.press) throw new RangeError('prefill: a compression ratio needs a press');
    const named = opts.press !== undefined ? resolvePress(opts.press) : undefined;
    const press = ratio > 0 ? named : undefined;
    if (opts.decodePress || named?.decodingPhase) this.decode = this.decodeCompression(opts, ids.length, named);
    if (press?.needsAttention) this.cache.trackAttention();
    this.cache.tokens.push(...ids);
    this.segments.push(...ranges);
    const hooks = press
      ? combineHooks(opts.hooks, pressHooks(press, { ratio }, { config: this.model.config, tokens: this.cache.tokens, segments: this.segments, tokenizer: this.tokenizer }))
      : opts.hooks;
    const t0 = performance.now();
    if (opts.from) this.lastLogits = this.replay(opts.from, ids, hooks);
    else this.lastLogits = this.model.forward(ids, this.cache, { hooks });
    this.stats.prefillMs += performance.now() - t0;
    this.stats.promptTokens += ids.length;
    return this.lastLogits;
  }

  /**
   * Prefills `prompt` (no press) and keeps what any press needs to derive its compressed cache
   * later: pass the record as `from` to `prefill` of the same prompt in a fresh session.
   */
  record(prompt: string | readonly number[], segments?: readonly Segment[]): PrefillRecord {
    const queries: Float32Array[] = [];
    const startPos = this.cache.seen;
    this.cache.trackAttention();
    const logits = this.prefill(prompt, { segments, hooks: recordQueries(queries) });
    return { ids: this.cache.tokens.slice(startPos), startPos, queries, cache: this.cache.clone(), logits, prefillMs: this.stats.prefillMs };
  }

  /** Adopts a recorded prefill of `ids` and runs the press hooks over its recorded layers. */
  private replay(rec: PrefillRecord, ids: readonly number[], hooks: ForwardHooks | undefined): Float32Array {
    if (rec.startPos !== this.cache.seen || rec.ids.length !== ids.length || rec.ids.some((t, i) => t !== ids[i]))
      throw new RangeError('prefill: the recorded prefill is of another prompt or position');
    this.cache.restore(rec.cache);
    const n = ids.length;
    for (let layer = 0; layer < this.model.config.nLayers; layer++)
      hooks?.afterAttention?.({ layer, queries: rec.queries[layer]!, n, startPos: rec.startPos, heads: this.cache.layer(layer) });
    return rec.logits;
  }

  /** Runs one token; returns its logits. */
  step(token: number, hooks?: ForwardHooks): Float32Array {
    const t0 = performance.now();
    this.cache.tokens.push(token);
    const d = this.decode;
    if (d && ++d.steps % d.interval === 0)
      hooks = combineHooks(hooks, pressHooks(d.press, d.budget, { config: this.model.config, tokens: this.cache.tokens, segments: this.segments, tokenizer: this.tokenizer }));
    this.lastLogits = this.model.forward([token], this.cache, { hooks });
    this.stats.decodeMs += performance.now() - t0;
    return this.lastLogits;
  }

  /** Streams generated tokens after the prefilled prompt until a stop condition, max tokens or the context end. */
  async *generate(opts: GenerateOptions = {}, hooks?: ForwardHooks): AsyncGenerator<GeneratedToken> {
    if (!this.lastLogits) throw new Error('generate: prefill a prompt first');
    const sampler = new Sampler(opts);
    const stopIds = new Set([...this.tokenizer.eosIds, ...(opts.stopTokens ?? [])]);
    const stops = new StopMatcher(opts.stop ?? []);
    const streamer = new TextStreamer(this.tokenizer);
    const max = opts.maxTokens ?? 256;
    let logits = this.lastLogits;
    for (let i = 0; i < max; i++) {
      const id = sampler.sample(logits);
      if (stopIds.has(id)) break;
      this.stats.generatedTokens++;
      const { text, stopped } = stops.push(streamer.push(id));
      yield { id, text };
      if (stopped || this.cache.seen >= this.model.config.maxSeqLen) return;
      logits = this.step(id, hooks);
      await new Promise((r) => setImmediate(r));
    }
    const tail = stops.push(streamer.flush()).text + stops.flush();
    if (tail) yield { id: -1, text: tail };
  }

  private tokenise(prompt: string | readonly number[], segments: readonly Segment[] | undefined): { ids: number[]; ranges: SegmentRange[] } {
    const bos = this.cache.seen === 0;
    if (!segments) return { ids: typeof prompt === 'string' ? this.tokenizer.encode(prompt, { addBos: bos }) : [...prompt], ranges: [] };
    if (typeof prompt !== 'string' || prompt !== segments.map((s) => s.text).join(''))
      throw new RangeError('prefill: with segments, the prompt must be the concatenation of their texts');
    const ids: number[] = [];
    const ranges: SegmentRange[] = [];
    for (const [i, seg] of segments.entries()) {
      const segIds = this.tokenizer.encode(seg.text, { addBos: bos && i === 0 });
      const start = this.cache.seen + ids.length;
      ranges.push({ kind: seg.kind, start, end: start + segIds.length });
      ids.push(...segIds);
    }
    return { ids, ranges };
  }

  private decodeCompression(opts: PrefillOptions, promptTokens: number, named: Press | undefined): DecodeCompression | undefined {
    const ratio = opts.decodeRatio ?? 0;
    checkBudget({ ratio });
    const interval = opts.decodeInterval ?? 1;
    if (!(Number.isSafeInteger(interval) && interval >= 1)) throw new RangeError(`decodeInterval ${interval} must be a positive integer`);
    const seen = this.cache.seen + promptTokens;
    // A press with its own decoding phase (ShotKV, FastGen) runs it, with its own rule, unless another decoding press is named.
    const source = opts.decodePress === undefined || opts.decodePress === named?.name ? named : resolvePress(opts.decodePress);
    if (source?.decodingPhase) {
      const own = source.decodingPhase({ promptEnd: seen, decodeRatio: ratio });
      if (own?.needsAttention) this.cache.trackAttention();
      return own && { press: own, budget: { ratio }, interval, steps: 0 };
    }
    if (ratio === 0 || !source) return undefined;
    const press = source;
    if (press.needsAttention) this.cache.trackAttention();
    // H2O's budget (methods.md §2): fixed for the whole generation from the tokens seen at prefill.
    return { press, budget: { tokens: Math.max(1, Math.floor((1 - ratio) * seen)) }, interval, steps: 0 };
  }

  /** Gives the cache's buffers back now (a backend's memory is not seen by the garbage collector); the session is left empty. */
  free(): void {
    this.cache.free();
  }

  /** Convenience: prefill then collect the whole generated text. */
  async complete(prompt: string | readonly number[], opts: GenerateOptions = {}): Promise<{ text: string; ids: number[] }> {
    this.prefill(prompt);
    const ids: number[] = [];
    let text = '';
    for await (const t of this.generate(opts)) {
      if (t.id >= 0) ids.push(t.id);
      text += t.text;
    }
    return { text, ids };
  }
}
