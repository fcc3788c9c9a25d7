import { validateConfig, type ModelConfig } from './model-config.js';
import { ByteReader } from './byte-reader.js';
import { TENSOR_NAMES, type Checkpoint } from './checkpoint.js';
import { checkTensors } from './check-tensors.js';
import { readFileBytes, type ByteAlloc } from './read-file.js';
import type { RawTensor } from './tensor.js';

/** "ak42": the magic of llama2.c's versioned exports (v1 float32, v2 Q8_0). */
export const LLAMA2C_MAGIC = 0x616b3432;
export const LLAMA2C_V0_HEADER_BYTES = 28;
export const LLAMA2C_VERSIONED_HEADER_BYTES = 256;

interface Dims {
  dim: number;
  hiddenDim: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  vocabSize: number;
  seqLen: number;
  headDim: number;
}

/** Reads a karpathy/llama2.c checkpoint: legacy v0, v1 (float32) or v2 (Q8_0). */
export function readLlama2cCheckpoint(path: string, alloc?: ByteAlloc): Checkpoint {
  return parseLlama2c(readFileBytes(path, alloc), path);
}

export function parseLlama2c(bytes: Uint8Array, file: string): Checkpoint {
  const r: ByteReader = new ByteReader(bytes, file);
  r.need(4, 'header');
  const magic = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true);
  return magic === LLAMA2C_MAGIC ? parseVersioned(r) : parseLegacy(r);
}

function readDims(r: ByteReader): { d: Dims; rawVocab: number } {
  const v = ['dim', 'hidden_dim', 'n_layers', 'n_heads', 'n_kv_heads', 'vocab_size', 'seq_len'].map((k) => r.i32(`header ${k}`));
  const [dim, hiddenDim, nLayers, nHeads, nKvHeads, rawVocab, seqLen] = v as [number, number, number, number, number, number, number];
  const d = { dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize: Math.abs(rawVocab), seqLen, headDim: dim / nHeads };
  if (!Number.isInteger(d.headDim)) r.fail(`header dim ${dim} is not a multiple of n_heads ${nHeads}`);
  validateConfig(configOf(d, true), r.file);
  return { d, rawVocab };
}

/** Legacy v0: float32 tensors stacked over layers; a negative vocab_size means an untied classifier follows. */
function parseLegacy(r: ByteReader): Checkpoint {
  const { d, rawVocab } = readDims(r);
  const tied = rawVocab > 0;
  const { dim: D, hiddenDim: F, nLayers: L, vocabSize: V, headDim: hd } = d;
  const kv = d.nKvHeads * hd;
  const stacked: [string, number][] = [
    ['emb', V * D], ['rmsAtt', L * D], ['wq', L * D * D], ['wk', L * kv * D], ['wv', L * kv * D], ['wo', L * D * D],
    ['rmsFfn', L * D], ['w1', L * F * D], ['w2', L * D * F], ['w3', L * F * D], ['rmsFinal', D],
    ['freqCis', d.seqLen * hd], ...(tied ? [] : [['wcls', V * D] as [string, number]]),
  ];
  const expected = LLAMA2C_V0_HEADER_BYTES + 4 * stacked.reduce((a, [, n]) => a + n, 0);
  if (expected !== r.bytes.byteLength) r.fail(`llama2.c v0 file should be ${expected} bytes for header (${Object.values(d).slice(0, 7)}), is ${r.bytes.byteLength}`);
  const sections = new Map(stacked.map(([name, n]) => [name, r.take(4 * n, name)]));
  const section = (name: string) => sections.get(name)!;
  return build(d, tied, r.file, (name, layer, elems) => {
    const s = section(name);
    return layer === undefined ? s : s.subarray(layer * elems * 4, (layer + 1) * elems * 4);
  });
}

