import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TENSOR_NAMES } from '../../src/formats/checkpoint.js';
import { Model } from '../../src/model/model.js';
import { pruneModel } from '../../src/prune/prune-model.js';
import type { SparsityPattern } from '../../src/prune/sparsity-pattern.js';
import { dampedNaive, naiveHessian, naiveInverseUpperFactor, naiveSparseGpt } from '../helpers/naive-sparsegpt.js';
import { randomModel, tinyConfig, toCheckpoint } from '../helpers/random-model.js';

const config = tinyConfig({ nLayers: 3 });
const calibration = Array.from({ length: 4 }, (_, s) => Array.from({ length: 20 }, (_, t) => (s * 7 + t * 13 + ((t * t) % 5)) % config.vocabSize));
const keys = ['wq', 'wk', 'wv', 'wo', 'wGate', 'wUp', 'wDown'] as const;

function fresh() {
  const lm = randomModel(config, 9);
  return { lm, model: Model.fromCheckpoint(toCheckpoint(lm)) };
}

/** Inputs of one linear group of one layer, as the (pruned) model now computes them. */
function captureInputs(model: Model, layer: number, group: 'qkv' | 'down'): { x: Float32Array; n: number } {
  const cols = group === 'qkv' ? config.dim : config.hiddenDim;
  const rows: number[] = [];
  for (const seq of calibration)
    model.forward(seq, model.newCache(), { hooks: { onLinearInput: (l, name, x, n) => void (l === layer && name === group && rows.push(...x.subarray(0, n * cols))) } });
  return { x: Float32Array.from(rows), n: calibration.length * 20 };
}

function weightOf(model: Model, layer: number, key: (typeof keys)[number]): Float64Array {
  const m = model.weights.layers[layer]![key];
  return Float64Array.from(new Float32Array(m.data.buffer, m.data.byteOffset, m.rows * m.cols));
}

for (const pattern of [{ kind: 'unstructured', sparsity: 0.5 }, { kind: 'nm', n: 2, m: 4 }] as SparsityPattern[])
  for (const method of ['sparsegpt', 'magnitude'] as const)
    test(`pruneModel ${method} ${pattern.kind}: every block matrix has exactly half zeros, installed in the model`, () => {
      const { model } = fresh();
      const seen: string[] = [];
      const res = pruneModel(model, calibration, { method, pattern, blockSize: 16, onMatrix: (r) => seen.push(r.name) });
      assert.equal(res.matrices.length, config.nLayers * keys.length);
      assert.deepEqual(seen, res.matrices.map((r) => r.name));
      for (let l = 0; l < config.nLayers; l++)
        for (const key of keys) {
          const name = TENSOR_NAMES.layer(l)[key];
          const w = res.weights.get(name)!;
          const rep = res.matrices.find((r) => r.name === name)!;
          assert.equal(rep.zeros, w.length / 2, name);
          assert.equal(rep.sparsity, 0.5);
          assert.deepEqual(weightOf(model, l, key), Float64Array.from(w), `${name} installed`);
          if (pattern.kind === 'nm') for (let g = 0; g < w.length; g += 4) assert.equal(w.subarray(g, g + 4).filter((v) => v === 0).length, 2);
          assert.ok(rep.relError! > 0 && rep.relError! < 2, `${name} relError ${rep.relError}`);
        }
      assert.ok(model.forward(calibration[0]!, model.newCache()).every(Number.isFinite));
    });

test('pruneModel is sequential: layer 1 is pruned on inputs from the already pruned layer 0 (naive oracle)', () => {
  const { lm, model } = fresh();
  const pattern: SparsityPattern = { kind: 'unstructured', sparsity: 0.5 };
  pruneModel(model, calibration, { method: 'sparsegpt', pattern, blockSize: 16 });
  const { x, n } = captureInputs(model, 1, 'qkv');
  const d = config.dim;
  const u = naiveInverseUpperFactor(dampedNaive(naiveHessian(x, n, d), d, 0.01), d);
  const w0 = Float64Array.from(lm.tensors.get(TENSOR_NAMES.layer(1).wq)!.data);
  const ref = naiveSparseGpt(w0, config.nHeads * config.headDim, d, u, pattern, 16);
  const got = weightOf(model, 1, 'wq');
  for (let i = 0; i < got.length; i++) assert.ok(Math.abs(got[i]! - Math.fround(ref.w[i]!)) < 1e-5, `wq[${i}]: ${got[i]} vs ${ref.w[i]}`);
});

test('trueSequential: down_proj is pruned on inputs from the pruned q/k/v, o and gate/up of its own layer', () => {
  const { lm, model } = fresh();
  const pattern: SparsityPattern = { kind: 'nm', n: 2, m: 4 };
  pruneModel(model, calibration, { method: 'sparsegpt', pattern, blockSize: 8, trueSequential: true });
  const { x, n } = captureInputs(model, 2, 'down');
  const d = config.hiddenDim;
  const u = naiveInverseUpperFactor(dampedNaive(naiveHessian(x, n, d), d, 0.01), d);
  const w0 = Float64Array.from(lm.tensors.get(TENSOR_NAMES.layer(2).wDown)!.data);
  const ref = naiveSparseGpt(w0, config.dim, d, u, pattern, 8);
  const got = weightOf(model, 2, 'wDown');
  for (let i = 0; i < got.length; i++) assert.ok(Math.abs(got[i]! - Math.fround(ref.w[i]!)) < 1e-5, `wDown[${i}]: ${got[i]} vs ${ref.w[i]}`);
});

test('pruneModel: magnitude needs no calibration; bad input gets clear errors', () => {
  const { lm, model } = fresh();
  const res = pruneModel(model, [], { method: 'magnitude', pattern: { kind: 'unstructured', sparsity: 0.25 } });
  assert.equal(res.matrices[0]!.relError, undefined);
  const w0 = lm.tensors.get(TENSOR_NAMES.layer(0).wq)!.data;
  const kept = res.weights.get(TENSOR_NAMES.layer(0).wq)!;
  const threshold = [...w0].map(Math.abs).sort((a, b) => a - b)[w0.length / 4 - 1]!;
  for (let i = 0; i < w0.length; i++) assert.equal(kept[i], Math.abs(w0[i]!) <= threshold ? 0 : w0[i]);
  const unmeasured = pruneModel(fresh().model, calibration, { method: 'sparsegpt', pattern: { kind: 'unstructured', sparsity: 0.5 }, measureError: false });
  assert.ok(unmeasured.matrices.every((m) => m.relError === undefined && m.zeros === (m.rows * m.cols) / 2));
  assert.throws(() => pruneModel(fresh().model, [], { method: 'sparsegpt', pattern: { kind: 'unstructured', sparsity: 0.5 } }), /needs calibration/);
  assert.throws(() => pruneModel(fresh().model, [new Array(65).fill(1)], { method: 'sparsegpt', pattern: { kind: 'unstructured', sparsity: 0.5 } }), /1…64 tokens/);
  assert.throws(() => pruneModel(fresh().model, calibration, { method: 'sparsegpt', pattern: { kind: 'nm', n: 3, m: 16 } }), /multiple of 16/);
});
