import { randomUUID } from 'node:crypto';
import type { PressureReport } from './pressure-relief.js';
import type { SequenceResult } from './sequence.js';

/** Which OpenAI endpoint a generation answers: plain text completions or chat. */
export type GenerationKind = 'text' | 'chat';

/** OpenAI's usage object with kvtrim's KV accounting added. */
export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  kv_bytes: number;
  kv_bytes_full: number;
  prefill_kept: number;
  kv_prefix_tokens?: number;
  /** How the server compressed the running sequence to admit others (`--on-pressure compress`). */
  kv_pressure?: PressureReport;
}

export function usageOf(r: SequenceResult, prefixTokens: number | undefined): Usage {
  const u: Usage = {
    prompt_tokens: r.promptTokens,
    completion_tokens: r.completionTokens,
    total_tokens: r.promptTokens + r.completionTokens,
    kv_bytes: r.kvBytes,
    kv_bytes_full: r.kvBytesFull,
    prefill_kept: r.prefillKept,
  };
  if (prefixTokens !== undefined) u.kv_prefix_tokens = prefixTokens;
  if (r.pressure) u.kv_pressure = r.pressure;
  return u;
}

/** OpenAI's finish reasons: the end of the context is a length limit too. */
export function finishReason(r: SequenceResult): 'stop' | 'length' {
  return r.finish === 'stop' ? 'stop' : 'length';
}

/** Builds the response objects and stream chunks of one generation (one id and creation time for all). */
export class ResponseShapes {
  readonly id: string;
  private readonly created = Math.floor(Date.now() / 1000);

  constructor(
    readonly kind: GenerationKind,
    readonly model: string,
  ) {
    this.id = `${kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${randomUUID()}`;
  }

  complete(text: string, r: SequenceResult, usage: Usage): object {
    const finish_reason = finishReason(r);
    const choice =
      this.kind === 'chat'
        ? { index: 0, message: { role: 'assistant', content: text }, logprobs: null, finish_reason }
        : { index: 0, text, logprobs: null, finish_reason };
    return { ...this.head(false), choices: [choice], usage };
  }

  /** A chunk with new text (or, for chat, the first chunk announcing the assistant's role). */
  delta(text: string, opts: { first?: boolean; withUsage: boolean }): object {
    const choice =
      this.kind === 'chat'
        ? { index: 0, delta: opts.first ? { role: 'assistant', content: text } : { content: text }, logprobs: null, finish_reason: null }
        : { index: 0, text, logprobs: null, finish_reason: null };
    return this.chunk([choice], opts.withUsage);
  }

  finish(r: SequenceResult, withUsage: boolean): object {
    const finish_reason = finishReason(r);
    const choice = this.kind === 'chat' ? { index: 0, delta: {}, logprobs: null, finish_reason } : { index: 0, text: '', logprobs: null, finish_reason };
    return this.chunk([choice], withUsage);
  }

  /** The last chunk `stream_options.include_usage` asks for: no choices, the usage. */
  usage(usage: Usage): object {
    return { ...this.head(true), choices: [], usage };
  }

  private chunk(choices: object[], withUsage: boolean): object {
    return withUsage ? { ...this.head(true), choices, usage: null } : { ...this.head(true), choices };
  }

  private head(stream: boolean): { id: string; object: string; created: number; model: string } {
    const object = this.kind === 'chat' ? (stream ? 'chat.completion.chunk' : 'chat.completion') : 'text_completion';
    return { id: this.id, object, created: this.created, model: this.model };
  }
}
