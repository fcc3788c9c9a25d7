import { ByteReader } from './byte-reader.js';
import type { ByteTensor } from './sparse-tensors.js';
import { DTYPE_LAYOUT, tensorBytes, type DType, type RawTensor } from './tensor.js';

/** A parsed GGUF file: metadata as plain JS values, tensors as views into `bytes` under their GGUF names. */
export interface GgufFile {
  version: number;
  metadata: Record<string, unknown>;
  tensors: RawTensor[];
  /** I8 tensors of one dimension: kvtrim's sparse matrices, which `sparseTensors` decodes with the metadata. */
  bytes: ByteTensor[];
}

export const GGUF_MAGIC = 0x46554747; // "GGUF" little-endian
export const GGUF_DEFAULT_ALIGNMENT = 32;

/** GGUF metadata value types (gguf spec). */
export const GgufValueType = {
  u8: 0, i8: 1, u16: 2, i16: 3, u32: 4, i32: 5, f32: 6, bool: 7, string: 8, array: 9, u64: 10, i64: 11, f64: 12,
} as const;

/** ggml tensor type ids (ggml.h's enum ggml_type) of the types this engine stores. */
export const GGML_TYPE_ID: Record<DType, number> = {
  f32: 0, f16: 1, q4_0: 2, q4_1: 3, q5_0: 6, q5_1: 7, q8_0: 8, q2_k: 10, q3_k: 11, q4_k: 12, q5_k: 13, q6_k: 14, iq4_nl: 20, bf16: 30,
};
/** ggml's I8: the type kvtrim stores its sparse blobs as (llama.cpp refuses a weight of that type and shape rather than misread it). */
export const GGML_TYPE_I8 = 24;
export const GGML_TYPES: Record<number, DType> = Object.fromEntries(Object.entries(GGML_TYPE_ID).map(([d, id]) => [id, d as DType]));

/** Smallest encoded size of one value of each type: bounds an array count before looping over it. */
const MIN_VALUE_BYTES: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 8: 8, 9: 12, 10: 8, 11: 8, 12: 8 };
/** Nesting of arrays of arrays; deeper is hostile (and would overflow the stack). */
const MAX_ARRAY_DEPTH = 4;
const MAX_DIMS = 4;

/** Parses a GGUF v2/v3 file. Hostile-input safe: every count, length and offset is checked first. */
export function parseGguf(bytes: Uint8Array, file: string): GgufFile {
  const r: ByteReader = new ByteReader(bytes, file);
  if (r.u32('magic') !== GGUF_MAGIC) r.fail('not a GGUF file (bad magic)');
  const version = r.u32('version');
  if (version !== 2 && version !== 3) r.fail(`unsupported GGUF version ${version} (only 2 and 3)`);
  const tensorCount = r.u64('tensor count');
  const kvCount = r.u64('metadata count');
  // A key/value takes at least 13 bytes and a tensor info at least 24: reject absurd counts at once.
  r.need(kvCount * 13, `${kvCount} metadata entries`);

  const metadata: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (let i = 0; i < kvCount; i++) {
    const key = readString(r, `metadata key ${i}`);
    if (key in metadata) r.fail(`duplicate metadata key '${key}'`);
    const type = r.u32(`type of '${key}'`);
    metadata[key] = readValue(r, type, key, 0);
  }

  r.need(tensorCount * 24, `${tensorCount} tensor infos`);
  interface Info { name: string; shape: number[]; dtype: DType | 'i8'; offset: number; bytes: number }
  const infos: Info[] = [];
  const names = new Set<string>();
  for (let i = 0; i < tensorCount; i++) {
    const name = readString(r, `tensor ${i} name`);
    if (names.has(name)) r.fail(`duplicate tensor '${name}'`);
    names.add(name);
    const nDims = r.u32(`n_dims of '${name}'`);
    if (nDims < 1 || nDims > MAX_DIMS) r.fail(`tensor '${name}' has n_dims ${nDims} (must be 1..${MAX_DIMS})`);
    const ne: number[] = [];
    let elems = 1;
    for (let d = 0; d < nDims; d++) {
      const n = r.u64(`dim ${d} of '${name}'`);
      elems *= n;
      if (!Number.isSafeInteger(elems)) r.fail(`tensor '${name}' has absurd dimensions`);
      ne.push(n);
    }
    const typeId = r.u32(`type of '${name}'`);
    if (typeId === GGML_TYPE_I8) {
      if (nDims !== 1) r.fail(`I8 tensor '${name}' has ${nDims} dimensions: only kvtrim's one-dimensional sparse blobs are I8`);
      infos.push({ name, shape: ne, dtype: 'i8', offset: r.u64(`offset of '${name}'`), bytes: elems });
      continue;
    }
    const dtype = GGML_TYPES[typeId];
    if (!dtype) r.fail(`unsupported tensor type ${typeId} for '${name}' (supported: ${Object.keys(GGML_TYPE_ID).join(', ')})`);
    if (ne[0]! % DTYPE_LAYOUT[dtype].blockElems !== 0) r.fail(`tensor '${name}' row length ${ne[0]} is not a whole number of ${dtype} blocks`);
    const size = tensorBytes(dtype, elems);
    if (size === undefined) r.fail(`tensor '${name}' has an invalid element count ${elems}`);
    const offset = r.u64(`offset of '${name}'`);
    infos.push({ name, shape: ne.slice().reverse(), dtype, offset, bytes: size });
  }

  const alignment = metadata['general.alignment'] ?? GGUF_DEFAULT_ALIGNMENT;
  if (typeof alignment !== 'number' || !Number.isInteger(alignment) || alignment <= 0 || alignment > 1 << 20 || (alignment & (alignment - 1)) !== 0)
    r.fail(`general.alignment ${String(alignment)} is not a power of two`);
  const dataStart = Math.ceil(r.pos / alignment) * alignment;
  const tensors: RawTensor[] = [];
  const byteTensors: ByteTensor[] = [];
  for (const t of infos) {
    if (t.offset % alignment !== 0) r.fail(`tensor '${t.name}' offset ${t.offset} is not aligned to ${alignment}`);
    const start = dataStart + t.offset;
    if (start + t.bytes > bytes.byteLength)
      r.fail(`tensor '${t.name}' data [${start}, ${start + t.bytes}) lies past the end of the file (${bytes.byteLength} bytes)`);
    const data = bytes.subarray(start, start + t.bytes);
    if (t.dtype === 'i8') byteTensors.push({ name: t.name, data });
    else tensors.push({ name: t.name, dtype: t.dtype, shape: t.shape, data });
  }
  checkDataLayout(infos, dataStart, alignment, r);
  return { version, metadata, tensors, bytes: byteTensors };
}

