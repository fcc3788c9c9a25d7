import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { TextStreamer } from '../tokenizer/text-streamer.js';
import { Sampler, type SamplingOptions } from './sampler.js';
import { StopMatcher } from './stop-matcher.js';

export interface GenerateOptions extends SamplingOptions {
  maxTokens?: number;
  /** Extra token ids that end generation (the tokenizer's EOS ids always do). */
  stopTokens?: number[];
  /** Strings that end generation; the text up to them is returned, the stop string is not. */
  stop?: string[];
  /** Teacher forcing: take these tokens in order instead of sampling, then end (`maxTokens` defaults to their count). */
  forced?: readonly number[];
}

export interface GeneratedToken {
  /** The token id, or −1 for text released at the end (held back while it could have begun a stop string). */
  id: number;
  /** Text this token completes (may be empty while a UTF-8 sequence or a possible stop string is pending). */
  text: string;
}

/** Why the last generation ended: a stop token or string, its token limit, or the model's context end. */
export type FinishReason = 'stop' | 'length' | 'context';

/** What one sampled position gives: text to stream, the token to run next (if any), and whether generation ended. */
export interface Choice {
  tokens: GeneratedToken[];
  /** The token to run through the model next (the last one of a `length` finish is still run, as before the limit). */
  step?: number;
  finish?: FinishReason;
}

/**
 * One generation's choices, whoever runs the model (a session alone or a batch): sampling, stop
 * tokens and strings, the token limit and the context end, and the streamed text.
 */
export class Generation {
  private readonly sampler: Sampler;
  private readonly stopIds: Set<number>;
  private readonly stops: StopMatcher;
  private readonly streamer: TextStreamer;
  private readonly max: number;
  private readonly forced: readonly number[] | undefined;
  /** Tokens generated so far (stop tokens excluded). */
  count = 0;

  constructor(
    tokenizer: Tokenizer,
    private readonly maxSeqLen: number,
    opts: GenerateOptions = {},
  ) {
    this.sampler = new Sampler(opts);
    this.stopIds = new Set([...tokenizer.eosIds, ...(opts.stopTokens ?? [])]);
    this.stops = new StopMatcher(opts.stop ?? []);
    this.streamer = new TextStreamer(tokenizer);
    this.forced = opts.forced;
    this.max = opts.maxTokens ?? opts.forced?.length ?? 256;
    if (this.forced && this.max > this.forced.length) throw new RangeError(`maxTokens ${this.max} is more than the ${this.forced.length} forced tokens`);
  }

  /** Picks the token after `logits`; `seen` is how many positions the cache has processed. */
  pick(logits: Float32Array, seen: number): Choice {
    if (this.max <= 0) return { tokens: this.tail(), finish: 'length' };
    const id = this.forced ? this.forced[this.count]! : this.sampler.sample(logits);
    if (this.stopIds.has(id)) return { tokens: this.tail(), finish: 'stop' };
    this.count++;
    const { text, stopped } = this.stops.push(this.streamer.push(id));
    const tokens = [{ id, text }];
    if (stopped) return { tokens, finish: 'stop' };
    if (seen >= this.maxSeqLen) return { tokens, finish: 'context' };
    if (this.count >= this.max) return { tokens: [...tokens, ...this.tail()], step: id, finish: 'length' };
    return { tokens, step: id };
  }

  /** Text held back for a possible stop string or an unfinished character, released at the end. */
  private tail(): GeneratedToken[] {
    const text = this.stops.push(this.streamer.flush()).text + this.stops.flush();
    return text ? [{ id: -1, text }] : [];
  }
}
