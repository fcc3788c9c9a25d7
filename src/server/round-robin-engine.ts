import { Session, type GeneratedToken } from '../generate/session.js';
import type { Model } from '../model/model.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import type { Engine } from './engine.js';
import { kvBytesPerToken } from './kv-bytes.js';
import type { SequenceResult, SequenceSpec } from './sequence.js';

/** One running request: its own session and cache, its token stream, and where its result goes. */
interface Running {
  spec: SequenceSpec;
  session: Session | undefined;
  tokens: AsyncGenerator<GeneratedToken> | undefined;
  prefillKept: number;
  /** The step at which the cancellation was signalled. */
  abortedAtStep: number | undefined;
  resolve(r: SequenceResult): void;
  reject(e: unknown): void;
}

/**
 * The engine before batched decoding: every sequence has its own Session and cache, and each step
 * advances every running sequence by one token in turn (a new one by its prefill and first token).
 * A sequence's forward passes are exactly those it would run alone, so its output is too.
 * `maxBatchTokens` bounds the tokens one step processes: prefills wait for a step with room.
 */
export class RoundRobinEngine implements Engine {
  private readonly sequences: Running[] = [];
  private stepCount = 0;
  private loop: Promise<void> = Promise.resolve();
  /** True while `run` is stepping; cleared in the same synchronous turn as its last check for sequences. */
  private looping = false;

  constructor(
    readonly model: Model,
    readonly tokenizer: Tokenizer,
    readonly opts: { maxBatchTokens?: number } = {},
  ) {}

  get running(): number {
    return this.sequences.length;
  }

  get steps(): number {
    return this.stepCount;
  }

  heldBytes(): number {
    let b = 0;
    for (const s of this.sequences) b += s.session?.cache.bytes() ?? 0;
    return b;
  }

  submit(spec: SequenceSpec): Promise<SequenceResult> {
    return new Promise<SequenceResult>((resolve, reject) => {
      const seq: Running = { spec, session: undefined, tokens: undefined, prefillKept: 1, abortedAtStep: undefined, resolve, reject };
      spec.signal.addEventListener('abort', () => (seq.abortedAtStep ??= this.stepCount), { once: true });
      if (spec.signal.aborted) seq.abortedAtStep = this.stepCount;
      this.sequences.push(seq);
      // A sequence submitted while the loop winds down (its last sequence's result settling in the same
      // turn) would otherwise wait for a loop that has already decided to stop.
      if (!this.looping) this.loop = this.run();
    });
  }

  async idle(): Promise<void> {
    while (this.looping) await this.loop;
  }

  private async run(): Promise<void> {
    this.looping = true;
    try {
      while (this.sequences.length > 0) {
        this.stepCount++;
        let tokens = 0;
        for (const seq of [...this.sequences]) {
          if (seq.spec.signal.aborted) {
            this.end(seq, 'cancelled');
            continue;
          }
          const cost = seq.tokens ? 1 : seq.spec.promptTokens;
          if (!seq.tokens && tokens > 0 && tokens + cost > (this.opts.maxBatchTokens ?? Infinity)) continue;
          tokens += cost;
          try {
            if (!seq.tokens) this.start(seq);
            const next = await seq.tokens!.next();
            if (next.done) this.end(seq, seq.session!.finish ?? 'length');
            else seq.spec.onToken(next.value);
          } catch (e) {
            this.remove(seq);
            seq.reject(e);
          }
        }
      }
    } finally {
      this.looping = false;
    }
  }

  /** Prefills the sequence (after its copy of a prefix, if any) and shrinks its reservation to what it can still grow to. */
  private start(seq: Running): void {
    const { spec } = seq;
    const session = new Session(this.model, this.tokenizer, { cache: spec.prefix, kvQuant: spec.kvQuant, compression: spec.compression });
    seq.session = session;
    session.prefill(spec.prompt, { segments: spec.segments, compress: spec.prefix === undefined });
    const { nLayers, nKvHeads } = this.model.config;
    seq.prefillKept = session.cache.entries() / (session.cache.seen * nLayers * nKvHeads);
    const maxTokens = Math.min(spec.generate.maxTokens ?? 256, this.model.config.maxSeqLen - session.cache.seen);
    spec.reservation.shrink(session.cache.bytes() + maxTokens * kvBytesPerToken(this.model.config));
    seq.tokens = session.generate(spec.generate, spec.stepHooks);
  }

  private end(seq: Running, finish: SequenceResult['finish']): void {
    const s = seq.session;
    const result: SequenceResult = {
      finish,
      promptTokens: s?.stats.promptTokens ?? 0,
      completionTokens: s?.stats.generatedTokens ?? 0,
      kvBytes: s?.cache.bytes() ?? 0,
      kvBytesFull: s?.cache.fullBytes() ?? 0,
      prefillKept: seq.prefillKept,
      cancelLagSteps: seq.abortedAtStep === undefined ? 0 : this.stepCount - seq.abortedAtStep,
    };
    this.remove(seq);
    seq.resolve(result);
  }

  /** Drops the sequence from the engine, frees its cache and gives its reservation back. */
  private remove(seq: Running): void {
    this.sequences.splice(this.sequences.indexOf(seq), 1);
    void seq.tokens?.return(undefined);
    (seq.session?.cache ?? seq.spec.prefix)?.free();
    seq.spec.reservation.release();
  }
}