/**
 * No tensor's bytes overlap another's (aliased data would let one edit or mask another), and nothing
 * but alignment padding follows the last tensor, as llama.cpp's writer lays files out.
 */
function checkDataLayout(infos: readonly { name: string; offset: number; bytes: number }[], dataStart: number, alignment: number, r: ByteReader): void {
  const byOffset = [...infos].sort((a, b) => a.offset - b.offset);
  let end = 0;
  let last = '';
  for (const t of byOffset) {
    if (t.offset < end) r.fail(`tensor '${t.name}' data at offset ${t.offset} overlaps tensor '${last}' (which ends at ${end})`);
    end = t.offset + t.bytes;
    last = t.name;
  }
  const padded = infos.length === 0 ? 0 : Math.ceil(end / alignment) * alignment;
  const trailing = r.bytes.byteLength - Math.max(dataStart + padded, r.pos);
  if (trailing > 0) r.fail(`${trailing} trailing bytes after the tensor data`);
}

function readString(r: ByteReader, what: string): string {
  const n = r.u64(`${what} length`);
  return r.utf8(n, what);
}

function readValue(r: ByteReader, type: number, key: string, depth: number): unknown {
  switch (type) {
    case GgufValueType.u8: return r.u8(key);
    case GgufValueType.i8: return r.i8(key);
    case GgufValueType.u16: return r.u16(key);
    case GgufValueType.i16: return r.i16(key);
    case GgufValueType.u32: return r.u32(key);
    case GgufValueType.i32: return r.i32(key);
    case GgufValueType.f32: return r.f32(key);
    case GgufValueType.f64: return r.f64(key);
    case GgufValueType.u64: return r.u64(key);
    case GgufValueType.i64: return r.i64(key);
    case GgufValueType.bool: {
      const b = r.u8(key);
      if (b > 1) r.fail(`'${key}' has invalid bool ${b}`);
      return b === 1;
    }
    case GgufValueType.string: return readString(r, `'${key}'`);
    case GgufValueType.array: {
      if (depth >= MAX_ARRAY_DEPTH) r.fail(`'${key}' nests arrays deeper than ${MAX_ARRAY_DEPTH}`);
      const elemType = r.u32(`'${key}' element type`);
      const minBytes = MIN_VALUE_BYTES[elemType];
      if (minBytes === undefined) r.fail(`'${key}' has unknown array element type ${elemType}`);
      const count = r.u64(`'${key}' array count`);
      r.need(count * minBytes, `'${key}' array of ${count}`);
      const out = new Array<unknown>(count);
      for (let i = 0; i < count; i++) out[i] = readValue(r, elemType, key, depth + 1);
      return out;
    }
    default:
      return r.fail(`'${key}' has unknown value type ${type}`);
  }
}
