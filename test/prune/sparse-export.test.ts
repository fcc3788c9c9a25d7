import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadCheckpoint } from '../../src/formats/load-checkpoint.js';
import { decodeSparse, matrixToFloat32 } from '../../src/formats/sparse-matrix.js';
import { tensorBytes } from '../../src/formats/tensor.js';
import { writeHfModel } from '../../src/formats/writers/hf-writer.js';
import { createWasmBackend } from '../../src/kernels/wasm-backend.js';
import { Model } from '../../src/model/model.js';
import { randomModel, tinyConfig } from '../helpers/random-model.js';
import { tinyTokenizerJson } from '../helpers/tiny-tokenizer.js';
import { ensureKernelsBuilt, sameBits } from '../helpers/wasm-kernels.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'kvtrim-sparse-export-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

// Every linear layer has 32 or 64 inputs: whole 2:4 / 4:8 groups and whole q8_0 blocks.
const SOURCE = join(tmp, 'random');
writeHfModel(SOURCE, randomModel(tinyConfig({ dim: 32, hiddenDim: 64, headDim: 8 }), 5));
writeFileSync(join(SOURCE, 'tokenizer.json'), JSON.stringify(tinyTokenizerJson()));
const prompt = [1, 5, 9, 2, 7, 3, 11, 4, 30, 6];

