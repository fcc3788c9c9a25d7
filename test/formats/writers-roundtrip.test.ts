import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { TENSOR_NAMES } from '../../src/formats/checkpoint.js';
import { FormatError } from '../../src/formats/format-error.js';
import { loadCheckpoint } from '../../src/formats/load-checkpoint.js';
import type { DType } from '../../src/formats/tensor.js';
import { writeGgufModel } from '../../src/formats/writers/gguf-writer.js';
import { writeHfModel } from '../../src/formats/writers/hf-writer.js';
import { writeLlama2cModel } from '../../src/formats/writers/llama2c-writer.js';
import type { LogicalModel } from '../../src/formats/writers/logical-model.js';
import { toFloat32 } from '../../src/formats/dequant.js';
import type { ModelConfig } from '../../src/formats/model-config.js';
import { randomModel, tinyConfig } from '../helpers/random-model.js';

const dir = mkdtempSync(join(tmpdir(), 'kvtrim-writers-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const tmp = (name: string) => join(dir, `${n++}-${name}`);

// ---- naive references, written independently of src/ ----

/** Rounds to the nearest value with `mantissaBits` explicit bits (ties to even), float16 or bfloat16 range. */
function roundFloat(x: number, mantissaBits: number, minExp: number): number {
  if (x === 0 || !Number.isFinite(x)) return x;
  const e = Math.max(Math.floor(Math.log2(Math.abs(x))), minExp);
  const ulp = 2 ** (e - mantissaBits);
  const q = x / ulp;
  let r = Math.round(q);
  if (Math.abs(q - Math.trunc(q)) === 0.5) r = 2 * Math.round(q / 2);
  return r * ulp;
}
const f16 = (x: number) => roundFloat(x, 10, -14);
const bf16 = (x: number) => roundFloat(x, 7, -126);
const f32 = Math.fround;

/** Per element: what a reader should return after the writer stored `x` as `dtype` (ggml reference rounding). */
function naiveStored(dtype: DType, x: Float32Array): Float64Array {
  const out = new Float64Array(x.length);
  if (dtype === 'f32' || dtype === 'f16' || dtype === 'bf16') {
    for (let i = 0; i < x.length; i++) out[i] = dtype === 'f32' ? x[i]! : dtype === 'f16' ? f16(x[i]!) : bf16(x[i]!);
    return out;
  }
  for (let b = 0; b < x.length; b += 32) {
    const block = Array.from(x.subarray(b, b + 32));
    if (dtype === 'q8_0') {
      const amax = Math.max(...block.map(Math.abs));
      const d = f32(amax / 127);
      const id = d === 0 ? 0 : f32(1 / d);
      block.forEach((v, i) => {
        const t = f32(v * id);
        const q = t < 0 ? -Math.floor(-t + 0.5) : Math.floor(t + 0.5);
        out[b + i] = f16(d) * q;
      });
    } else {
      let max = 0;
      for (const v of block) if (Math.abs(v) > Math.abs(max)) max = v;
      const d = f32(max / -8);
      const id = d === 0 ? 0 : f32(1 / d);
      block.forEach((v, i) => {
        const q = Math.min(15, Math.trunc(f32(f32(v * id) + 8.5)));
        out[b + i] = f16(d) * (q - 8);
      });
    }
  }
  return out;
}

/** Naive rope permutation: interleaved row h·d + r comes from half-split row h·d + (r mod 2)·d/2 + ⌊r/2⌋. */
function naiveInterleave(w: Float32Array, heads: number, hd: number, cols: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let h = 0; h < heads; h++)
    for (let r = 0; r < hd; r++) {
      const src = h * hd + (r % 2) * (hd / 2) + Math.floor(r / 2);
      for (let c = 0; c < cols; c++) out[(h * hd + r) * cols + c] = w[src * cols + c]!;
    }
  return out;
}

/** Expected tensor in a file whose q/k rows are interleaved when `interleaved`. */
function expectedTensor(m: LogicalModel, name: string, interleaved: boolean): Float32Array {
  const t = m.tensors.get(name)!;
  const c = m.config;
  if (!interleaved) return t.data;
  for (let l = 0; l < c.nLayers; l++) {
    const n = TENSOR_NAMES.layer(l);
    if (name === n.wq || name === n.bq) return naiveInterleave(t.data, c.nHeads, c.headDim, t.shape[1] ?? 1);
    if (name === n.wk || name === n.bk) return naiveInterleave(t.data, c.nKvHeads, c.headDim, t.shape[1] ?? 1);
  }
  return t.data;
}

function assertReadBack(path: string, m: LogicalModel, opts: { interleaved: boolean; dtypeOf: (name: string, shape: number[]) => DType }): void {
  const ck = loadCheckpoint(path);
  const c = m.config;
  assert.equal(ck.config.ropeLayout, opts.interleaved ? 'interleaved' : 'half');
  for (const k of ['dim', 'hiddenDim', 'nLayers', 'nHeads', 'nKvHeads', 'headDim', 'vocabSize', 'maxSeqLen', 'qkvBias', 'tiedEmbeddings', 'bosId'] as const)
    assert.deepEqual(ck.config[k], c[k], k);
  assert.deepEqual(ck.config.eosIds, c.eosIds);
  assert.ok(Math.abs(ck.config.normEps - c.normEps) <= 1e-6 * c.normEps);
  assert.equal(ck.tensors.size, m.tensors.size);
  for (const [name, t] of m.tensors) {
    const got = ck.tensors.get(name);
    assert.ok(got, `${name} read back`);
    assert.deepEqual(got.shape, t.shape, name);
    const dtype = opts.dtypeOf(name, t.shape);
    assert.equal(got.dtype, dtype, name);
    const want = naiveStored(dtype, expectedTensor(m, name, opts.interleaved));
    const back = toFloat32(got.dtype, got.data, t.data.length);
    for (let i = 0; i < want.length; i++) if (back[i] !== f32(want[i]!)) assert.fail(`${name}[${i}]: read ${back[i]}, expected ${want[i]} (${dtype})`);
  }
}

const gqaUntied = tinyConfig({ tiedEmbeddings: false });
const qwen2: ModelConfig = tinyConfig({ arch: 'qwen2', qkvBias: true, ropeTheta: 1e6, eosIds: [2, 3], normEps: 1e-6 });
/** Rows of 64 and 96 values: whole Q8_0/Q4_0 blocks. */
const blocky = tinyConfig({ dim: 64, hiddenDim: 96, nHeads: 4, nKvHeads: 2, headDim: 16, vocabSize: 40, tiedEmbeddings: false });

test('HF directory round trip: f32 exact, f16/bf16 rounded like a naive rounder, GQA and untied lm_head', () => {
  const m = randomModel(gqaUntied, 3);
  for (const dtype of ['f32', 'f16', 'bf16'] as const) {
    const path = tmp(`hf-${dtype}`);
    writeHfModel(path, m, { dtype });
    assertReadBack(path, m, { interleaved: false, dtypeOf: () => dtype });
  }
});

test('HF directory round trip: qwen2 q/k/v biases, sharded into 3 files with an index', () => {
  const m = randomModel(qwen2, 4);
  const path = tmp('hf-sharded');
  writeHfModel(path, m, { shards: 3 });
  const files = readdirSync(path).sort();
  assert.deepEqual(files, ['config.json', 'model-00001-of-00003.safetensors', 'model-00002-of-00003.safetensors', 'model-00003-of-00003.safetensors', 'model.safetensors.index.json']);
  assertReadBack(path, m, { interleaved: false, dtypeOf: () => 'f32' });
  const ck = loadCheckpoint(path);
  assert.equal(ck.config.arch, 'qwen2');
  assert.equal(ck.config.ropeTheta, 1e6);
});

test('HF directory round trip keeps llama3 rope scaling and a sliding window', () => {
  const c = tinyConfig({ arch: 'mistral', slidingWindow: 7, ropeScaling: { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 16 } });
  const path = tmp('hf-scaling');
  writeHfModel(path, randomModel(c, 5));
  const back = loadCheckpoint(path).config;
  assert.deepEqual(back.ropeScaling, c.ropeScaling);
  assert.equal(back.slidingWindow, 7);
  assert.equal(back.arch, 'mistral');
});

test('GGUF round trip, arch llama: q/k rows permuted to interleaved pairs, f32/f16/bf16 exact to the naive rounding', () => {
  const m = randomModel(gqaUntied, 6);
  for (const dtype of ['f32', 'f16', 'bf16'] as const) {
    const path = tmp(`llama-${dtype}.gguf`);
    writeGgufModel(path, m, { dtype });
    assertReadBack(path, m, { interleaved: true, dtypeOf: (_, shape) => (shape.length === 1 ? 'f32' : dtype) });
  }
});

test('GGUF round trip, Q8_0 and Q4_0 equal to a naive ggml-reference quantiser', () => {
  for (const [cfg, interleaved] of [[blocky, true], [{ ...blocky, arch: 'qwen2', qkvBias: true }, false]] as const) {
    const m = randomModel(cfg, 7);
    for (const dtype of ['q8_0', 'q4_0'] as const) {
      const path = tmp(`${cfg.arch}-${dtype}.gguf`);
      writeGgufModel(path, m, { dtype });
      assertReadBack(path, m, { interleaved, dtypeOf: (_, shape) => (shape.length === 1 ? 'f32' : dtype) });
    }
  }
});

test('GGUF quantised writer falls back to f32 for rows that are not whole blocks', () => {
  const m = randomModel(gqaUntied, 8);
  const path = tmp('fallback.gguf');
  writeGgufModel(path, m, { dtype: 'q8_0' });
  assertReadBack(path, m, { interleaved: true, dtypeOf: () => 'f32' });
});

test('GGUF round trip, arch qwen2: biases, half layout kept, vocab metadata and eos/eot ids', () => {
  const m = randomModel(qwen2, 9);
  const tokens = Array.from({ length: qwen2.vocabSize }, (_, i) => `tok${i}✓`);
  const path = tmp('qwen2.gguf');
  writeGgufModel(path, m, { vocab: { model: 'gpt2', tokens, merges: ['t o', 'to k'], pre: 'qwen2', tokenTypes: tokens.map(() => 1) } });
  assertReadBack(path, m, { interleaved: false, dtypeOf: () => 'f32' });
  const ck = loadCheckpoint(path);
  assert.deepEqual(ck.metadata['tokenizer.ggml.tokens'], tokens);
  assert.deepEqual(ck.metadata['tokenizer.ggml.merges'], ['t o', 'to k']);
  assert.equal(ck.metadata['tokenizer.ggml.pre'], 'qwen2');
  assert.equal(ck.config.arch, 'qwen2');
  assert.throws(() => writeGgufModel(tmp('bad.gguf'), m, { vocab: { model: 'gpt2', tokens: ['a'] } }), FormatError);
});

test('llama2.c v0 round trip: tied and untied, q/k interleaved', () => {
  for (const tied of [true, false]) {
    const m = randomModel(tinyConfig({ tiedEmbeddings: tied, headDim: 6, dim: 24 }), 10);
    const path = tmp(`model-${tied}.bin`);
    writeLlama2cModel(path, m);
    assertReadBack(path, m, { interleaved: true, dtypeOf: () => 'f32' });
  }
});

test('llama2.c writer refuses configs it cannot express', () => {
  for (const over of [{ arch: 'qwen2', qkvBias: true }, { normEps: 1e-6 }, { ropeTheta: 5e5 }, { slidingWindow: 4 }, { headDim: 8 }] as Partial<ModelConfig>[]) {
    const path = tmp('refused.bin');
    assert.throws(() => writeLlama2cModel(path, randomModel(tinyConfig(over), 1)), (e: unknown) => e instanceof FormatError && e.message.includes('cannot express'));
    assert.equal(existsSync(path), false);
  }
});
