import { KVCache } from '../cache/kv-cache.js';
import type { Checkpoint } from '../formats/checkpoint.js';
import type { Backend } from '../kernels/backend.js';
import { dequantize } from '../formats/dequant.js';
import { rmsnorm } from '../kernels/rmsnorm.js';
import { ropeAngles, ropeInvFreq, rotate } from '../kernels/rope.js';
import { TsBackend } from '../kernels/ts-backend.js';
import type { ModelConfig } from '../formats/model-config.js';
import type { ForwardHooks } from './hooks.js';
import { buildWeights, type ModelWeights } from './weights.js';

export interface ForwardOptions {
  /** Return logits for every processed token (n × vocab) instead of only the last. */
  allLogits?: boolean;
  hooks?: ForwardHooks;
}

/** Activations for a batch of n tokens, reused while n does not grow. */
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
}

/** A Llama-family decoder: one forward pass whose variants (GQA, bias, tied, rope scaling, sliding window) come from the config. */
export class Model {
  /** One scratch per nesting depth: a hook may run layerForward itself (KVzip's reconstruction) while the outer call still needs its buffers. */
  private readonly scratch: (Scratch | undefined)[] = [];
  private depth = 0;
  private readonly invFreq: Float64Array;
  /** RoPE angles of the positions the last layers ran at: every layer of a forward pass shares them. */
  private angles = { startPos: -1, n: 0, cos: new Float64Array(0), sin: new Float64Array(0) };

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
    const n = tokens.length;
    if (n === 0) throw new RangeError('forward: no tokens');
    if (cache.seen + n > this.config.maxSeqLen)
      throw new RangeError(`context overflow: ${cache.seen} + ${n} tokens exceed the model's context of ${this.config.maxSeqLen}`);
    const hidden = this.embed(tokens);
    const startPos = cache.seen;
    for (let l = 0; l < this.config.nLayers; l++) this.layerForward(l, hidden, n, cache, startPos, opts.hooks);
    cache.seen += n;
    if (opts.allLogits) return this.head(hidden, n);
    return this.head(hidden.subarray((n - 1) * this.config.dim), 1);
  }

  /** Token embeddings, n × dim. */
  embed(tokens: ArrayLike<number>): Float32Array {
    const { dim, vocabSize } = this.config;
    const out = new Float32Array(tokens.length * dim);
    for (let t = 0; t < tokens.length; t++) {
      const id = tokens[t]!;
      if (!Number.isInteger(id) || id < 0 || id >= vocabSize) throw new RangeError(`token id ${id} outside vocabulary of ${vocabSize}`);
      dequantize(this.weights.embed.dtype, this.weights.embed.data, id * dim, dim, out, t * dim);
    }
    return out;
  }

  /** One transformer block over n tokens at positions startPos…, updating `hidden` in place. */
  layerForward(l: number, hidden: Float32Array, n: number, cache: KVCache, startPos: number, hooks?: ForwardHooks): void {
    const s = this.scratchFor(n);
    this.depth++;
    try {
      this.blockForward(l, s, hidden, n, cache, startPos, hooks);
    } finally {
      this.depth--;
    }
  }

  private blockForward(l: number, s: Scratch, hidden: Float32Array, n: number, cache: KVCache, startPos: number, hooks: ForwardHooks | undefined): void {
    const c = this.config;
    const w = this.weights.layers[l]!;
    const { dim, headDim, nHeads, nKvHeads, hiddenDim } = c;
    const group = nHeads / nKvHeads;
    const be = this.backend;

    rmsnorm(s.xn, hidden, w.attnNorm, n, dim, c.normEps);
    hooks?.onLinearInput?.(l, 'qkv', s.xn, n);
    be.matmulShared([s.q, s.k, s.v], s.xn, n, [w.wq, w.wk, w.wv]);
    if (w.bq) addBias(s.q, w.bq, n);
    if (w.bk) addBias(s.k, w.bk, n);
    if (w.bv) addBias(s.v, w.bv, n);

    const heads = cache.layer(l);
    const { cos, sin } = this.anglesFor(startPos, n);
    const half = headDim / 2;
    for (let t = 0; t < n; t++) {
      const pos = startPos + t;
      rotate(s.q, t * nHeads * headDim, nHeads, headDim, cos, sin, t * half, c.ropeLayout);
      rotate(s.k, t * nKvHeads * headDim, nKvHeads, headDim, cos, sin, t * half, c.ropeLayout);
      for (let h = 0; h < nKvHeads; h++) {
        const o = (t * nKvHeads + h) * headDim;
        heads[h]!.append(s.k, o, s.v, o, pos);
      }
    }
    be.attend(s.att, s.q, n, heads, startPos, group, c.slidingWindow);
    hooks?.afterAttention?.({ layer: l, queries: s.q.subarray(0, n * nHeads * headDim), n, startPos, heads });

    hooks?.onLinearInput?.(l, 'o', s.att, n);
    be.matmul(s.proj, s.att, n, w.wo);
    addInPlace(hidden, s.proj, n * dim);

    rmsnorm(s.xn, hidden, w.ffnNorm, n, dim, c.normEps);
    hooks?.onLinearInput?.(l, 'gateUp', s.xn, n);
    be.matmulShared([s.gate, s.up], s.xn, n, [w.wGate, w.wUp]);
    be.swiglu(s.gate, s.up, n * hiddenDim);
    hooks?.onLinearInput?.(l, 'down', s.gate, n);
    be.matmul(s.proj, s.gate, n, w.wDown);
    addInPlace(hidden, s.proj, n * dim);
  }

  /** Final norm and classifier over n rows of hidden state: n × vocab logits. */
  head(hidden: Float32Array, n: number): Float32Array {
    const { dim, vocabSize, normEps } = this.config;
    const xn = new Float32Array(n * dim);
    rmsnorm(xn, hidden, this.weights.finalNorm, n, dim, normEps);
    const logits = new Float32Array(n * vocabSize);
    this.backend.matmul(logits, xn, n, this.weights.lmHead);
    return logits;
  }

  private anglesFor(startPos: number, n: number): { cos: Float64Array; sin: Float64Array } {
    const a = this.angles;
    if (a.startPos === startPos && a.n === n) return a;
    const half = this.invFreq.length;
    const cos = a.cos.length >= n * half ? a.cos : new Float64Array(n * half);
    const sin = a.sin.length >= n * half ? a.sin : new Float64Array(n * half);
    for (let t = 0; t < n; t++) ropeAngles(startPos + t, this.invFreq, cos, sin, t * half);
    this.angles = { startPos, n, cos, sin };
    return this.angles;
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
