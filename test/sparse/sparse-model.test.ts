import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { TENSOR_NAMES } from '../../src/formats/checkpoint.js';
import { loadCheckpoint } from '../../src/formats/load-checkpoint.js';
import type { SparseLayout } from '../../src/formats/sparse-matrix.js';
import { writeGgufModel } from '../../src/formats/writers/gguf-writer.js';
import { writeHfModel } from '../../src/formats/writers/hf-writer.js';
import { logicalModelFromCheckpoint } from '../../src/formats/writers/logical-from-checkpoint.js';
import type { LogicalModel } from '../../src/formats/writers/logical-model.js';
import { Model } from '../../src/model/model.js';
import { randomModel, tinyConfig } from '../helpers/random-model.js';
import { sameBits } from '../helpers/wasm-kernels.js';

const dir = mkdtempSync(join(tmpdir(), 'kvtrim-sparse-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const prompt = [1, 5, 9, 2, 7, 3, 11, 4];

/** The model with every matrix but the embedding pruned (2:4: the two smallest |w| of each 4; unstructured: every other weight), marked sparse or not. */
function pruned(base: LogicalModel, layout: SparseLayout, mark: boolean): LogicalModel {
  const tensors: LogicalModel['tensors'] = new Map();
  for (const [name, t] of base.tensors) {
    if (t.shape.length !== 2 || name === TENSOR_NAMES.embed) {
      tensors.set(name, t);
      continue;
    }
    const w = t.data.slice();
    for (let g = 0; g < w.length; g += 4) {
      const order = [0, 1, 2, 3].map((i) => g + i).sort((a, b) => Math.abs(w[a]!) - Math.abs(w[b]!));
      if (layout.kind === 'nm') for (let i = 0; i < 2; i++) w[order[i]!] = 0;
      else for (let i = g; i < g + 4; i += 2) w[i] = 0;
    }
    tensors.set(name, { shape: t.shape, data: w, ...(mark ? { sparse: layout } : {}) });
  }
  return { config: base.config, tensors };
}

const logits = (path: string) => {
  const ck = loadCheckpoint(path);
  const m = Model.fromCheckpoint(ck);
  return { ck, out: m.forward(prompt, m.newCache(), { allLogits: true }) };
};

for (const layout of [{ kind: 'nm', n: 2, m: 4 }, { kind: 'unstructured' }] as SparseLayout[])
  for (const format of ['safetensors', 'gguf'] as const)
    test(`a ${layout.kind === 'nm' ? '2:4' : '50% unstructured'} model stored sparse in ${format} gives the dense-with-zeros logits bit for bit`, () => {
      const base = randomModel(tinyConfig(), 3);
      const tag = `${layout.kind}-${format}`;
      const write = (m: LogicalModel, p: string) => (format === 'gguf' ? writeGgufModel(`${p}.gguf`, m) : writeHfModel(p, m));
      const path = (p: string) => (format === 'gguf' ? `${p}.gguf` : p);
      write(pruned(base, layout, false), join(dir, `${tag}-dense`));
      write(pruned(base, layout, true), join(dir, `${tag}-sparse`));
      const dense = logits(path(join(dir, `${tag}-dense`)));
      const sparse = logits(path(join(dir, `${tag}-sparse`)));
      assert.ok([...sparse.ck.tensors.values()].some((t) => t.sparse), 'some matrix is stored sparse');
      assert.ok(sameBits(sparse.out, dense.out));
    });

test('converting a sparse safetensors model to GGUF keeps its matrices sparse and its logits bit for bit', () => {
  const layout: SparseLayout = { kind: 'nm', n: 2, m: 4 };
  writeHfModel(join(dir, 'convert-src'), pruned(randomModel(tinyConfig(), 4), layout, true));
  const src = logits(join(dir, 'convert-src'));
  writeGgufModel(join(dir, 'convert.gguf'), logicalModelFromCheckpoint(src.ck));
  const out = logits(join(dir, 'convert.gguf'));
  const sparseNames = (ck: typeof src.ck) => [...ck.tensors.values()].filter((t) => t.sparse).length;
  assert.ok(sparseNames(src.ck) > 0);
  assert.equal(sparseNames(out.ck), sparseNames(src.ck));
  assert.ok(sameBits(out.out, src.out));
});
