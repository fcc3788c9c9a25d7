import type { ForwardHooks } from '../model/hooks.js';
import type { BatchPart, Model } from '../model/model.js';
import type { Segment } from '../press/segment.js';
import { planChunks, type Chunk } from './chunk-plan.js';
import type { FinishReason, GeneratedToken, GenerateOptions, Generation } from './generation.js';
import type { Session } from './session.js';

/** One sequence to run: its session (cache and compression), prompt, generation and where its tokens go. */
export interface SequenceRequest {
  session: Session;
  /** The prompt to prefill; absent when the session has run it already (decoding starts from its last logits). */
  prompt?: string | readonly number[];
  segments?: readonly Segment[];
  /** Run the session's compression on this prompt (default true; false appends it as is, after a stored prefix). */
  compress?: boolean;
  generate?: GenerateOptions;
  /** Extra hooks for every decoding step. */
  stepHooks?: ForwardHooks;
  /** Each generated piece of text, as soon as it is sampled. */
  onToken?(t: GeneratedToken): void;
  /** Aborting ends the sequence before its next step. */
  signal?: AbortSignal;
  /** The logits each token is picked from (the prompt's last, then every step's), before the pick. */
  onLogits?(logits: Float32Array): void;
  /** Called once the prompt's last chunk has run (and its press compressed the cache), before the first token is picked. */
  onPrefilled?(): void;
}

export interface SchedulerOptions {
  /** Tokens one step runs at most: every decoding sequence's token first, then prompt chunks (default 2048). */
  maxBatchTokens?: number;
  /** Longest prompt chunk (default 512; a multiple of 4, at least 64). Prompts over a KIVI-quantised cache are not chunked. */
  prefillChunk?: number;
}

interface Running {
  req: SequenceRequest;
  ids: number[];
  /** The press's hooks, run with the prompt's last chunk only (it compresses the whole prompt there). */
  hooks: ForwardHooks | undefined;
  chunks: Chunk[];
  nextChunk: number;
  generation: Generation | undefined;
  /** The token the next step runs. */
  token: number | undefined;
  /** Set when the next step is the last: generation ended at its token limit, whose last token still runs. */
  finishAfterStep: FinishReason | undefined;
  resolve(finish: FinishReason | 'cancelled'): void;
  reject(e: unknown): void;
}

/**
 * Continuous batching over one model: sequences join and leave at any step. A step runs, in one
 * forward over the weights, a token of every decoding sequence and then prompt chunks up to
 * `maxBatchTokens`; long prompts go in chunks (planChunks) between decode steps, so activations stay
 * bounded by a step's tokens. Each sequence gets exactly the tokens it would get alone (forwardBatch).
 * The caller owns each session and frees its cache.
 */
export class BatchScheduler {
  readonly maxBatchTokens: number;
  readonly prefillChunk: number;
  private readonly sequences: Running[] = [];
  private stepCount = 0;
  private loop: Promise<void> = Promise.resolve();
  /** True while `run` is stepping; cleared in the same synchronous turn as its last check for sequences. */
  private looping = false;

  constructor(
    readonly model: Model,
    opts: SchedulerOptions = {},
  ) {
    this.prefillChunk = opts.prefillChunk ?? 512;
    this.maxBatchTokens = opts.maxBatchTokens ?? 2048;
    planChunks(1, this.prefillChunk); // checks the chunk size
    if (!(Number.isSafeInteger(this.maxBatchTokens) && this.maxBatchTokens >= this.prefillChunk))
      throw new RangeError(`maxBatchTokens ${this.maxBatchTokens} must be a whole number of at least the prefill chunk (${this.prefillChunk})`);
  }

  get running(): number {
    return this.sequences.length;
  }

  get steps(): number {
    return this.stepCount;
  }

