import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeGgufModel } from '../../src/formats/writers/gguf-writer.js';
import { writeHfModel } from '../../src/formats/writers/hf-writer.js';
import { writeLlama2cModel } from '../../src/formats/writers/llama2c-writer.js';
import { TENSOR_NAMES } from '../../src/formats/checkpoint.js';
import type { SparseLayout } from '../../src/formats/sparse-matrix.js';
import type { LogicalModel } from '../../src/formats/writers/logical-model.js';
import { randomModel, tinyConfig } from '../../test/helpers/random-model.js';
import { CHATML_TEMPLATE, tinyTokenizerJson } from '../../test/helpers/tiny-tokenizer.js';

/** One valid input the fuzzer mutates: the files of a model (a directory's contents) and the one to load. */
export interface Seed {
  name: string;
  files: Record<string, Uint8Array>;
  /** The file (or '.', the directory) loadCheckpoint is given. */
  entry: string;
}

const fixtures = fileURLToPath(new URL('../../test/fixtures/', import.meta.url));
const fixture = (rel: string) => new Uint8Array(readFileSync(join(fixtures, rel)));
const json = (v: unknown) => new Uint8Array(Buffer.from(JSON.stringify(v, null, 1)));

/** The repository's fixtures and freshly written tiny models in every format, deterministic. */
export function buildSeeds(): Seed[] {
  const dir = mkdtempSync(join(tmpdir(), 'kvtrim-fuzz-seeds-'));
  try {
    const model = randomModel(tinyConfig({ tiedEmbeddings: false }), 7);
    const tok = tinyTokenizerJson() as { model: { vocab: Record<string, number> } };
    const pieces = Object.keys(tok.model.vocab);
    writeLlama2cModel(join(dir, 'v0.bin'), model);
    writeGgufModel(join(dir, 'tiny.gguf'), model, {
      dtype: 'q8_0',
      vocab: { model: 'llama', tokens: pieces, scores: pieces.map((_, i) => -i), tokenTypes: pieces.map((_, i) => (i < 3 ? 3 : 1)) },
    });
    writeHfModel(join(dir, 'hf'), model);
    const hf = Object.fromEntries(readdirSync(join(dir, 'hf')).map((f) => [f, new Uint8Array(readFileSync(join(dir, 'hf', f)))]));
    // Sparse blobs (kvtrim.sparse): 2:4 matrices in GGUF q8_0 and unstructured ones in safetensors f32.
    const wide = randomModel(tinyConfig({ dim: 32, hiddenDim: 64, headDim: 8, tiedEmbeddings: false }), 8);
    writeGgufModel(join(dir, 'sparse.gguf'), sparseModel(wide, { kind: 'nm', n: 2, m: 4 }), {
      dtype: 'q8_0',
      vocab: { model: 'llama', tokens: pieces, scores: pieces.map((_, i) => -i), tokenTypes: pieces.map((_, i) => (i < 3 ? 3 : 1)) },
    });
    writeHfModel(join(dir, 'hf-sparse'), sparseModel(wide, { kind: 'unstructured' }));
    return [
      { name: 'llama2c-v0', files: { 'model.bin': new Uint8Array(readFileSync(join(dir, 'v0.bin'))), 'tokenizer.bin': fixture('stories260K/tok512.bin') }, entry: 'model.bin' },
      { name: 'llama2c-v2', files: { 'model.bin': llama2cV2(), 'tokenizer.bin': fixture('stories260K/tok512.bin') }, entry: 'model.bin' },
      { name: 'stories260K.bin', files: { 'model.bin': fixture('stories260K/stories260K.bin'), 'tokenizer.bin': fixture('stories260K/tok512.bin') }, entry: 'model.bin' },
      { name: 'gguf-q8_0', files: { 'model.gguf': new Uint8Array(readFileSync(join(dir, 'tiny.gguf'))) }, entry: 'model.gguf' },
      { name: 'stories260K.gguf', files: { 'model.gguf': fixture('stories260K/stories260K.gguf') }, entry: 'model.gguf' },
      { name: 'gguf-sparse-2of4', files: { 'model.gguf': new Uint8Array(readFileSync(join(dir, 'sparse.gguf'))) }, entry: 'model.gguf' },
      { name: 'hf-sparse', files: { 'model.safetensors': new Uint8Array(readFileSync(join(dir, 'hf-sparse', 'model.safetensors'))), 'config.json': new Uint8Array(readFileSync(join(dir, 'hf-sparse', 'config.json'))), 'tokenizer.json': json(tok) }, entry: '.' },
      {
        name: 'hf',
        files: {
          ...hf,
          'tokenizer.json': json(tok),
          'tokenizer_config.json': json({ bos_token: '<s>', eos_token: '</s>', chat_template: CHATML_TEMPLATE }),
        },
        entry: '.',
      },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A llama2.c v2 file (int8 groups of 4, shared classifier) of dim 8, hidden 12, 1 layer, 2/1 heads, vocab 6: values need not be meaningful. */
function llama2cV2(): Uint8Array {
  const [D, F, V] = [8, 12, 6];
  const matrices = [V * D, D * D, 4 * D, 4 * D, D * D, F * D, D * F, F * D];
  const out = new Uint8Array(256 + 4 * 3 * D + matrices.reduce((a, n) => a + n + n, 0));
  const v = new DataView(out.buffer);
  v.setUint32(0, 0x616b3432, true);
  v.setInt32(4, 2, true);
  [D, F, 1, 2, 1, V, 4].forEach((x, i) => v.setInt32(8 + 4 * i, x, true));
  v.setUint8(36, 1);
  v.setInt32(37, 4, true);
  for (let i = 256; i < out.byteLength; i++) out[i] = (i * 37) & 0x7f;
  return out;
}

/** Every matrix but the embedding with every other pair of weights zeroed (2:4 and 50 % alike), marked to be written sparse. */
function sparseModel(base: LogicalModel, layout: SparseLayout): LogicalModel {
  const tensors: LogicalModel['tensors'] = new Map();
  for (const [name, t] of base.tensors) {
    if (t.shape.length !== 2 || name === TENSOR_NAMES.embed) tensors.set(name, t);
    else tensors.set(name, { shape: t.shape, data: t.data.map((v, i) => (i % 4 < 2 ? v : 0)), sparse: layout });
  }
  return { config: base.config, tensors };
}
