import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { TENSOR_NAMES } from '../../src/formats/checkpoint.js';
import { FormatError } from '../../src/formats/format-error.js';
import { parseLlama2c } from '../../src/formats/llama2c.js';
import { writeLlama2cModel } from '../../src/formats/writers/llama2c-writer.js';
import { randomModel, tinyConfig } from '../helpers/random-model.js';

const dir = mkdtempSync(join(tmpdir(), 'kvtrim-hostile-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const FILE = 'hostile.bin';

function rejects(run: () => unknown, file: string, pattern?: RegExp, label = ''): void {
  const t0 = performance.now();
  assert.throws(run, (e: unknown) => e instanceof FormatError && e.message.startsWith(`${file}: `) && (!pattern || pattern.test(e.message)), label);
  assert.ok(performance.now() - t0 < 200, `${label} took ${performance.now() - t0} ms`);
}
const rejectsBytes = (b: Uint8Array, pattern?: RegExp, label = '') => rejects(() => parseLlama2c(b, FILE), FILE, pattern, label);

/** A small v0 file from the writer: dim 24, hidden 40, 2 layers, 4/2 heads, vocab 37, seq 64. */
const v0 = (() => {
  const path = join(dir, 'v0.bin');
  writeLlama2cModel(path, randomModel(tinyConfig({ tiedEmbeddings: false }), 2));
  return new Uint8Array(readFileSync(path));
})();

test('llama2.c v0 truncated at every section boundary and at random points; oversized', () => {
  const [V, D, L, F, KV, S, hd] = [37, 24, 2, 40, 12, 64, 6];
  const sections = [V * D, L * D, L * D * D, L * KV * D, L * KV * D, L * D * D, L * D, L * F * D, L * D * F, L * F * D, D, (S * hd) / 2, (S * hd) / 2, V * D];
  assert.equal(v0.byteLength, 28 + 4 * sections.reduce((a, b) => a + b, 0));
  parseLlama2c(v0, FILE);
  const cuts = [0, 3, 4, 27, 28];
  let at = 28;
  for (const s of sections) cuts.push((at += 4 * s), at - 1, at + 1);
  let seed = 12345;
  for (let i = 0; i < 20; i++) cuts.push((seed = (seed * 1103515245 + 12345) % 2 ** 31) % v0.byteLength);
  for (const c of cuts.filter((c) => c < v0.byteLength)) rejectsBytes(v0.subarray(0, c), undefined, `cut at ${c}`);
  const bigger = new Uint8Array(v0.byteLength + 4);
  bigger.set(v0);
  rejectsBytes(bigger, /should be \d+ bytes/);
});

test('llama2.c v0 header: absurd, zero and negative dimensions, indivisible heads', () => {
  const header = (i: number, v: number) => {
    const b = v0.slice();
    new DataView(b.buffer).setInt32(4 * i, v, true);
    return b;
  };
  rejectsBytes(header(0, 2 ** 30), /dim/);
  rejectsBytes(header(0, 0), /dim/);
  rejectsBytes(header(0, 25), /not a multiple of n_heads/);
  rejectsBytes(header(1, -40), /hiddenDim/);
  rejectsBytes(header(2, 2 ** 31 - 1), /nLayers/);
  rejectsBytes(header(3, 0), /n_heads|nHeads/);
  rejectsBytes(header(4, 3), /multiple of nKvHeads/);
  rejectsBytes(header(5, 0), /vocabSize/);
  rejectsBytes(header(5, 37), /should be/, 'tied flag flips the expected size');
  rejectsBytes(header(6, 2 ** 24), /should be/);
});

/** A hand-built llama2.c v2 file (dim 8, hidden 12, 1 layer, 2/1 heads, vocab 6, seq 4, group size 4). */
function buildV2(shared: boolean, groupSize = 4): { bytes: Uint8Array; q: Map<string, Int8Array>; s: Map<string, Float32Array> } {
  const [D, F, V] = [8, 12, 6];
  const mats: [string, number][] = [['emb', V * D], ['wq', D * D], ['wk', 4 * D], ['wv', 4 * D], ['wo', D * D], ['w1', F * D], ['w2', D * F], ['w3', F * D]];
  if (!shared) mats.push(['wcls', V * D]);
  const chunks: Uint8Array[] = [];
  const header = new Uint8Array(256);
  const hv = new DataView(header.buffer);
  hv.setUint32(0, 0x616b3432, true);
  hv.setInt32(4, 2, true);
  [D, F, 1, 2, 1, V, 4].forEach((v, i) => hv.setInt32(8 + 4 * i, v, true));
  hv.setUint8(36, shared ? 1 : 0);
  hv.setInt32(37, groupSize, true);
  chunks.push(header, new Uint8Array(new Float32Array(2 * D + D).map((_, i) => 1 + i / 100).buffer));
  const q = new Map<string, Int8Array>();
  const s = new Map<string, Float32Array>();
  let k = 0;
  for (const [name, n] of mats) {
    const qs = Int8Array.from({ length: n }, () => ((k = (k * 37 + 11) % 255) - 127));
    const sc = Float32Array.from({ length: groupSize > 0 ? n / groupSize : 0 }, (_, i) => 0.01 * (i + 1));
    q.set(name, qs);
    s.set(name, sc);
    chunks.push(new Uint8Array(qs.buffer), new Uint8Array(sc.buffer));
  }
  return { bytes: new Uint8Array(Buffer.concat(chunks)), q, s };
}

test('llama2.c v2 (Q8_0, group size 4) dequantizes to q · scale, tied and untied', () => {
  for (const shared of [true, false]) {
    const { bytes, q, s } = buildV2(shared);
    const ck = parseLlama2c(bytes, FILE);
    assert.equal(ck.config.tiedEmbeddings, shared);
    const names: Record<string, string> = { emb: TENSOR_NAMES.embed, wq: TENSOR_NAMES.layer(0).wq, wk: TENSOR_NAMES.layer(0).wk, w2: TENSOR_NAMES.layer(0).wDown, w3: TENSOR_NAMES.layer(0).wUp };
    if (!shared) names.wcls = TENSOR_NAMES.lmHead;
    for (const [short, name] of Object.entries(names)) {
      const got = new Float32Array(ck.tensors.get(name)!.data.slice().buffer);
      const qs = q.get(short)!;
      const sc = s.get(short)!;
      for (let i = 0; i < qs.length; i++) assert.equal(got[i], Math.fround(qs[i]! * sc[Math.floor(i / 4)]!), `${short}[${i}]`);
    }
    assert.equal(new Float32Array(ck.tensors.get(TENSOR_NAMES.finalNorm)!.data.slice().buffer)[0], Math.fround(1.16));
  }
});

test('llama2.c v2: truncations, bad group sizes, unknown versions', () => {
  const { bytes } = buildV2(true);
  for (const c of [0, 4, 8, 36, 37, 40, 255, 256, 256 + 96, 256 + 96 + 48, 256 + 96 + 48 + 12, bytes.byteLength - 1]) rejectsBytes(bytes.subarray(0, c), undefined, `cut at ${c}`);
  rejectsBytes(buildV2(true, 0).bytes, /group size 0/);
  rejectsBytes(buildV2(true, -4).bytes, /group size -4/);
  const odd = buildV2(true, 4).bytes.slice();
  new DataView(odd.buffer).setInt32(37, 5, true);
  rejectsBytes(odd, /not a multiple of group size 5/);
  const v3 = bytes.slice();
  new DataView(v3.buffer).setInt32(4, 3, true);
  rejectsBytes(v3, /unsupported llama2.c version 3/);
});

test('llama2.c v1 (float32, "ak42" header) reads the same tensors as the v0 file it was rebuilt from', () => {
  const ref = parseLlama2c(v0, FILE);
  const c = ref.config;
  const get = (name: string) => ref.tensors.get(name)!.data;
  const layers = Array.from({ length: c.nLayers }, (_, l) => TENSOR_NAMES.layer(l));
  const header = new Uint8Array(256);
  const hv = new DataView(header.buffer);
  hv.setUint32(0, 0x616b3432, true);
  hv.setInt32(4, 1, true);
  [c.dim, c.hiddenDim, c.nLayers, c.nHeads, c.nKvHeads, c.vocabSize, c.maxSeqLen].forEach((v, i) => hv.setInt32(8 + 4 * i, v, true));
  hv.setUint8(36, 0);
  const order = [
    ...layers.map((n) => n.attnNorm), ...layers.map((n) => n.ffnNorm), TENSOR_NAMES.finalNorm, TENSOR_NAMES.embed,
    ...(['wq', 'wk', 'wv', 'wo', 'wGate', 'wDown', 'wUp'] as const).flatMap((k) => layers.map((n) => n[k])), TENSOR_NAMES.lmHead,
  ];
  const v1 = parseLlama2c(new Uint8Array(Buffer.concat([header, ...order.map(get)])), FILE);
  assert.equal(v1.tensors.size, ref.tensors.size);
  for (const [name, t] of ref.tensors) assert.deepEqual(Buffer.from(v1.tensors.get(name)!.data), Buffer.from(t.data), name);
});