function kvtrim(...args: string[]) {
  const script = "import { main } from './src/cli/main.ts'; main(process.argv).catch((e) => { console.error('kvtrim: ' + e.message); process.exit(1); });";
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, 'kvtrim', ...args], { cwd: ROOT, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const pruneArgs = (out: string, pattern: string[]) => ['prune', '--model', SOURCE, '--threads', '1', ...pattern, '--calib-samples', '2', '--seq-len', '24', '--out', out];

async function logitsOnBoth(dir: string): Promise<Float32Array[]> {
  ensureKernelsBuilt();
  const ck = loadCheckpoint(dir);
  const wasm = await createWasmBackend({ threads: 1, nativeGemm: false });
  try {
    return [Model.fromCheckpoint(ck), Model.fromCheckpoint(ck, { backend: wasm })].map((m) => m.forward(prompt, m.newCache(), { allLogits: true }));
  } finally {
    wasm.dispose();
  }
}

for (const [label, pattern, bound] of [
  ['2:4', ['--pattern', '2:4'], 0.6],
  ['4:8', ['--pattern', '4:8'], 0.6],
  ['50% unstructured', ['--sparsity', '0.5'], 0.7],
] as const)
  test(`kvtrim prune ${label} stores the pruned matrices sparse: same weights and logits bit for bit as --dense, in fewer bytes`, async () => {
    const tag = label.split(' ')[0]!.replace(/[:%]/g, '_');
    const sparseDir = join(tmp, `${tag}-sparse`);
    const denseDir = join(tmp, `${tag}-dense`);
    for (const [dir, extra] of [[sparseDir, []], [denseDir, ['--dense']]] as const) {
      const r = kvtrim(...pruneArgs(dir, [...pattern, ...extra]));
      assert.equal(r.code, 0, r.err);
    }
    const sparse = loadCheckpoint(sparseDir);
    const dense = loadCheckpoint(denseDir);
    const prunedNames = [...sparse.tensors.keys()].filter((n) => /_proj\.weight$/.test(n));
    assert.equal(prunedNames.length, 14);
    for (const name of prunedNames) {
      const s = sparse.tensors.get(name)!;
      const d = dense.tensors.get(name)!;
      assert.equal(s.sparse?.kind, label === '50% unstructured' ? 'unstructured' : 'nm', `${name} is stored sparse`);
      assert.equal(d.sparse, undefined, `${name} is dense with --dense`);
      const [rows, cols] = s.shape as [number, number];
      assert.ok(sameBits(matrixToFloat32({ rows, cols, dtype: s.dtype, data: s.data, sparse: s.sparse }), matrixToFloat32({ rows, cols, dtype: d.dtype, data: d.data })), `${name}: same values`);
      assert.ok(s.data.byteLength <= bound * d.data.byteLength, `${name}: ${s.data.byteLength} sparse bytes against ${d.data.byteLength} dense`);
    }
    for (const name of dense.tensors.keys()) assert.ok(sparse.tensors.has(name), name);
    const [sparseTs, sparseWasm] = await logitsOnBoth(sparseDir);
    const [denseTs, denseWasm] = await logitsOnBoth(denseDir);
    assert.ok(sameBits(sparseTs!, denseTs!), 'TypeScript backend: same logits');
    assert.ok(sameBits(sparseWasm!, denseWasm!), 'WebAssembly backend: same logits');
    const saved = prunedNames.reduce((s, n) => s + dense.tensors.get(n)!.data.byteLength - sparse.tensors.get(n)!.data.byteLength, 0);
    const fileBytes = (dir: string) => statSync(join(dir, 'model.safetensors')).size;
    // The file shrinks by what the matrices save, give or take the longer header and its 8-byte padding.
    const shrink = fileBytes(denseDir) - fileBytes(sparseDir);
    assert.ok(shrink > 0.9 * saved && shrink <= saved, `file ${fileBytes(sparseDir)} bytes sparse, ${fileBytes(denseDir)} dense; matrices save ${saved}`);
  });

for (const [quant, pattern] of [['q8_0', ['--pattern', '2:4']], ['q4_0', ['--sparsity', '0.5']]] as const)
  test(`kvtrim prune --quantize ${quant} stores sparse ${quant} matrices: their values are the --dense export's, and they run as the same matrices stored dense`, async () => {
    const sparseDir = join(tmp, `${quant}-sparse`);
    const denseDir = join(tmp, `${quant}-dense`);
    for (const [dir, extra] of [[sparseDir, []], [denseDir, ['--dense']]] as const) {
      const r = kvtrim(...pruneArgs(dir, [...pattern, '--quantize', quant, ...extra]));
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, new RegExp(`model\\.layers\\.1\\.mlp\\.down_proj\\.weight\\s+32×64\\s+\\d+\\.\\d+%\\s+\\S+\\s+${quant}`));
    }
    const sparse = loadCheckpoint(sparseDir);
    const dense = loadCheckpoint(denseDir);
    const asDense = new Map(sparse.tensors);
    for (const [name, s] of sparse.tensors) {
      if (!/_proj\.weight$/.test(name)) continue;
      const d = dense.tensors.get(name)!;
      const [rows, cols] = s.shape as [number, number];
      assert.equal(s.dtype, quant, name);
      assert.ok(s.sparse, `${name} is sparse`);
      assert.equal(d.dtype, 'f32', `${name}: safetensors holds no dense ${quant}, so --dense writes its exact values in f32`);
      // Equal as numbers: a q4_0 code 8 under a negative scale decodes to −0 where the f32 file holds 0.
      const want = matrixToFloat32({ rows, cols, dtype: d.dtype, data: d.data });
      assert.ok(matrixToFloat32({ rows, cols, dtype: s.dtype, data: s.data, sparse: s.sparse }).every((v, i) => v === want[i]), `${name}: same values`);
      // On rows of 32 or 64, q4_0's row offset, masks and scales cost about what half its 4-bit codes save: it is only smaller than the f32 fallback.
      const bound = quant === 'q8_0' ? tensorBytes(quant, rows * cols)! : d.data.byteLength;
      assert.ok(s.data.byteLength < bound, `${name}: ${s.data.byteLength} bytes, not below ${bound}`);
      asDense.set(name, { name, dtype: quant, shape: s.shape, data: decodeSparse(quant, s.data, rows, cols) });
    }
    ensureKernelsBuilt();
    const wasm = await createWasmBackend({ threads: 1, nativeGemm: false });
    try {
      const run = (m: Model) => m.forward(prompt, m.newCache(), { allLogits: true });
      const got = run(Model.fromCheckpoint(sparse, { backend: wasm }));
      assert.ok(got.every(Number.isFinite));
      assert.ok(sameBits(got, run(Model.fromCheckpoint({ ...sparse, tensors: asDense }, { backend: wasm }))), `sparse ${quant} gives the dense ${quant} logits bit for bit`);
    } finally {
      wasm.dispose();
    }
  });

test('kvtrim prune --quantize takes q8_0 or q4_0 only', () => {
  const r = kvtrim(...pruneArgs(join(tmp, 'never'), ['--pattern', '2:4', '--quantize', 'q5_0']));
  assert.equal(r.code, 1);
  assert.match(r.err, /--quantize must be q8_0 or q4_0, got 'q5_0'/);
});
