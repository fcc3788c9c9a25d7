import { BatchScheduler } from '../generate/batch-scheduler.js';
import { Session } from '../generate/session.js';
import type { Model } from '../model/model.js';
import { combineHooks } from '../press/press-hooks.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import type { Engine } from './engine.js';
import { kvBytesPerToken } from './kv-bytes.js';
import type { PressureRelief } from './pressure-relief.js';
import type { SequenceResult, SequenceSpec } from './sequence.js';

/**
 * The server's engine: every admitted sequence gets its own Session and cache, and the batch
 * scheduler runs them together, one pass over the weights per step (continuous batching, long
 * prompts in chunks). A sequence's tokens are those it would get alone.
 */
export class BatchEngine implements Engine {
  private readonly scheduler: BatchScheduler;
  private readonly sessions = new Set<Session>();
  private readonly pressure: PressureRelief | undefined;
  private readonly trackAttentionSums: boolean;

  /** `pressure`: running sequences are capped to admit waiting requests (`--on-pressure compress`). */
  constructor(
    readonly model: Model,
    readonly tokenizer: Tokenizer,
    opts: { maxBatchTokens?: number; pressure?: PressureRelief } = {},
  ) {
    this.pressure = opts.pressure;
    // A pressure press that scores accumulated attention (H2O) needs the sums from the first token.
    this.trackAttentionSums = opts.pressure?.needsAttentionSums ?? false;
    const maxBatchTokens = opts.maxBatchTokens ?? 2048;
    // A step smaller than the default chunk takes chunks of what fits (in fours, at least 64).
    const prefillChunk = Math.max(64, Math.min(512, maxBatchTokens & ~3));
    this.scheduler = new BatchScheduler(model, { maxBatchTokens: Math.max(maxBatchTokens, prefillChunk), prefillChunk });
  }

  get running(): number {
    return this.scheduler.running;
  }

  get steps(): number {
    return this.scheduler.steps;
  }

  heldBytes(): number {
    let b = 0;
    for (const s of this.sessions) b += s.cache.bytes();
    return b;
  }

  idle(): Promise<void> {
    return this.scheduler.idle();
  }

  async submit(spec: SequenceSpec): Promise<SequenceResult> {
    const session = new Session(this.model, this.tokenizer, {
      cache: spec.prefix,
      kvQuant: spec.kvQuant,
      compression: spec.compression,
      trackAttentionSums: this.trackAttentionSums,
    });
    this.sessions.add(session);
    const cap = this.pressure?.sequence(session, spec.reservation);
    let abortedAtStep: number | undefined;
    const onAbort = () => (abortedAtStep ??= this.scheduler.steps);
    spec.signal.addEventListener('abort', onAbort, { once: true });
    if (spec.signal.aborted) onAbort();
    let prefillKept = 1;
    try {
      const finish = await this.scheduler.submit({
        session,
        prompt: spec.prompt,
        segments: spec.segments,
        compress: spec.prefix === undefined,
        generate: spec.generate,
        stepHooks: combineHooks(spec.stepHooks, cap?.hooks),
        onToken: spec.onToken,
        signal: spec.signal,
        onPrefilled: () => {
          // The sequence can now grow only by its generated tokens: give the rest of its reservation back.
          prefillKept = session.cache.keptShare();
          const maxTokens = Math.min(spec.generate.maxTokens ?? 256, this.model.config.maxSeqLen - session.cache.seen);
          spec.reservation.shrink(session.cache.bytes() + maxTokens * kvBytesPerToken(this.model.config));
          if (cap) this.pressure!.decoding(cap);
        },
      });
      return {
        finish,
        promptTokens: session.stats.promptTokens,
        completionTokens: session.stats.generatedTokens,
        kvBytes: session.cache.bytes(),
        kvBytesFull: session.cache.fullBytes(),
        prefillKept,
        cancelLagSteps: abortedAtStep === undefined ? 0 : this.scheduler.steps - abortedAtStep,
        pressure: cap?.report(),
      };
    } finally {
      spec.signal.removeEventListener('abort', onAbort);
      if (cap) this.pressure!.leave(cap);
      this.sessions.delete(session);
      session.free();
      spec.reservation.release();
    }
  }
}
