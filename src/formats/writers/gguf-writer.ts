import { platform } from '../../platform/platform.js';
import { TENSOR_NAMES } from '../checkpoint.js';
import { FormatError } from '../format-error.js';
import { ROPE_FREQS } from '../gguf-config.js';
import { ggufToCanonicalNames } from '../gguf-names.js';
import { llama3FreqFactors } from '../gguf-rope-freqs.js';
import type { DType, RawTensor } from '../tensor.js';
import { encodeTensor } from './encode-tensor.js';
import { encodeGguf, gguf, type GgufValue } from './gguf-encoder.js';
import type { LogicalModel } from './logical-model.js';
import { halfToInterleaved } from './rope-permute.js';
import { SPARSE_METADATA_KEY, sparseMetadata, type SparseEntry } from '../sparse-tensors.js';
import { writtenTensor } from './written-tensor.js';
import { q4kmDtype, storedDtype, type QuantMix } from './quant-mix.js';

/** A tokenizer vocabulary in GGUF terms (tokenizer.ggml.*). */
export interface GgufVocab {
  /** "llama" (SentencePiece) or "gpt2" (byte-level BPE). */
  model: string;
  tokens: string[];
  scores?: number[];
  tokenTypes?: number[];
  merges?: string[];
  pre?: string;
}

export interface GgufWriteOptions {
  /** One dtype for every matrix, or a llama-quantize recipe that picks one per tensor. */
  dtype?: DType | QuantMix;
  vocab?: GgufVocab;
  name?: string;
}

/** llama.cpp's general.file_type ("mostly ...", llama.h's llama_ftype) per dtype; a K-quant alone is its _S mix. */
const FILE_TYPE: Record<DType | QuantMix, number> = {
  q4_k_m: 15, f32: 0, f16: 1, q4_0: 2, q4_1: 3, q8_0: 7, q5_0: 8, q5_1: 9, q2_k: 10, q3_k: 11, q4_k: 14, q5_k: 16, q6_k: 18, iq4_nl: 25, bf16: 32,
};

/**
 * Writes a GGUF v3 model as llama.cpp's converter would: arch qwen2 keeps half-split q/k rows (NEOX
 * rope); every other arch is written as `llama` with q/k rows permuted to interleaved pairs.
 * Vectors stay f32; a matrix whose rows are not whole blocks of the dtype takes llama.cpp's fallback
 * (q4_K → q5_0, q6_K → q8_0), else f32.
 */
