import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { TENSOR_NAMES } from '../../src/formats/checkpoint.js';
import { summarizeCheckpoint } from '../../src/formats/checkpoint-summary.js';
import { loadCheckpoint } from '../../src/formats/load-checkpoint.js';
import type { DType } from '../../src/formats/tensor.js';
import { encodeTensor } from '../../src/formats/writers/encode-tensor.js';
import { writeGgufModel } from '../../src/formats/writers/gguf-writer.js';
import { logicalModelFromCheckpoint } from '../../src/formats/writers/logical-from-checkpoint.js';
import { Model } from '../../src/model/model.js';
import { mulberry32 } from '../helpers/mulberry32.js';
import { naiveDecode } from '../helpers/naive-quants.js';
import { randomModel, tinyConfig } from '../helpers/random-model.js';
import { maxRelError, referenceLogits } from '../helpers/reference-forward.js';
import { oneAndTwoThreads } from '../helpers/wasm-kernels.js';

const dir = mkdtempSync(join(tmpdir(), 'kvtrim-kquant-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const wasm = oneAndTwoThreads();

/** Gaussian-ish values (sum of 4 uniforms) with a few outliers, as trained weights have. */
function weights(n: number, seed: number): Float32Array {
  const r = mulberry32(seed);
  return Float32Array.from({ length: n }, (_, i) => ((r() + r() + r() + r() - 2) / 2) * (i % 97 === 0 ? 6 : 1));
}

/**
 * Per sub-block (`group` elements sharing one step) the levels a code can take are base + step·k,
 * k = 0…top; each decoded value must be the level nearest to x (the final rounding of ggml's
 * reference quantisers), up to float32 rounding and `slack` steps.
 */
function assertNearestLevels(dtype: DType, x: Float32Array, group: number, levels: (dec: Float64Array, g: number) => number[], slack = 0): void {
  const blockElems = dtype === 'q5_0' ? 32 : 256;
  const dec = naiveDecode(dtype, encodeTensor(dtype, x), x.length / blockElems).value;
  for (let g = 0; g < x.length / group; g++) {
    const lv = levels(dec, g);
    for (let i = g * group; i < (g + 1) * group; i++) {
      const best = Math.min(...lv.map((l) => Math.abs(l - x[i]!)));
      const step = Math.abs(lv[1]! - lv[0]!);
      assert.ok(Math.abs(dec[i]! - x[i]!) <= best + slack * step + 1e-6 * Math.abs(x[i]!) + 1e-7, `${dtype} [${i}]: ${x[i]} → ${dec[i]}, nearest level is ${best} away`);
    }
  }
}

/** Relative RMS error of a round trip. */
function relRms(dtype: DType, x: Float32Array): number {
  const dec = naiveDecode(dtype, encodeTensor(dtype, x), x.length / (dtype.endsWith('_k') ? 256 : 32)).value;
  let e = 0;
  let s = 0;
  x.forEach((v, i) => {
    e += (v - dec[i]!) ** 2;
    s += v * v;
  });
  return Math.sqrt(e / s);
}

test('q6_K, q4_K and q5_0 writers round a value to the nearest level their stored scales allow', () => {
  const x = weights(4096, 3);
  const enc6 = encodeTensor('q6_k', x);
  // q6_K: levels d·sc·(k − 32), k = 0…63, per 16 elements (d·sc read back from the block).
  assertNearestLevels('q6_k', x, 16, (_dec, g) => {
    const b = Math.floor(g / 16);
    const dBits = enc6[b * 210 + 208]! | (enc6[b * 210 + 209]! << 8);
    const sc = (enc6[b * 210 + 192 + (g % 16)]! << 24) >> 24;
    const step = halfValue(dBits) * sc;
    return Array.from({ length: 64 }, (_, k) => step * (k - 32));
  });
  // q5_0: levels d·(k − 16), k = 0…31, per 32 elements. ggml rounds x/d against d before its
  // f16 rounding, so a code may sit up to 16 · 2^-11 steps past the midpoint of the stored levels.
  const enc5 = encodeTensor('q5_0', x);
  assertNearestLevels('q5_0', x, 32, (_dec, g) => Array.from({ length: 32 }, (_, k) => halfValue(enc5[g * 22]! | (enc5[g * 22 + 1]! << 8)) * (k - 16)), 16 * 2 ** -11);
  // q4_K: levels step·k − min, k = 0…15, per 32 elements; step and min from codes 0 and 1's decodes.
  const enc4 = encodeTensor('q4_k', x);
  assertNearestLevels('q4_k', x, 32, (_dec, g) => {
    const blk = new Uint8Array(144);
    blk.set(enc4.subarray(Math.floor(g / 8) * 144, Math.floor(g / 8) * 144 + 16));
    const sub = g % 8;
    // Codes 1 everywhere in this sub-block's nibbles: the decode of codes 0 and 1 give −min and step − min.
    const byteAt = 16 + Math.floor(sub / 2) * 32;
    const zero = naiveDecode('q4_k', blk, 1).value[sub * 32]!;
    blk.fill(sub % 2 ? 0x10 : 0x01, byteAt, byteAt + 32);
    const one = naiveDecode('q4_k', blk, 1).value[sub * 32]!;
    return Array.from({ length: 16 }, (_, k) => zero + (one - zero) * k);
  });
});

function halfValue(bits: number): number {
  return naiveDecode('q8_0', Uint8Array.from([bits & 255, bits >> 8, ...new Uint8Array(31), 1]), 1).value[31]!;
}

test('round trip: RMS error falls with the bits, q8_0 < q6_K < q5_0 < q4_K < q4_0 (q4_K\'s min and scale search beat q4_0 at 4.5 bits); zeros stay zeros', () => {
  const x = weights(8192, 5);
  const order = ['q8_0', 'q6_k', 'q5_0', 'q4_k', 'q4_0'] as const;
  const errs = order.map((t) => relRms(t, x));
  for (let i = 1; i < order.length; i++) assert.ok(errs[i - 1]! < errs[i]!, `${order[i - 1]} ${errs[i - 1]} vs ${order[i]} ${errs[i]}`);
  for (const dtype of ['q6_k', 'q5_0', 'q4_k'] as const) {
    const zeros = naiveDecode(dtype, encodeTensor(dtype, new Float32Array(256)), dtype === 'q5_0' ? 8 : 1).value;
    assert.ok(zeros.every((v) => v === 0), `${dtype} zeros`);
  }
});

test('q4_k_m writes llama.cpp\'s Q4_K_M mix: q6_K head and use_more_bits attn_v/ffn_down, q4_K elsewhere; q5_0/q8_0 where rows are not whole super-blocks', () => {
  const cfg = tinyConfig({ dim: 256, hiddenDim: 288, nHeads: 4, nKvHeads: 2, headDim: 64, nLayers: 8, vocabSize: 40, tiedEmbeddings: false, maxSeqLen: 32 });
  const path = join(dir, 'mix.gguf');
  writeGgufModel(path, randomModel(cfg, 4, 0.05), { dtype: 'q4_k_m' });
  const ckpt = loadCheckpoint(path);
  const type = (name: string) => ckpt.tensors.get(name)!.dtype;
  assert.equal(type(TENSOR_NAMES.lmHead), 'q6_k');
  assert.equal(type(TENSOR_NAMES.embed), 'q4_k');
  // use_more_bits for 8 layers: l < 1, l ≥ 7, (l − 1) % 3 = 2 → layers 0, 3, 6, 7.
  for (let l = 0; l < 8; l++) {
    const n = TENSOR_NAMES.layer(l);
    const more = [0, 3, 6, 7].includes(l);
    assert.equal(type(n.wv), more ? 'q6_k' : 'q4_k', `layer ${l} attn_v`);
    assert.equal(type(n.wDown), more ? 'q8_0' : 'q5_0', `layer ${l} ffn_down (288 columns)`);
    assert.equal(type(n.wq), 'q4_k');
    assert.equal(type(n.wGate), 'q4_k');
    assert.equal(type(n.attnNorm), 'f32');
  }
  assert.deepEqual(summarizeCheckpoint(ckpt).dtypes, { f32: 17, q4_k: 1 + 8 * 5 + 4, q6_k: 1 + 4, q5_0: 4, q8_0: 4 });
});

test('a Q4_K_M file (q4_K, q6_K, q5_0, q8_0 and f32 tensors) loads; its logits match the float64 reference over its dequantised weights on the TypeScript and wasm backends', () => {
  const cfg = tinyConfig({ dim: 256, hiddenDim: 288, nHeads: 4, nKvHeads: 2, headDim: 64, nLayers: 3, vocabSize: 40, maxSeqLen: 32 });
  const path = join(dir, 'run.gguf');
  writeGgufModel(path, randomModel(cfg, 6, 0.08), { dtype: 'q4_k_m' });
  const ckpt = loadCheckpoint(path);
  assert.deepEqual(new Set([...ckpt.tensors.values()].map((t) => t.dtype)), new Set(['f32', 'q4_k', 'q6_k', 'q5_0', 'q8_0']));
  const tokens = [1, 5, 9, 30, 2, 17, 3, 36];
  const ref = referenceLogits(logicalModelFromCheckpoint(ckpt), tokens);
  const V = cfg.vocabSize;
  for (const backend of [undefined, wasm.one, wasm.two]) {
    const m = Model.fromCheckpoint(loadCheckpoint(path), { backend });
    const all = m.forward(tokens, m.newCache(), { allLogits: true });
    for (let t = 0; t < tokens.length; t++) assert.ok(maxRelError(all.subarray(t * V, (t + 1) * V), ref[t]!) < 1e-4, `${backend?.name ?? 'ts'} prefill row ${t}`);
    // Decode meets int8-quantised activations: within a few per cent of the exact logits.
    const cache = m.newCache();
    m.forward(tokens.slice(0, 4), cache);
    for (let t = 4; t < tokens.length; t++) {
      const err = maxRelError(m.forward([tokens[t]!], cache), ref[t]!);
      assert.ok(err < (backend ? 3e-2 : 1e-4), `${backend?.name ?? 'ts'} decode ${t}: ${err}`);
    }
  }
});
