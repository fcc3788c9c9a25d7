import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { TENSOR_NAMES } from '../../src/formats/checkpoint.js';
import { FormatError } from '../../src/formats/format-error.js';
import { parseGguf } from '../../src/formats/gguf.js';
import { loadCheckpoint } from '../../src/formats/load-checkpoint.js';
import { parseLlama2c } from '../../src/formats/llama2c.js';
import { MAX_SAFETENSORS_HEADER_BYTES, parseSafetensors } from '../../src/formats/safetensors.js';
import { encodeGguf, gguf } from '../../src/formats/writers/gguf-encoder.js';
import { writeGgufModel } from '../../src/formats/writers/gguf-writer.js';
import { writeHfModel } from '../../src/formats/writers/hf-writer.js';
import { encodeSafetensors } from '../../src/formats/writers/safetensors-writer.js';
import { randomModel, tinyConfig } from '../helpers/random-model.js';
import { rejectsQuickly } from '../helpers/rejects-quickly.js';

// The reproductions of issue 27: each once crashed, ran for seconds or exhausted the heap; each must now be a FormatError within a second.
const dir = mkdtempSync(join(tmpdir(), 'kvtrim-hostile-regress-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const model = randomModel(tinyConfig(), 3);

/** A llama2.c v1 (float32) or v2 (int8 groups of 4) file of the tiny model's shape, tied, with `layers` in its header. */
function versioned(version: 1 | 2, layers = 2): Uint8Array {
  const c = model.config;
  const header = new Uint8Array(256);
  const hv = new DataView(header.buffer);
  hv.setUint32(0, 0x616b3432, true);
  hv.setInt32(4, version, true);
  [c.dim, c.hiddenDim, layers, c.nHeads, c.nKvHeads, c.vocabSize, c.maxSeqLen].forEach((v, i) => hv.setInt32(8 + 4 * i, v, true));
  hv.setUint8(36, 1);
  hv.setInt32(37, 4, true);
  const kv = c.nKvHeads * c.headDim;
  const sizes = [c.vocabSize * c.dim, ...[c.dim * c.dim, kv * c.dim, kv * c.dim, c.dim * c.dim, c.hiddenDim * c.dim, c.dim * c.hiddenDim, c.hiddenDim * c.dim].flatMap((n) => Array<number>(layers).fill(n))];
  const body = 4 * (2 * layers * c.dim + c.dim) + sizes.reduce((a, n) => a + (version === 2 ? n + n : 4 * n), 0);
  const out = new Uint8Array(256 + body);
  out.set(header);
  return out;
}

test('llama2.c v1/v2 with n_layers 2^24 or 2^20 (one flipped header byte) is a FormatError at once, before any per-layer list', async () => {
  for (const version of [1, 2] as const) {
    const ok = versioned(version);
    assert.equal(parseLlama2c(ok, 'ok.bin').config.nLayers, 2, `v${version} base file loads`);
    for (const layers of [2 ** 24, 2 ** 20]) {
      const bad = ok.slice();
      new DataView(bad.buffer).setInt32(16, layers, true);
      await rejectsQuickly(() => parseLlama2c(bad, 'bad.bin'), FormatError, new RegExp(`v${version} file should be \\d+ bytes`), 200);
    }
    // The issue's flip: byte 18 of the header is n_layers' third byte (2 → 2 + 2^24).
    const flipped = ok.slice();
    flipped[18] ^= 1;
    await rejectsQuickly(() => parseLlama2c(flipped, 'flip.bin'), FormatError, /should be/, 200);
  }
});

test('config.json num_hidden_layers 16777216 is a FormatError naming the first missing tensor, at once', async () => {
  const hf = join(dir, 'hf-layers');
  writeHfModel(hf, model);
  const config = JSON.parse(readFileSync(join(hf, 'config.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(hf, 'config.json'), JSON.stringify({ ...config, num_hidden_layers: 16777216 }));
  await rejectsQuickly(() => loadCheckpoint(hf), FormatError, /missing tensor model\.layers\.2\.input_layernorm\.weight \(the config asks for 16777216 layers; the file holds 20 tensors\)/, 500);
});

test('GGUF llama.block_count 2^24 is a FormatError at once, before a name map per layer', async () => {
  const path = join(dir, 'layers.gguf');
  writeGgufModel(path, model);
  const bytes = new Uint8Array(readFileSync(path));
  const at = Buffer.from(bytes).indexOf('llama.block_count') + 'llama.block_count'.length + 4; // after the key, its u32 type
  assert.equal(new DataView(bytes.buffer).getUint32(at, true), 2);
  new DataView(bytes.buffer).setUint32(at, 2 ** 24, true);
  writeFileSync(path, bytes);
  await rejectsQuickly(() => loadCheckpoint(path), FormatError, /missing tensor model\.layers\.2\./, 500);
});

/** A safetensors file whose header is `header` (any JSON text) followed by `dataLen` zero bytes. */
function withHeader(header: string, dataLen: number): Uint8Array {
  const h = Buffer.from(header);
  const out = new Uint8Array(8 + h.byteLength + dataLen);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.byteLength), true);
  out.set(h, 8);
  return out;
}
const nested = (depth: number) => '['.repeat(depth) + '1' + ']'.repeat(depth);

test('safetensors: a shape, offsets or dtype nested 10,000 deep is a FormatError, not a stack overflow in the message', async () => {
  const deep = nested(10_000);
  for (const [field, header] of [
    ['shape', `{"t":{"dtype":"F32","shape":${deep},"data_offsets":[0,4]}}`],
    ['data_offsets', `{"t":{"dtype":"F32","shape":[1],"data_offsets":${deep}}}`],
    ['dtype', `{"t":{"dtype":${deep},"shape":[1],"data_offsets":[0,4]}}`],
  ] as const)
    await rejectsQuickly(() => parseSafetensors(withHeader(header, 4), 'deep.safetensors'), FormatError, new RegExp(`${field === 'dtype' ? 'dtype a list of 1' : field} `), 500);
});

test('safetensors dtype __proto__, constructor or toString is an unsupported dtype, not a lookup through Object.prototype', async () => {
  for (const dtype of ['__proto__', 'constructor', 'toString', 'hasOwnProperty'])
    await rejectsQuickly(() => parseSafetensors(withHeader(`{"t":{"dtype":"${dtype}","shape":[1],"data_offsets":[0,4]}}`, 4), 'p.safetensors'), FormatError, new RegExp(`unsupported dtype "${dtype}"`), 200);
});

test('GGUF general.architecture "constructor" is an unsupported architecture, not a RoPE layout that is a function', async () => {
  const path = join(dir, 'arch.gguf');
  for (const arch of ['constructor', '__proto__', 'toString']) {
    writeFileSync(path, encodeGguf({ 'general.architecture': gguf.string(arch) }, []));
    await rejectsQuickly(() => loadCheckpoint(path), FormatError, new RegExp(`architecture "${arch}" is not supported`), 200);
  }
});

test(`a safetensors header over ${MAX_SAFETENSORS_HEADER_BYTES} bytes (600,000 tensors, 34 MB) is refused before it is parsed`, async () => {
  const entries = Array.from({ length: 600_000 }, (_, i) => `"t${i}":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}`);
  const bytes = withHeader(`{${entries.join(',')}}`, 0);
  assert.ok(bytes.byteLength > 30e6);
  await rejectsQuickly(() => parseSafetensors(bytes, 'big.safetensors'), FormatError, /header length \d+ is absurd \(the limit is 16777216 bytes\)/, 200);
});

const f32 = (n: number) => new Uint8Array(4 * n);
const st = (entries: Record<string, [number, number]>, dataLen: number) =>
  withHeader(JSON.stringify(Object.fromEntries(Object.entries(entries).map(([name, [b, e]]) => [name, { dtype: 'F32', shape: [(e - b) / 4], data_offsets: [b, e] }]))), dataLen);

test('safetensors tensors whose byte ranges overlap or alias, leave a gap, or leave trailing bytes are FormatErrors', async () => {
  assert.equal(parseSafetensors(st({ a: [0, 8], b: [8, 16] }, 16), 'ok').tensors.length, 2);
  await rejectsQuickly(() => parseSafetensors(st({ a: [0, 8], b: [0, 8] }, 8), 'alias'), FormatError, /tensor 'b': data_offsets \[0, 8\] overlap tensor 'a'/, 200);
  await rejectsQuickly(() => parseSafetensors(st({ a: [0, 8], b: [4, 12] }, 12), 'overlap'), FormatError, /overlap tensor 'a' \(which ends at 8\)/, 200);
  await rejectsQuickly(() => parseSafetensors(st({ a: [0, 8], b: [12, 16] }, 16), 'gap'), FormatError, /data bytes \[8, 12\) belong to no tensor/, 200);
  await rejectsQuickly(() => parseSafetensors(st({ a: [0, 8] }, 12), 'trailing'), FormatError, /4 trailing bytes after the last tensor's data/, 200);
  // A duplicated JSON key keeps only the last entry; the bytes of the first then belong to no tensor.
  await rejectsQuickly(() => parseSafetensors(withHeader('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', 8), 'dup'), FormatError, /data bytes \[0, 4\) belong to no tensor/, 200);
  const encoded = encodeSafetensors([{ name: 'x', dtype: 'f32', shape: [2], data: f32(2) }]);
  assert.equal(parseSafetensors(encoded, 'writer').tensors.length, 1, "the writer's files tile exactly");
});

test('GGUF tensors whose data overlap, and bytes after the padded data, are FormatErrors', async () => {
  const t = (name: string) => ({ name, dtype: 'f32' as const, shape: [8], data: f32(8) });
  const file = encodeGguf({}, [t('a'), t('b')]);
  assert.equal(parseGguf(file, 'ok').tensors.length, 2);
  const aliased = file.slice();
  const bOffset = Buffer.from(aliased).indexOf('b', Buffer.from(aliased).indexOf('a') + 1) + 1 + 4 + 8 + 4; // name, n_dims, ne0, type
  assert.equal(new DataView(aliased.buffer).getBigUint64(bOffset, true), 32n);
  new DataView(aliased.buffer).setBigUint64(bOffset, 0n, true);
  await rejectsQuickly(() => parseGguf(aliased, 'alias'), FormatError, /tensor '.' data at offset 0 overlaps tensor '.'/, 200);
  const longer = new Uint8Array(file.byteLength + 32);
  longer.set(file);
  await rejectsQuickly(() => parseGguf(longer, 'trailing'), FormatError, /32 trailing bytes after the tensor data/, 200);
});

test('unknown tensors are refused in every format: an extra safetensors tensor, an unused bias, a shard tensor the index does not list, an unknown GGUF tensor (rotary inv_freq buffers are dropped)', async () => {
  const extra = join(dir, 'hf-extra');
  writeHfModel(extra, { ...model, tensors: new Map([...model.tensors, ['model.layers.0.self_attn.q_norm.weight', { shape: [6], data: new Float32Array(6) }]]) });
  await rejectsQuickly(() => loadCheckpoint(extra), FormatError, /unexpected tensor model\.layers\.0\.self_attn\.q_norm\.weight: a llama model with this config does not use it/, 500);
  const bias = join(dir, 'hf-bias');
  writeHfModel(bias, { ...model, tensors: new Map([...model.tensors, [TENSOR_NAMES.layer(1).bq, { shape: [24], data: new Float32Array(24) }]]) });
  await rejectsQuickly(() => loadCheckpoint(bias), FormatError, /unexpected tensor model\.layers\.1\.self_attn\.q_proj\.bias/, 500);
  const sharded = join(dir, 'hf-unlisted');
  writeHfModel(sharded, model, { shards: 2 });
  const indexPath = join(sharded, 'model.safetensors.index.json');
  const index = JSON.parse(readFileSync(indexPath, 'utf8')) as { weight_map: Record<string, string> };
  delete index.weight_map[TENSOR_NAMES.layer(1).wDown];
  writeFileSync(indexPath, JSON.stringify(index));
  await rejectsQuickly(() => loadCheckpoint(sharded), FormatError, /tensor model\.layers\.1\.mlp\.down_proj\.weight of this shard is not listed in model\.safetensors\.index\.json/, 500);
  const buffers = join(dir, 'hf-inv-freq');
  writeHfModel(buffers, { ...model, tensors: new Map([...model.tensors, ['model.layers.0.self_attn.rotary_emb.inv_freq', { shape: [3], data: new Float32Array(3) }]]) });
  assert.equal(loadCheckpoint(buffers).tensors.size, model.tensors.size, 'the rotary inv_freq buffer old checkpoints carry is dropped, not refused');
  const ggufPath = join(dir, 'extra.gguf');
  writeGgufModel(ggufPath, model);
  const g = parseGguf(readFileSync(ggufPath), ggufPath);
  const metadata = Object.fromEntries(Object.entries(g.metadata).filter(([, v]) => typeof v === 'number' || typeof v === 'string').map(([k, v]) => [k, typeof v === 'string' ? gguf.string(v) : gguf.u32(v as number)]));
  metadata['llama.attention.layer_norm_rms_epsilon'] = gguf.f32(1e-5);
  metadata['llama.rope.freq_base'] = gguf.f32(10000);
  writeFileSync(ggufPath, encodeGguf(metadata, [...g.tensors, { name: 'blk.0.attn_q_norm.weight', dtype: 'f32', shape: [6], data: f32(6) }]));
  await rejectsQuickly(() => loadCheckpoint(ggufPath), FormatError, /unexpected tensor 'blk\.0\.attn_q_norm\.weight'/, 500);
});