export function writeGgufModel(path: string, model: LogicalModel, opts: GgufWriteOptions = {}): void {
  const c = model.config;
  const dtype = opts.dtype ?? 'f32';
  if (c.ropeLayout !== 'half') throw new FormatError(path, 'the GGUF writer takes a model in the half-split rope layout');
  const arch = c.arch === 'qwen2' ? 'qwen2' : 'llama';
  if (c.ropeScaling && arch !== 'llama') throw new FormatError(path, `rope scaling cannot be written for GGUF arch ${arch}`);
  const k = (key: string) => `${arch}.${key}`;
  const metadata: Record<string, GgufValue> = {
    'general.architecture': gguf.string(arch),
    'general.name': gguf.string(opts.name ?? 'kvtrim'),
    'general.file_type': gguf.u32(FILE_TYPE[dtype]),
    [k('context_length')]: gguf.u32(c.maxSeqLen),
    [k('embedding_length')]: gguf.u32(c.dim),
    [k('feed_forward_length')]: gguf.u32(c.hiddenDim),
    [k('block_count')]: gguf.u32(c.nLayers),
    [k('attention.head_count')]: gguf.u32(c.nHeads),
    [k('attention.head_count_kv')]: gguf.u32(c.nKvHeads),
    [k('attention.key_length')]: gguf.u32(c.headDim),
    [k('attention.value_length')]: gguf.u32(c.headDim),
    [k('attention.layer_norm_rms_epsilon')]: gguf.f32(c.normEps),
    [k('rope.freq_base')]: gguf.f32(c.ropeTheta),
    [k('rope.dimension_count')]: gguf.u32(c.headDim),
    [k('vocab_size')]: gguf.u32(c.vocabSize),
  };
  if (c.slidingWindow !== undefined) metadata[k('attention.sliding_window')] = gguf.u32(c.slidingWindow);
  if (opts.vocab) Object.assign(metadata, vocabMetadata(opts.vocab, path, c.vocabSize));
  if (c.bosId !== undefined) metadata['tokenizer.ggml.bos_token_id'] = gguf.u32(c.bosId);
  if (c.eosIds[0] !== undefined) metadata['tokenizer.ggml.eos_token_id'] = gguf.u32(c.eosIds[0]);
  if (c.eosIds[1] !== undefined) metadata['tokenizer.ggml.eot_token_id'] = gguf.u32(c.eosIds[1]);

  // Rows to permute for arch llama: q (nHeads heads) and k (nKvHeads heads), weights and biases.
  const heads = new Map<string, number>();
  for (let l = 0; l < c.nLayers && arch === 'llama'; l++) {
    const n = TENSOR_NAMES.layer(l);
    for (const name of [n.wq, n.bq]) heads.set(name, c.nHeads);
    for (const name of [n.wk, n.bk]) heads.set(name, c.nKvHeads);
  }
  const tensors: RawTensor[] = [];
  const sparse = new Map<string, SparseEntry>();
  for (const [ggufName, canonical] of ggufToCanonicalNames(c.nLayers)) {
    const t = model.tensors.get(canonical);
    if (!t) continue;
    const nHeads = heads.get(canonical);
    const rows = t.shape[0]!;
    const permute = <T extends Float32Array | Uint8Array>(x: T): T => (nHeads === undefined ? x : halfToInterleaved(x, nHeads, c.headDim, x.length / rows));
    const rowLen = t.shape[t.shape.length - 1]!;
    const stored =
      t.shape.length < 2 ? 'f32'
      : dtype === 'q4_k_m' ? q4kmDtype(ggufName, rowLen, c.nLayers, model.tensors.has(TENSOR_NAMES.lmHead))
      : storedDtype(dtype, rowLen);
    const own = t.stored && { dtype: t.stored.dtype, bytes: permute(t.stored.bytes) };
    const written = writtenTensor({ shape: t.shape, data: permute(t.data), ...(own ? { stored: own } : {}), ...(t.sparse ? { sparse: t.sparse } : {}) }, stored, () => true);
    tensors.push({ name: ggufName, shape: t.shape, ...written });
    if (written.sparse) sparse.set(ggufName, { dtype: written.dtype, shape: [t.shape[0]!, t.shape[1]!], layout: written.sparse });
  }
  if (sparse.size > 0) metadata[SPARSE_METADATA_KEY] = gguf.string(sparseMetadata(sparse));
  // llama.cpp keeps Llama 3 rope scaling as a tensor of per-frequency divisors.
  if (c.ropeScaling) tensors.push({ name: ROPE_FREQS, dtype: 'f32', shape: [c.headDim / 2], data: encodeTensor('f32', llama3FreqFactors(c.ropeScaling, c.ropeTheta, c.headDim)) });
  platform().writeFile(path, encodeGguf(metadata, tensors));
}

function vocabMetadata(v: GgufVocab, path: string, vocabSize: number): Record<string, GgufValue> {
  if (v.tokens.length !== vocabSize) throw new FormatError(path, `vocab has ${v.tokens.length} tokens, the model ${vocabSize}`);
  const m: Record<string, GgufValue> = {
    'tokenizer.ggml.model': gguf.string(v.model),
    'tokenizer.ggml.tokens': gguf.array('string', v.tokens),
  };
  if (v.pre !== undefined) m['tokenizer.ggml.pre'] = gguf.string(v.pre);
  if (v.scores) m['tokenizer.ggml.scores'] = gguf.array('f32', v.scores);
  if (v.tokenTypes) m['tokenizer.ggml.token_type'] = gguf.array('i32', v.tokenTypes);
  if (v.merges) m['tokenizer.ggml.merges'] = gguf.array('string', v.merges);
  return m;
}
