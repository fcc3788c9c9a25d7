import { KVCache } from '../cache/kv-cache.js';
import type { Checkpoint } from '../formats/checkpoint.js';
import type { Backend } from '../kernels/backend.js';
import { dequantize } from '../formats/dequant.js';
import { rmsnorm } from '../kernels/rmsnorm.js';
import { ropeAngles, ropeInvFreq, rotate } from '../kernels/rope.js';
import { TsBackend } from '../kernels/ts-backend.js';
import type { ModelConfig } from '../formats/model-config.js';
import type { ForwardHooks, LinearName } from './hooks.js';
import { BatchLayout } from './batch-layout.js';
import { buildWeights, type ModelWeights } from './weights.js';

export interface ForwardOptions {
  /** Return logits for every processed token (n × vocab) instead of only the last. */
  allLogits?: boolean;
  hooks?: ForwardHooks;
}

/** One sequence's share of a batched forward step: its new tokens after what its own cache holds. */
export interface BatchPart extends ForwardOptions {
  tokens: ArrayLike<number>;
  cache: KVCache;
  /**
   * These tokens are tokens `from`… of one forward of `of` tokens (a prompt prefilled in chunks):
   * they get the bits that forward would give them. Default: a forward of just these tokens.
   */
  chunkOf?: { from: number; of: number };
}

/** Activations for a batch of n rows, reused while n does not grow. */
class Scratch {
  constructor(
    readonly n: number,
    c: ModelConfig,
    readonly xn = new Float32Array(n * c.dim),
    readonly q = new Float32Array(n * c.nHeads * c.headDim),
    readonly k = new Float32Array(n * c.nKvHeads * c.headDim),
    readonly v = new Float32Array(n * c.nKvHeads * c.headDim),
    readonly att = new Float32Array(n * c.nHeads * c.headDim),
    readonly proj = new Float32Array(n * c.dim),
    readonly gate = new Float32Array(n * c.hiddenDim),
    readonly up = new Float32Array(n * c.hiddenDim),
  ) {}

  private readonly gathered = new Map<string, Float32Array>();

  /** Room named `name` for one sequence's rows gathered from a batch (made when a batch first needs it). */
  gatherRoom(name: string): (floats: number) => Float32Array {
    return (floats) => {
      const have = this.gathered.get(name);
      if (have && have.length >= floats) return have;
      const a = new Float32Array(floats);
      this.gathered.set(name, a);
      return a;
    };
  }
}

/** A sequence in one step: its rows, positions, cache and hooks, and RoPE's angles at its positions. */
interface StepSequence {
  n: number;
  cache: KVCache;
  startPos: number;
  hooks: ForwardHooks | undefined;
  cos: Float64Array;
  sin: Float64Array;
  /** Split one token's keys across the threads (a forward of the sequence's tokens alone does; a chunk of a longer prompt does not). */
  splitKeys: boolean;
}

/** A step's sequences and where their rows sit in the stacked activations. */
interface Step {
  layout: BatchLayout;
  seqs: StepSequence[];
}

/** Prompts longer than this in a chunked forward: one-shot attention over them never splits keys (≥ 16 tiles of 4 tokens). */
export const MIN_CHUNKED_PROMPT = 64;

/** A Llama-family decoder: one forward pass whose variants (GQA, bias, tied, rope scaling, sliding window) come from the config. */
export class Model {
  /** One scratch per nesting depth: a hook may run layerForward itself (KVzip's reconstruction) while the outer call still needs its buffers. */
  private readonly scratch: (Scratch | undefined)[] = [];
  private depth = 0;
  private readonly invFreq: Float64Array;

  private constructor(
    readonly config: ModelConfig,
    readonly weights: ModelWeights,
    readonly backend: Backend,
  ) {
    this.invFreq = ropeInvFreq(config.headDim, config.ropeTheta, config.ropeScaling);
  }

  static fromCheckpoint(ckpt: Checkpoint, opts: { backend?: Backend } = {}): Model {
    const backend = opts.backend ?? new TsBackend();
    return new Model(ckpt.config, buildWeights(ckpt, backend), backend);
  }

  newCache(opts: { trackAttentionSums?: boolean } = {}): KVCache {
    const { nLayers, nKvHeads, headDim } = this.config;
    return new KVCache({ nLayers, nKvHeads, headDim }, { ...opts, storage: this.backend.cacheStorage });
  }

  /** Runs `tokens` after what `cache` holds, appending their K/V; returns last-token (or all) logits. */
  forward(tokens: ArrayLike<number>, cache: KVCache, opts: ForwardOptions = {}): Float32Array {
    return this.forwardBatch([{ tokens, cache, ...opts }])[0]!;
  }

