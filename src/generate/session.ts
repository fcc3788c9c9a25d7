import type { KVCache } from '../cache/kv-cache.js';
import type { ForwardHooks } from '../model/hooks.js';
import type { Model } from '../model/model.js';
import { TextStreamer } from '../tokenizer/text-streamer.js';
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

/** One conversation over one KV cache: prefill a prompt, then decode token by token. */
export class Session {
  readonly cache: KVCache;
  readonly stats: SessionStats = { promptTokens: 0, generatedTokens: 0, prefillMs: 0, decodeMs: 0 };
  private lastLogits: Float32Array | undefined;

  constructor(
    readonly model: Model,
    readonly tokenizer: Tokenizer,
    opts: { cache?: KVCache; trackAttention?: boolean } = {},
  ) {
    this.cache = opts.cache ?? model.newCache({ trackAttention: opts.trackAttention });
  }

  /** Tokenises (strings get BOS by the tokenizer's convention when the cache is empty) and runs the prompt. */
  prefill(prompt: string | readonly number[], hooks?: ForwardHooks): Float32Array {
    const ids = typeof prompt === 'string' ? this.tokenizer.encode(prompt, { addBos: this.cache.seen === 0 }) : [...prompt];
    if (ids.length === 0) throw new RangeError('empty prompt');
    const room = this.model.config.maxSeqLen - this.cache.seen;
    if (ids.length > room)
      throw new RangeError(`prompt of ${ids.length} tokens does not fit: ${room} of the model's ${this.model.config.maxSeqLen} context positions are left`);
    const t0 = performance.now();
    this.lastLogits = this.model.forward(ids, this.cache, { hooks });
    this.stats.prefillMs += performance.now() - t0;
    this.stats.promptTokens += ids.length;
    return this.lastLogits;
  }

  /** Runs one token; returns its logits. */
  step(token: number, hooks?: ForwardHooks): Float32Array {
    const t0 = performance.now();
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
