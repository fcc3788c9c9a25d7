import { KVCache } from '../cache/kv-cache.js';
import type { KvQuantOptions } from '../cache/quantized-head-cache.js';
import type { ForwardHooks } from '../model/hooks.js';
import type { Model } from '../model/model.js';
import type { Segment } from '../press/segment.js';
import { Compression, type CompressionOptions, type Decoding } from '../press/compression.js';
import { combineHooks, type SequenceContext } from '../press/press-hooks.js';
import type { SegmentRange } from '../press/segment-range.js';
import { TextStreamer } from '../tokenizer/text-streamer.js';
import { recordQueries, type PrefillRecord } from './prefill-record.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { Sampler, type SamplingOptions } from './sampler.js';
import { StopMatcher } from './stop-matcher.js';
import { tokenisePrompt } from './tokenise-prompt.js';

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

/** Why the last generation ended: a stop token or string, its token limit, or the model's context end. */
export type FinishReason = 'stop' | 'length' | 'context';

export interface SessionStats {
  promptTokens: number;
  generatedTokens: number;
  prefillMs: number;
  decodeMs: number;
}

export interface PrefillOptions {
  /** Prompt structure; the prompt must be their concatenation and is tokenised segment by segment so boundaries are exact. */
  segments?: readonly Segment[];
  /** Run the session's compression on this prefill (default true); false appends the prompt as is (a question after a compressed context). */
  compress?: boolean;
  /** Other observers of the prefill forward pass. */
  hooks?: ForwardHooks;
  /** Derive the cache from this recorded prefill of the same prompt instead of running the model (see `record`). */
  from?: PrefillRecord;
}

export interface SessionOptions {
  /** The cache to extend (default: a new one for the model). */
  cache?: KVCache;
  /** Store the new cache KIVI-quantised (ignored when `cache` is given). */
  kvQuant?: KvQuantOptions;
  /** Keep running attention sums even when the compression does not need them. */
  trackAttentionSums?: boolean;
  /** How this session's cache is compressed (default: not at all). */
  compression?: Compression | CompressionOptions;
}

/** One conversation over one KV cache: prefill a prompt, then decode token by token. */
export class Session {
  readonly cache: KVCache;
  readonly stats: SessionStats = { promptTokens: 0, generatedTokens: 0, prefillMs: 0, decodeMs: 0 };
  readonly compression: Compression;
  /** Why the last `generate` ended (undefined before one has ended). */
  finish: FinishReason | undefined;
  private lastLogits: Float32Array | undefined;
  /** The decoding phase, fixed at the first step after a prefill (`undefined` before it or when decoding is not compressed). */
  private decoding: Decoding | undefined;
  private decodingStarted = false;
  /** Absolute position ranges of the segments given to prefill so far. */
  readonly segments: SegmentRange[] = [];

  constructor(
    readonly model: Model,
    readonly tokenizer: Tokenizer,
    opts: SessionOptions = {},
  ) {
    this.compression = opts.compression instanceof Compression ? opts.compression : new Compression(opts.compression, { model, tokenizer });
    const trackAttentionSums = opts.trackAttentionSums || this.compression.needsAttentionSums;
    const { nLayers, nKvHeads, headDim } = model.config;
    this.cache =
      opts.cache ??
      (opts.kvQuant
        ? new KVCache({ nLayers, nKvHeads, headDim }, { trackAttentionSums, quant: opts.kvQuant })
        : model.newCache({ trackAttentionSums }));
    if (trackAttentionSums) this.cache.trackAttentionSums();
  }

  /**
   * Tokenises (strings get BOS by the tokenizer's convention when the cache is empty) and runs the
   * prompt, compressing the cache with `press` after each layer's attention when asked.
   */
  prefill(prompt: string | readonly number[], opts: PrefillOptions = {}): Float32Array {
    const { ids, ranges } = tokenisePrompt(this.tokenizer, prompt, opts.segments, this.cache.seen);
    if (ids.length === 0) throw new RangeError('empty prompt');
    const room = this.model.config.maxSeqLen - this.cache.seen;
    if (ids.length > room)
      throw new RangeError(`prompt of ${ids.length} tokens does not fit: ${room} of the model's ${this.model.config.maxSeqLen} context positions are left`);
    this.cache.tokens.push(...ids);
    this.segments.push(...ranges);
    const press = opts.compress === false ? undefined : this.compression.prefillHooks(this.sequenceContext());
    const hooks = combineHooks(opts.hooks, press);
    const t0 = performance.now();
    if (opts.from) this.lastLogits = this.replay(opts.from, ids, hooks);
    else this.lastLogits = this.model.forward(ids, this.cache, { hooks });
    this.stats.prefillMs += performance.now() - t0;
    this.stats.promptTokens += ids.length;
    this.decodingStarted = false;
    return this.lastLogits;
  }

  /**
   * Prefills `prompt` (no press) and keeps what any press needs to derive its compressed cache
   * later: pass the record as `from` to `prefill` of the same prompt in a fresh session.
   */
  record(prompt: string | readonly number[], segments?: readonly Segment[]): PrefillRecord {
    const queries: Float32Array[] = [];
    const startPos = this.cache.seen;
    this.cache.trackAttentionSums();
    const logits = this.prefill(prompt, { segments, compress: false, hooks: recordQueries(queries) });
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

  /** Runs one token; returns its logits. The first step after a prefill starts the decoding phase. */
  step(token: number, hooks?: ForwardHooks): Float32Array {
    const t0 = performance.now();
    if (!this.decodingStarted) {
      this.decoding = this.compression.startDecoding(this.cache.seen);
      this.decodingStarted = true;
    }
    this.cache.tokens.push(token);
    hooks = combineHooks(hooks, this.decoding?.stepHooks(this.sequenceContext()));
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
    this.finish = undefined;
    for (let i = 0; i < max; i++) {
      const id = sampler.sample(logits);
      if (stopIds.has(id)) {
        this.finish = 'stop';
        break;
      }
      this.stats.generatedTokens++;
      const { text, stopped } = stops.push(streamer.push(id));
      yield { id, text };
      if (stopped || this.cache.seen >= this.model.config.maxSeqLen) {
        this.finish = stopped ? 'stop' : 'context';
        return;
      }
      logits = this.step(id, hooks);
      await new Promise((r) => setImmediate(r));
    }
    this.finish ??= 'length';
    const tail = stops.push(streamer.flush()).text + stops.flush();
    if (tail) yield { id: -1, text: tail };
  }

  private sequenceContext(): SequenceContext {
    return { config: this.model.config, tokens: this.cache.tokens, segments: this.segments, tokenizer: this.tokenizer };
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