  /**
   * One step over several sequences, each after its own cache: the linear layers run once over all
   * their rows (one pass over the weights), RoPE at each row's position, attention and hooks per
   * sequence. Each sequence's logits are bit for bit those of its own `forward` (on the WebAssembly
   * and TypeScript kernels): every row is summed in the order its own forward would sum it.
   */
  forwardBatch(parts: readonly BatchPart[]): Float32Array[] {
    if (parts.length === 0) throw new RangeError('forwardBatch: no sequences');
    if (new Set(parts.map((p) => p.cache)).size !== parts.length) throw new RangeError('forwardBatch: two parts share a cache');
    const chunks = parts.map((p) => {
      const n = p.tokens.length;
      if (n === 0) throw new RangeError('forward: no tokens');
      if (p.cache.seen + n > this.config.maxSeqLen)
        throw new RangeError(`context overflow: ${p.cache.seen} + ${n} tokens exceed the model's context of ${this.config.maxSeqLen}`);
      const c = p.chunkOf ?? { from: 0, of: n };
      if (!(Number.isInteger(c.from) && c.from >= 0 && c.from + n <= c.of)) throw new RangeError(`forward: tokens ${c.from}…${c.from + n} are not inside a forward of ${c.of}`);
      // Chunks must start on a tile of 4 (as the one-shot forward's tiles do) and the whole prompt be long enough never to split keys.
      if (c.of !== n && (c.from % 4 !== 0 || c.of < MIN_CHUNKED_PROMPT))
        throw new RangeError(`forward: a chunk must start at a multiple of 4 of a prompt of at least ${MIN_CHUNKED_PROMPT} tokens, got ${c.from} of ${c.of}`);
      return { n, from: c.from, of: c.of };
    });
    const layout = new BatchLayout(chunks);
    const { dim } = this.config;
    const hidden = new Float32Array(layout.total * dim);
    const seqs = parts.map((p, i): StepSequence => {
      const { n, of } = chunks[i]!;
      this.embed(p.tokens, hidden, layout.rows[i]!);
      const { cos, sin } = this.angles(p.cache.seen, n);
      return { n, cache: p.cache, startPos: p.cache.seen, hooks: p.hooks, cos, sin, splitKeys: of === n };
    });
    const step = { layout, seqs };
    for (let l = 0; l < this.config.nLayers; l++) this.stepLayer(l, hidden, step);
    for (const s of seqs) s.cache.seen += s.n;
    // The classifier's rows: every token of a part that wants all logits, else its last; kinds as its forward would give them.
    const out = parts.map((p, i) => (p.allLogits ? chunks[i]! : { n: 1, from: 0, of: 1 }));
    const headLayout = new BatchLayout(out);
    const x = new Float32Array(headLayout.total * dim);
    parts.forEach((p, i) => {
      const rows = layout.rows[i]!;
      const take = p.allLogits ? rows : rows.subarray(rows.length - 1);
      take.forEach((r, t) => x.set(hidden.subarray(r * dim, (r + 1) * dim), headLayout.rows[i]![t]! * dim));
    });
    const logits = this.headRows(x, headLayout);
    const V = this.config.vocabSize;
    return parts.map((_, i) => {
      const rows = headLayout.rows[i]!;
      const own = new Float32Array(rows.length * V);
      rows.forEach((r, t) => own.set(logits.subarray(r * V, (r + 1) * V), t * V));
      return own;
    });
  }

  /** Token embeddings, n × dim (or written to rows `at` of `out`). */
  embed(tokens: ArrayLike<number>, out = new Float32Array(tokens.length * this.config.dim), at?: Int32Array): Float32Array {
    const { dim, vocabSize } = this.config;
    for (let t = 0; t < tokens.length; t++) {
      const id = tokens[t]!;
      if (!Number.isInteger(id) || id < 0 || id >= vocabSize) throw new RangeError(`token id ${id} outside vocabulary of ${vocabSize}`);
      dequantize(this.weights.embed.dtype, this.weights.embed.data, id * dim, dim, out, (at ? at[t]! : t) * dim);
    }
    return out;
  }

  /** One transformer block over n tokens at positions startPos…, updating `hidden` in place. */
  layerForward(l: number, hidden: Float32Array, n: number, cache: KVCache, startPos: number, hooks?: ForwardHooks): void {
    const { cos, sin } = this.angles(startPos, n);
    this.stepLayer(l, hidden, { layout: new BatchLayout([{ n, from: 0, of: n }]), seqs: [{ n, cache, startPos, hooks, cos, sin, splitKeys: true }] });
  }

  private stepLayer(l: number, hidden: Float32Array, step: Step): void {
    const s = this.scratchFor(step.layout.total);
    this.depth++;
    try {
      this.blockForward(l, s, hidden, step);
    } finally {
      this.depth--;
    }
  }

