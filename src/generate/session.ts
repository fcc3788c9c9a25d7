import { KVCache } from '../cache/kv-cache.js';
import type { KvQuantOptions } from '../cache/quantized-head-cache.js';
import type { ForwardHooks } from '../model/hooks.js';
import type { Model } from '../model/model.js';
import type { Segment } from '../press/segment.js';
import { Compression, type CompressionOptions, type Decoding } from '../press/compression.js';
import { combineHooks, type SequenceContext } from '../press/press-hooks.js';
import type { SegmentRange } from '../press/segment-range.js';
import { recordQueries, type PrefillRecord } from './prefill-record.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { Generation, type FinishReason, type GeneratedToken, type GenerateOptions, type Choice } from './generation.js';
import { tokenisePrompt } from './tokenise-prompt.js';

export type { FinishReason, GeneratedToken, GenerateOptions } from './generation.js';

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
  /** Whether the cache keeps attention sums for the session's own use (asked for, or its compression reads them). */
  private readonly keepsAttentionSums: boolean;

  constructor(
    readonly model: Model,
    readonly tokenizer: Tokenizer,
    opts: SessionOptions = {},
  ) {
    this.compression = opts.compression instanceof Compression ? opts.compression : new Compression(opts.compression, { model, tokenizer });
    const trackAttentionSums = opts.trackAttentionSums || this.compression.needsAttentionSums;
    this.keepsAttentionSums = trackAttentionSums;
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
    const { ids, hooks } = this.preparePrefill(prompt, opts);
    const t0 = performance.now();
    const logits = opts.from ? this.replay(opts.from, ids, hooks) : this.model.forward(ids, this.cache, { hooks });
    this.finishPrefill(logits, ids.length, performance.now() - t0);
    return logits;
  }

  /**
   * The forward a prefill runs, for whoever runs it (this session, or a batch): tokenises the
   * prompt, records its tokens and segments, and returns its ids with the hooks to run them with
   * (the compression's press and the caller's). Then call `finishPrefill` with its last logits.
   */
  preparePrefill(prompt: string | readonly number[], opts: Omit<PrefillOptions, 'from'> = {}): { ids: number[]; hooks: ForwardHooks | undefined } {
    const { ids, ranges } = tokenisePrompt(this.tokenizer, prompt, opts.segments, this.cache.seen);
    if (ids.length === 0) throw new RangeError('empty prompt');
    const room = this.model.config.maxSeqLen - this.cache.seen;
    if (ids.length > room)
      throw new RangeError(`prompt of ${ids.length} tokens does not fit: ${room} of the model's ${this.model.config.maxSeqLen} context positions are left`);
    this.cache.tokens.push(...ids);
    this.segments.push(...ranges);
    const press = opts.compress === false ? undefined : this.compression.prefillHooks(this.sequenceContext());
    return { ids, hooks: combineHooks(opts.hooks, press) };
  }

  /** Takes the logits of a prefill's last token (see `preparePrefill`); `ms` is the time it took. */
  finishPrefill(logits: Float32Array, tokens: number, ms: number): void {
    this.lastLogits = logits;
    this.stats.prefillMs += ms;
    this.stats.promptTokens += tokens;
    this.decodingStarted = false;
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
    // The record keeps attention sums for the presses that read them; a session that needs none drops
    // them, so that its decoding attends on the backend's fast path, as a session prefilled directly does.
    if (!this.keepsAttentionSums) this.cache.dropAttentionSums();
    return rec.logits;
  }

  /** Runs one token; returns its logits. The first step after a prefill starts the decoding phase. */
  step(token: number, hooks?: ForwardHooks): Float32Array {
    const t0 = performance.now();
    const logits = this.model.forward([token], this.cache, { hooks: this.prepareStep(token, hooks) });
    this.finishStep(logits, performance.now() - t0);
    return logits;
  }

  /** The hooks one decoding step runs `token` with (its decoding press's and `hooks`), for whoever runs it; then `finishStep`. */
  prepareStep(token: number, hooks?: ForwardHooks): ForwardHooks | undefined {
    if (!this.decodingStarted) {
      this.decoding = this.compression.startDecoding(this.cache.seen);
      this.decodingStarted = true;
    }
    this.cache.tokens.push(token);
    return combineHooks(hooks, this.decoding?.stepHooks(this.sequenceContext()));
  }

  finishStep(logits: Float32Array, ms: number): void {
    this.lastLogits = logits;
    this.stats.decodeMs += ms;
  }

  /** The logits of the last token run (a prefill's or a step's). */
  get logits(): Float32Array | undefined {
    return this.lastLogits;
  }

  /** Streams generated tokens after the prefilled prompt until a stop condition, max tokens or the context end. */
  async *generate(opts: GenerateOptions = {}, hooks?: ForwardHooks): AsyncGenerator<GeneratedToken> {
    if (!this.lastLogits) throw new Error('generate: prefill a prompt first');
    const g = this.startGeneration(opts);
    let logits = this.lastLogits;
    for (;;) {
      const pick = this.pick(g, logits);
      yield* pick.tokens;
      if (pick.step !== undefined) logits = this.step(pick.step, hooks);
      if (pick.finish) return;
      await new Promise((r) => setImmediate(r));
    }
  }

  /** A generation after what the session has run (see `pick`); `generate` is the one-session loop over it. */
  startGeneration(opts: GenerateOptions = {}): Generation {
    this.finish = undefined;
    return new Generation(this.tokenizer, this.model.config.maxSeqLen, opts);
  }

  /** The generation's choice after `logits`, counted in the session's stats and finish. */
  pick(g: Generation, logits: Float32Array): Choice {
    const before = g.count;
    const pick = g.pick(logits, this.cache.seen);
    this.stats.generatedTokens += g.count - before;
    if (pick.finish) this.finish = pick.finish;
    return pick;
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