  /** Queues a sequence; resolves with how it ended. A prompt that cannot run (empty, over the context) rejects at once. */
  submit(req: SequenceRequest): Promise<FinishReason | 'cancelled'> {
    return new Promise((resolve, reject) => {
      const s: Running = { req, ids: [], hooks: undefined, chunks: [], nextChunk: 0, generation: undefined, token: undefined, finishAfterStep: undefined, resolve, reject };
      if (req.prompt === undefined) {
        const logits = req.session.logits;
        if (!logits) throw new Error('submit: a sequence without a prompt needs a session that has run one');
        s.generation = req.session.startGeneration(req.generate);
        this.pick(s, logits);
        if (s.token === undefined && !s.finishAfterStep) return; // ended at its first pick
      } else {
        const { ids, hooks } = req.session.preparePrefill(req.prompt, { segments: req.segments, compress: req.compress });
        s.ids = ids;
        s.hooks = hooks;
        // A quantised cache quantises entries as they arrive: a later chunk would attend to quantised keys
        // where the one-shot forward's early tokens saw them exact, so its prompt runs whole.
        s.chunks = req.session.cache.quantized ? [{ from: 0, to: ids.length }] : planChunks(ids.length, this.prefillChunk);
      }
      this.sequences.push(s);
      if (!this.looping) this.loop = this.run();
    });
  }

  /** Resolves when no sequence is left. */
  async idle(): Promise<void> {
    while (this.looping) await this.loop;
  }

  private async run(): Promise<void> {
    this.looping = true;
    try {
      // Every step, the first included, starts on a turn of its own: submit returns before any token
      // is streamed, and other work (a server's requests) runs between steps.
      for (;;) {
        await new Promise((r) => setImmediate(r));
        if (this.sequences.length === 0) break;
        this.step();
      }
    } finally {
      this.looping = false;
    }
  }

  /** One forward over the weights for every decoding sequence and as many prompt chunks as fit. */
  private step(): void {
    this.stepCount++;
    for (const s of [...this.sequences]) if (s.req.signal?.aborted) this.end(s, 'cancelled');
    const parts: BatchPart[] = [];
    const owners: Running[] = [];
    let room = this.maxBatchTokens;
    for (const s of this.sequences) {
      if (s.token === undefined) continue;
      parts.push({ tokens: [s.token], cache: s.req.session.cache, hooks: s.req.session.prepareStep(s.token, s.req.stepHooks) });
      owners.push(s);
      room--;
    }
    for (const s of this.sequences) {
      if (s.token !== undefined || s.nextChunk >= s.chunks.length) continue;
      const c = s.chunks[s.nextChunk]!;
      if (c.to - c.from > room && parts.length > 0) continue;
      const last = s.nextChunk === s.chunks.length - 1;
      parts.push({
        tokens: s.ids.slice(c.from, c.to),
        cache: s.req.session.cache,
        hooks: last ? s.hooks : undefined,
        chunkOf: s.chunks.length > 1 ? { from: c.from, of: s.ids.length } : undefined,
      });
      owners.push(s);
      room -= c.to - c.from;
    }
    if (parts.length === 0) return;
    const t0 = performance.now();
    let logits: Float32Array[];
    try {
      logits = this.model.forwardBatch(parts);
    } catch (e) {
      // A press or kernel failing mid-step leaves every cache of the step half-written: all of them end.
      for (const s of owners) this.fail(s, e);
      return;
    }
    const ms = (performance.now() - t0) / parts.length;
    owners.forEach((s, i) => {
      const { session } = s.req;
      if (s.token !== undefined) {
        session.finishStep(logits[i]!, ms);
        if (s.finishAfterStep) return this.end(s, s.finishAfterStep);
      } else {
        const last = ++s.nextChunk === s.chunks.length;
        if (!last) return;
        session.finishPrefill(logits[i]!, s.ids.length, ms);
        s.generation = session.startGeneration(s.req.generate);
        s.req.onPrefilled?.();
      }
      this.pick(s, logits[i]!);
    });
  }

  private pick(s: Running, logits: Float32Array): void {
    try {
      s.req.onLogits?.(logits);
      const p = s.req.session.pick(s.generation!, logits);
      for (const t of p.tokens) s.req.onToken?.(t);
      s.token = p.step;
      if (p.finish && p.step === undefined) this.end(s, p.finish);
      else s.finishAfterStep = p.finish;
    } catch (e) {
      this.fail(s, e);
    }
  }

  private end(s: Running, finish: FinishReason | 'cancelled'): void {
    this.remove(s);
    s.resolve(finish);
  }

  private fail(s: Running, e: unknown): void {
    this.remove(s);
    s.reject(e);
  }

  private remove(s: Running): void {
    const i = this.sequences.indexOf(s);
    if (i >= 0) this.sequences.splice(i, 1);
  }
}
