import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HeadCache } from '../../src/cache/head-cache.js';
import { TENSOR_NAMES } from '../../src/formats/checkpoint.js';
import { Session } from '../../src/generate/session.js';
import { Model } from '../../src/model/model.js';
import { keepCount } from '../../src/press/budget.js';
import { DuoAttentionPress } from '../../src/press/duo-attention.js';
import { parseDuoGates, profileDuoGates, type DuoGates } from '../../src/press/duo-gates.js';
import { createPress } from '../../src/press/registry.js';
import { referenceLogits } from '../helpers/reference-forward.js';
import { randomModel, tinyConfig, toCheckpoint } from '../helpers/random-model.js';
import { charTokenizer, randomIds, tinyModel } from './fixtures.js';

function naiveKL(p: ArrayLike<number>, q: ArrayLike<number>): number {
  const ls = (x: ArrayLike<number>) => {
    const m = Math.max(...Array.from(x));
    const z = Math.log(Array.from(x).reduce((a, v) => a + Math.exp(v - m), 0)) + m;
    return Array.from(x, (v) => v - z);
  };
  const [lp, lq] = [ls(p), ls(q)];
  return lp.reduce((a, v, i) => a + Math.exp(v) * (v - lq[i]!), 0);
}

test('the Duo profile of a one-head model equals the naive float64 KL between full and sliding-window attention', () => {
  // With no sinks, a head cut to its last R entries after every step attends to a window of R + 1.
  const config = tinyConfig({ nLayers: 1, nHeads: 2, nKvHeads: 1, headDim: 6, maxSeqLen: 64 });
  const logical = randomModel(config, 8, 0.6);
  const model = Model.fromCheckpoint(toCheckpoint(logical));
  const ids = randomIds(30, config.vocabSize, 4);
  const R = 5;
  const got = profileDuoGates(model, ids, { sinks: 0, recent: R }).gates[0]![0]!;
  const full = referenceLogits(logical, ids);
  const windowed = referenceLogits({ ...logical, config: { ...config, slidingWindow: R + 1 } }, ids);
  let want = 0;
  for (let t = R; t < ids.length - 1; t++) want += naiveKL(full[t]!, windowed[t]!);
  want /= ids.length - 1 - R;
  assert.ok(want > 1e-4, 'the window matters in this model');
  assert.ok(Math.abs(got - want) < 1e-4 * Math.max(1, want), `${got} vs ${want}`);
});

test('the Duo profile classifies a head that only attends locally as streaming and a head that attends everywhere as retrieval', () => {
  const config = tinyConfig({ nLayers: 1, nHeads: 2, nKvHeads: 2, headDim: 8, qkvBias: true, maxSeqLen: 64 });
  const logical = randomModel(config, 3, 0.5);
  const n = TENSOR_NAMES.layer(0);
  const set = (name: string, f: (i: number) => number) => logical.tensors.get(name)!.data.forEach((_, i, a) => (a[i] = f(i)));
  const d = 8;
  // Both heads' queries and keys ignore the input (zero weights). Head 0: a large constant bias, so
  // after RoPE q·k peaks sharply at distance 0 (local); head 1: no bias, uniform attention (global).
  set(n.wq, () => 0);
  set(n.wk, () => 0);
  set(n.bq, (i) => (i < d ? 6 : 0));
  set(n.bk, (i) => (i < d ? 6 : 0));
  const model = Model.fromCheckpoint(toCheckpoint(logical));
  const gates = profileDuoGates(model, randomIds(40, config.vocabSize, 2), { sinks: 2, recent: 4 }).gates[0]!;
  assert.ok(gates[0]! < gates[1]! / 10, `local head ${gates[0]} vs global head ${gates[1]}`);
  const press = new DuoAttentionPress({ model }, { sinks: 2, recent: 4, gates: '', calibration: 40 });
  const s = new Session(model, charTokenizer(config.vocabSize), { compression: { press, ratio: 0.3 } });
  s.prefill(randomIds(30, config.vocabSize, 5));
  assert.deepEqual([...press.streamingHeads()![0]!], [1, 0], 'the local head streams, the global one keeps everything');
});

