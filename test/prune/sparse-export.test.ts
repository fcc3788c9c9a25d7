import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadCheckpoint } from '../../src/formats/load-checkpoint.js';
import { matrixToFloat32 } from '../../src/formats/sparse-matrix.js';
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