  private blockForward(l: number, s: Scratch, hidden: Float32Array, { layout, seqs }: Step): void {
    const c = this.config;
    const w = this.weights.layers[l]!;
    const { dim, headDim, nHeads, nKvHeads, hiddenDim } = c;
    const group = nHeads / nKvHeads;
    const be = this.backend;
    const rows = layout.kinds;
    const N = layout.total;
    const qw = nHeads * headDim;
    const kw = nKvHeads * headDim;
    const linearInput = (name: LinearName, x: Float32Array, width: number) =>
      seqs.forEach((q, i) => q.hooks?.onLinearInput && q.hooks.onLinearInput(l, name, layout.gather(x, width, i, s.gatherRoom('in')), q.n));

    rmsnorm(s.xn, hidden, w.attnNorm, N, dim, c.normEps);
    linearInput('qkv', s.xn, dim);
    be.matmulShared([s.q, s.k, s.v], s.xn, rows, [w.wq, w.wk, w.wv]);
    if (w.bq) addBias(s.q, w.bq, N);
    if (w.bk) addBias(s.k, w.bk, N);
    if (w.bv) addBias(s.v, w.bv, N);

    seqs.forEach((seq, i) => {
      const { n, startPos, cos, sin } = seq;
      const q = layout.gather(s.q, qw, i, s.gatherRoom('q'));
      const k = layout.gather(s.k, kw, i, s.gatherRoom('k'));
      const v = layout.gather(s.v, kw, i, s.gatherRoom('v'));
      const heads = seq.cache.layer(l);
      const half = headDim / 2;
      for (let t = 0; t < n; t++) {
        rotate(q, t * qw, nHeads, headDim, cos, sin, t * half, c.ropeLayout);
        rotate(k, t * kw, nKvHeads, headDim, cos, sin, t * half, c.ropeLayout);
        for (let h = 0; h < nKvHeads; h++) {
          const o = (t * nKvHeads + h) * headDim;
          heads[h]!.append(k, o, v, o, startPos + t);
        }
      }
      const att = layout.gather(s.att, qw, i, s.gatherRoom('att'));
      be.attend(att, q, n, heads, startPos, group, c.slidingWindow, seq.splitKeys);
      seq.hooks?.afterAttention?.({ layer: l, queries: q, n, startPos, heads });
      layout.scatter(att, s.att, qw, i);
    });

    linearInput('o', s.att, qw);
    be.matmulShared([s.proj], s.att, rows, [w.wo]);
    addInPlace(hidden, s.proj, N * dim);

    rmsnorm(s.xn, hidden, w.ffnNorm, N, dim, c.normEps);
    linearInput('gateUp', s.xn, dim);
    be.matmulShared([s.gate, s.up], s.xn, rows, [w.wGate, w.wUp]);
    be.swiglu(s.gate, s.up, N * hiddenDim);
    linearInput('down', s.gate, hiddenDim);
    be.matmulShared([s.proj], s.gate, rows, [w.wDown]);
    addInPlace(hidden, s.proj, N * dim);
  }

  /** Final norm and classifier over n rows of hidden state: n × vocab logits. */
  head(hidden: Float32Array, n: number): Float32Array {
    return this.headRows(hidden, new BatchLayout([{ n, from: 0, of: n }]));
  }

  private headRows(hidden: Float32Array, layout: BatchLayout): Float32Array {
    const { dim, vocabSize, normEps } = this.config;
    const n = layout.total;
    const xn = new Float32Array(n * dim);
    rmsnorm(xn, hidden, this.weights.finalNorm, n, dim, normEps);
    const logits = new Float32Array(n * vocabSize);
    this.backend.matmulShared([logits], xn, layout.kinds, [this.weights.lmHead]);
    return logits;
  }

  /** RoPE's cos and sin at positions startPos…startPos + n. */
  private angles(startPos: number, n: number): { cos: Float64Array; sin: Float64Array } {
    const half = this.invFreq.length;
    const cos = new Float64Array(n * half);
    const sin = new Float64Array(n * half);
    for (let t = 0; t < n; t++) ropeAngles(startPos + t, this.invFreq, cos, sin, t * half);
    return { cos, sin };
  }

  /** Rows of the largest activation buffers allocated so far (a step's tokens, or a chunk's). */
  get activationRows(): number {
    return Math.max(0, ...this.scratch.map((s) => s?.n ?? 0));
  }

  private scratchFor(n: number): Scratch {
    const have = this.scratch[this.depth];
    if (have && have.n >= n) return have;
    return (this.scratch[this.depth] = new Scratch(n, this.config));
  }
}

function addBias(x: Float32Array, bias: Float32Array, n: number): void {
  const w = bias.length;
  for (let t = 0; t < n; t++) for (let i = 0; i < w; i++) x[t * w + i] += bias[i]!;
}

function addInPlace(x: Float32Array, y: Float32Array, len: number): void {
  for (let i = 0; i < len; i++) x[i] += y[i]!;
}
