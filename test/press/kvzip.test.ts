import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KVCache } from '../../src/cache/kv-cache.js';
import { Session } from '../../src/generate/session.js';
import type { CompressionOptions } from '../../src/press/compression.js';
import { Model } from '../../src/model/model.js';
import type { ForwardHooks } from '../../src/model/hooks.js';
import { keepCount } from '../../src/press/budget.js';
import { KVzipPress, kvzipDefaults, type KVzipOptions } from '../../src/press/kvzip.js';
import type { Press } from '../../src/press/press.js';
import type { PressModel } from '../../src/press/press-context.js';
import { createPress } from '../../src/press/registry.js';
import { referenceLogits } from '../helpers/reference-forward.js';
import { randomModel, tinyConfig, toCheckpoint } from '../helpers/random-model.js';
import { charTokenizer, randomIds, syntheticLayer, viewOf } from './fixtures.js';

const config = tinyConfig({ nLayers: 3, nHeads: 4, nKvHeads: 2, headDim: 6, maxSeqLen: 160 });
const logical = randomModel(config, 5, 0.5);
const model = Model.fromCheckpoint(toCheckpoint(logical));
const tokenizer = charTokenizer(config.vocabSize);
const short = { ...kvzipDefaults, prompt: '\nrepeat:', continuePrompt: '\nmore:', overlap: 3 } satisfies KVzipOptions;

/** The scores the press computes at every layer of one prefill of `ids`. */
function pressScores(opts: KVzipOptions, ids: number[]): Float32Array[][] {
  const kz = new KVzipPress({ model, tokenizer }, opts);
  const got: Float32Array[][] = [];
  const probe: Press = {
    name: 'probe',
    compress(view) {
      got[view.layer] = kz.scores(view);
      return null;
    },
  };
  new Session(model, tokenizer, { compression: { press: probe, ratio: 0.5 } }).prefill(ids);
  return got;
}

/**
 * Naive KVzip in float64, from the specification: for each chunk, a full causal forward of
 * context ++ (repeat prompt, quoted tail, newline, chunk); each reconstruction row's weights are
 * renormalised over the sinks before the chunk, the chunk and the reconstruction, and an entry's
 * score is the max over rows and the query heads of its group. scores[layer][kvHead][position].
 */
function naiveScores(opts: KVzipOptions, ids: number[]): number[][][] {
  const T = ids.length;
  const g = config.nHeads / config.nKvHeads;
  const enc = (t: string) => tokenizer.encode(t, { addBos: false });
  const first = ids[0] === tokenizer.bosId ? 1 : 0;
  const out = Array.from({ length: config.nLayers }, () => Array.from({ length: config.nKvHeads }, () => new Array<number>(T).fill(0)));
  for (let start = first; start < T; start += opts.chunk) {
    const end = Math.min(T, start + opts.chunk);
    const ask = start === first ? enc(opts.prompt) : [...enc(opts.continuePrompt), ...ids.slice(Math.max(first, start - opts.overlap), start)];
    const recon = [...ask, ...enc('\n'), ...ids.slice(start, end)];
    const inSubset = (j: number) => j >= T || (j >= start && j < end) || (j < opts.nSink && j < start);
    referenceLogits(logical, [...ids, ...recon], (layer, head, row, keys, weights) => {
      if (row < T) return;
      const z = keys.reduce((a, j, i) => a + (inSubset(j) ? weights[i]! : 0), 0);
      keys.forEach((j, i) => {
        if (j >= start && j < end) {
          const s = out[layer]![Math.floor(head / g)]!;
          s[j] = Math.max(s[j]!, weights[i]! / z);
        }
      });
    });
  }
  return out;
}

test('KVzip scores equal the naive float64 reconstruction (one chunk and several, GQA)', () => {
  const ids = [1, ...randomIds(40, config.vocabSize, 3)];
  for (const chunk of [2048, 13]) {
    const opts = { ...short, chunk };
    const got = pressScores(opts, ids);
    const want = naiveScores(opts, ids);
    for (let l = 0; l < config.nLayers; l++)
      for (let h = 0; h < config.nKvHeads; h++)
        for (let j = 1; j < ids.length; j++) {
          const [a, b] = [got[l]![h]![j]!, want[l]![h]![j]!];
          assert.ok(Math.abs(a - b) < 2e-5, `chunk ${chunk} layer ${l} head ${h} entry ${j}: ${a} vs ${b}`);
        }
  }
});