test('DuoAttention: the fewest lowest-gate heads stream to fit the budget, the last keeping the surplus so it is met exactly; KV bytes are the per-head sum; streaming heads keep their windows while decoding', () => {
  const { model, tokenizer } = tinyModel({ nLayers: 3, nHeads: 4, nKvHeads: 2, maxSeqLen: 96 });
  const { nLayers, nKvHeads, headDim } = model.config;
  const gates: DuoGates = { method: 'kl-when-streaming', sinks: 2, recent: 6, tokens: 0, gates: [[0.5, 0.1], [0.9, 0.3], [0.2, 0.7]] };
  const order = [[0, 1], [2, 0], [1, 1], [0, 0], [2, 1], [1, 0]]; // ascending gate
  const T = 40;
  const ids = randomIds(T, model.config.vocabSize, 6);
  for (const ratio of [0.2, 0.5, 0.7, 0.9]) {
    const press = createPress('duo-attention', { sinks: 2, recent: 6, gates: 'g.json' }, { readText: () => JSON.stringify(gates) });
    const s = new Session(model, tokenizer, { compression: { press, ratio } });
    s.prefill(ids);
    const nKeep = keepCount(T, { ratio });
    const N = nLayers * nKvHeads;
    // Naive: stream heads in gate order until the cache fits N · n_keep; if all stream and it still does not fit, cut the window to n_keep.
    let m = 0;
    while (m < N && (N - m) * T + m * 8 > N * nKeep) m++;
    const fits = (N - m) * T + m * 8 <= N * nKeep;
    const window = fits ? 8 : nKeep;
    const want = Array.from({ length: nLayers }, () => new Array<number>(nKvHeads).fill(T));
    for (const [l, h] of order.slice(0, m)) want[l]![h] = window;
    // The last head to stream keeps what the others saved beyond the budget: the total is the budget exactly.
    if (fits && m > 0) want[order[m - 1]![0]]![order[m - 1]![1]] = 8 + N * nKeep - ((N - m) * T + m * 8);
    const lengths = s.cache.heads.map((hs) => hs.map((h) => h.length));
    assert.deepEqual(lengths, want, `ratio ${ratio}`);
    assert.ok(fits ? s.cache.entries() === N * nKeep : s.cache.entries() <= N * nKeep, 'the budget, exactly when whole heads can meet it');
    assert.equal(s.cache.bytes(), lengths.flat().reduce((a, b) => a + b, 0) * HeadCache.bytesPerEntry(headDim));
    for (let t = 0; t < 5; t++) s.step(4 + t);
    s.cache.heads.forEach((hs, l) => hs.forEach((h, k) => assert.equal(h.length, want[l]![k] === T ? T + 5 : want[l]![k], `decoding, layer ${l} head ${k}`)));
    // A streaming head's entries: its sinks and its newest.
    const [l0, h0] = order[0]!;
    const pos = [...s.cache.heads[l0]![h0]!.positions.subarray(0, window)];
    if (m > 0) assert.deepEqual(pos, [0, 1, ...Array.from({ length: window - 2 }, (_, i) => T + 5 - (window - 2) + i)]);
  }
});

test('Duo gates files are checked against the model', () => {
  assert.throws(() => parseDuoGates(JSON.stringify({ method: 'kl-when-streaming', gates: [[1, 2]] }), { nLayers: 2, nKvHeads: 2 }), /gates\[2\]\[2\]/);
  const { model, tokenizer } = tinyModel();
  assert.throws(() => new Session(model, tokenizer, { compression: { press: createPress('duo-attention'), ratio: 0.5 } }).prefill(randomIds(30, model.config.vocabSize)), /profiles the model: create it with createPress/);
});