/** v1/v2 (256-byte "ak42" header): norms first, then each matrix on its own; v2 stores int8 + a scale per group. */
function parseVersioned(r: ByteReader): Checkpoint {
  r.skip(4, 'magic');
  const version = r.i32('version');
  if (version !== 1 && version !== 2) r.fail(`unsupported llama2.c version ${version} (0, 1 and 2 are known)`);
  const { d } = readDims(r);
  const tied = r.u8('shared_classifier') === 1;
  const groupSize = version === 2 ? r.i32('group_size') : 0;
  if (version === 2 && (groupSize <= 0 || groupSize > 1 << 20)) r.fail(`group size ${groupSize} is not positive`);
  const { dim: D, hiddenDim: F, nLayers: L, vocabSize: V, headDim: hd } = d;
  const kv = d.nKvHeads * hd;
  const perLayer: [string, number][] = [['wq', D * D], ['wk', kv * D], ['wv', kv * D], ['wo', D * D], ['w1', F * D], ['w2', D * F], ['w3', F * D]];
  const shared: [string, number][] = tied ? [['emb', V * D]] : [['emb', V * D], ['wcls', V * D]];
  for (const [name, n] of [...shared, ...perLayer]) if (version === 2 && n % groupSize !== 0) r.fail(`${name} has ${n} values, not a multiple of group size ${groupSize}`);
  const perMatrix = (n: number) => (version === 2 ? n + 4 * (n / groupSize) : 4 * n);
  // The size the header implies, computed before any per-layer list: a flipped n_layers fails here at once.
  const sum = (list: [string, number][]) => list.reduce((a, [, n]) => a + perMatrix(n), 0);
  const expected = LLAMA2C_VERSIONED_HEADER_BYTES + 4 * (2 * L * D + D) + sum(shared) + L * sum(perLayer);
  if (expected !== r.bytes.byteLength) r.fail(`llama2.c v${version} file should be ${expected} bytes for header (${Object.values(d).slice(0, 7)}), is ${r.bytes.byteLength}`);
  const matrices: [string, number][] = [shared[0]!];
  for (const [name, n] of perLayer) for (let l = 0; l < L; l++) matrices.push([`${name}.${l}`, n]);
  if (!tied) matrices.push(shared[1]!);
  r.pos = LLAMA2C_VERSIONED_HEADER_BYTES;
  const norms = { rmsAtt: r.take(4 * L * D, 'rms_att'), rmsFfn: r.take(4 * L * D, 'rms_ffn'), rmsFinal: r.take(4 * D, 'rms_final') };
  const data = new Map<string, Uint8Array>();
  for (const [name, n] of matrices) data.set(name, version === 2 ? dequantizeGroups(r, n, groupSize, name) : r.take(4 * n, name));
  return build(d, tied, r.file, (name, layer, elems) => {
    if (name === 'rmsAtt' || name === 'rmsFfn') return norms[name].subarray(layer! * elems * 4, (layer! + 1) * elems * 4);
    if (name === 'rmsFinal') return norms.rmsFinal;
    return data.get(layer === undefined ? name : `${name}.${layer}`)!;
  });
}

/**
 * llama2.c v2 groups need not be 32 values (stories260K uses 4), so they cannot become ggml Q8_0
 * blocks: they are dequantized to float32 at load.
 */
function dequantizeGroups(r: ByteReader, n: number, groupSize: number, what: string): Uint8Array {
  const q = r.take(n, `${what} int8 values`);
  const scales = r.take(4 * (n / groupSize), `${what} scales`);
  const sv = new DataView(scales.buffer, scales.byteOffset, scales.byteLength);
  const out = new Float32Array(n);
  for (let g = 0; g < n / groupSize; g++) {
    const s = sv.getFloat32(4 * g, true);
    for (let i = g * groupSize; i < (g + 1) * groupSize; i++) out[i] = s * ((q[i]! << 24) >> 24);
  }
  return new Uint8Array(out.buffer);
}

function configOf(d: Dims, tied: boolean): ModelConfig {
  return {
    arch: 'llama',
    dim: d.dim,
    hiddenDim: d.hiddenDim,
    nLayers: d.nLayers,
    nHeads: d.nHeads,
    nKvHeads: d.nKvHeads,
    headDim: d.headDim,
    vocabSize: d.vocabSize,
    maxSeqLen: d.seqLen,
    normEps: 1e-5,
    ropeTheta: 10000,
    ropeLayout: 'interleaved',
    qkvBias: false,
    tiedEmbeddings: tied,
    bosId: 1,
    eosIds: [2],
  };
}

/** Assembles canonical per-layer tensors; `slice(section, layer, elemsPerLayer)` returns float32 bytes. */
function build(
  d: Dims,
  tied: boolean,
  file: string,
  slice: (section: string, layer: number | undefined, elems: number) => Uint8Array,
): Checkpoint {
  const { dim: D, hiddenDim: F, nLayers: L, vocabSize: V, headDim: hd } = d;
  const kv = d.nKvHeads * hd;
  const tensors = new Map<string, RawTensor>();
  const add = (name: string, shape: number[], section: string, layer?: number) =>
    tensors.set(name, { name, dtype: 'f32', shape, data: slice(section, layer, shape.reduce((a, b) => a * b, 1)) });
  add(TENSOR_NAMES.embed, [V, D], 'emb');
  add(TENSOR_NAMES.finalNorm, [D], 'rmsFinal');
  if (!tied) add(TENSOR_NAMES.lmHead, [V, D], 'wcls');
  for (let l = 0; l < L; l++) {
    const n = TENSOR_NAMES.layer(l);
    add(n.attnNorm, [D], 'rmsAtt', l);
    add(n.wq, [D, D], 'wq', l);
    add(n.wk, [kv, D], 'wk', l);
    add(n.wv, [kv, D], 'wv', l);
    add(n.wo, [D, D], 'wo', l);
    add(n.ffnNorm, [D], 'rmsFfn', l);
    add(n.wGate, [F, D], 'w1', l);
    add(n.wDown, [D, F], 'w2', l);
    add(n.wUp, [F, D], 'w3', l);
  }
  const config = validateConfig(configOf(d, tied), file);
  const header = { dim: D, hidden_dim: F, n_layers: L, n_heads: d.nHeads, n_kv_heads: d.nKvHeads, vocab_size: V, seq_len: d.seqLen };
  return checkTensors({ source: file, format: 'llama2c', config, tensors, metadata: header });
}