test('KVzip keeps exactly the layer budget, spread across heads (or n_keep per head without head budgets); sinks kept', () => {
  for (const T of [37, 24])
    for (const ratio of [0.3, 0.6, 0.8]) {
      const ids = [1, ...randomIds(T - 1, config.vocabSize, T)];
      for (const headBudgets of [true, false]) {
        const s = new Session(model, tokenizer, { compression: { press: createPress('kvzip', { ...short, headBudgets }, { model, tokenizer }), ratio } });
        s.prefill(ids);
        const n = keepCount(T, { ratio });
        for (const hs of s.cache.heads) {
          const lengths = hs.map((h) => h.length);
          if (headBudgets) assert.equal(lengths.reduce((a, b) => a + b, 0), config.nKvHeads * n, `T=${T} ratio=${ratio} ${lengths}`);
          else assert.deepEqual(lengths, hs.map(() => n));
          for (const h of hs) for (let p = 0; p < 4; p++) assert.ok(h.positions.subarray(0, h.length).includes(p), `sink ${p}`);
        }
        assert.equal(s.cache.seen, T, 'the reconstruction leaves no entry and no position behind');
      }
    }
});

test('KVzip at ratio 0 leaves the logits bit-identical, and the prefill is unchanged by the reconstruction inside its hooks', () => {
  const ids = [1, ...randomIds(30, config.vocabSize, 9)];
  const run = (compression: CompressionOptions) => {
    const s = new Session(model, tokenizer, { compression });
    return [s.prefill(ids), s.step(5), s.step(7)];
  };
  const kz = (chunk: number) => createPress('kvzip', { ...short, chunk }, { model, tokenizer });
  assert.deepEqual(run({ press: kz(2048), ratio: 0 }), run({}));
  // The prefill's own logits come from the full prompt whatever the press: the nested reconstruction
  // (chunks shorter than the prompt, so it would reuse the outer pass's buffers) must not disturb them.
  assert.deepEqual(run({ press: kz(8), ratio: 0.5 })[0], run({})[0]);
});

test('KVzip: the entry the reconstruction queries attend to survives 80 % compression, in a GQA group where only one query head looks at it', () => {
  const s = syntheticLayer({ T: 30, seed: 2, scale: 0.3 });
  const d = s.config.headDim;
  const star = 13;
  const u = Array.from({ length: d }, (_, i) => (i % 2 ? 1 : -1));
  for (const head of s.heads) for (let i = 0; i < d; i++) head.keys[star * d + i] = 2 * u[i]!;
  // The prompt's own queries look away from the star entry, so a window-attention press would drop it.
  for (let i = 0; i < s.queries.length; i++) s.queries[i] = -3 * u[i % d]!;
  // A stand-in model whose reconstruction tokens have small keys and whose query head 0 of each group points at the star.
  const stub: PressModel = {
    config: s.config,
    embed: (ids) => new Float32Array(ids.length * s.config.dim),
    newCache: () => new KVCache({ nLayers: s.config.nLayers, nKvHeads: 2, headDim: d }),
    forward: () => new Float32Array(0),
    layerForward(l: number, _h: Float32Array, n: number, cache: KVCache, startPos: number, hooks?: ForwardHooks) {
      const heads = cache.layer(l);
      const small = new Float32Array(d).fill(0.01);
      for (let t = 0; t < n; t++) for (const h of heads) h.append(small, 0, small, 0, startPos + t);
      const q = new Float32Array(n * s.config.nHeads * d);
      for (let t = 0; t < n; t++) for (const qh of [0, 2]) for (let i = 0; i < d; i++) q[(t * s.config.nHeads + qh) * d + i] = 3 * u[i]!;
      hooks?.afterAttention?.({ layer: l, queries: q, n, startPos, heads });
    },
  };
  const view = viewOf(s.config, s.heads, s.queries, s.T);
  const keep = new KVzipPress({ model: stub, tokenizer: { encode: () => [5, 6], isSpecial: () => false } }, { ...kvzipDefaults, headBudgets: false }).compress(view, { ratio: 0.8 })!;
  const snap = createPress('snapkv', { window: 4 }).compress(view, { ratio: 0.8 })!;
  for (let h = 0; h < 2; h++) {
    assert.equal(keep[h]!.length, keepCount(30, { ratio: 0.8 }));
    assert.ok(keep[h]!.includes(star), `KVzip head ${h}: ${keep[h]}`);
    assert.ok(!snap[h]!.includes(star), 'the contrast: SnapKV, scoring by the prompt queries, drops it');
  }
});

test('KVzip without a model says how to give it one; chunks shrink to fit the model context, and a context with no room left fails clearly', () => {
  const s = syntheticLayer({ T: 20 });
  assert.throws(() => createPress('kvzip').compress(s.view, { ratio: 0.5 }), /createPress\('kvzip', params, \{ model, tokenizer \}\)/);
  const kz = () => createPress('kvzip', short, { model, tokenizer });
  const s100 = new Session(model, tokenizer, { compression: { press: kz(), ratio: 0.5 } });
  s100.prefill([1, ...randomIds(99, config.vocabSize, 4)]);
  for (const hs of s100.cache.heads) assert.equal(hs.reduce((a, h) => a + h.length, 0), config.nKvHeads * keepCount(100, { ratio: 0.5 }));
  assert.throws(
    () => new Session(model, tokenizer, { compression: { press: kz(), ratio: 0.5 } }).prefill([1, ...randomIds(150, config.vocabSize, 4)]),
    /leaves no room for its reconstruction in the model's context of 160/,
  );
});
