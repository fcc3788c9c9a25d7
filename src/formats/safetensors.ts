import { ByteReader } from './byte-reader.js';
import { describeValue } from './describe-value.js';
import type { ByteTensor } from './sparse-tensors.js';
import { tensorBytes, type DType, type RawTensor } from './tensor.js';

/** A parsed .safetensors file: tensors as views into the bytes, and the free-form `__metadata__`. */
export interface SafetensorsFile {
  tensors: RawTensor[];
  /** U8 tensors of one dimension: kvtrim's sparse matrices, which `sparseTensors` decodes with the metadata. */
  bytes: ByteTensor[];
  metadata: Record<string, string>;
}

export const SAFETENSORS_DTYPES: Record<string, DType> = { F32: 'f32', F16: 'f16', BF16: 'bf16' };
export const SAFETENSORS_DTYPE_NAME: Record<'f32' | 'f16' | 'bf16', string> = { f32: 'F32', f16: 'F16', bf16: 'BF16' };
/**
 * Headers beyond this are hostile: a shard of the largest checkpoints lists a few thousand tensors
 * (well under 1 MiB of JSON); 16 MiB (240,000 tensors) takes about 0.65 s and 160 MiB of heap to parse.
 */
export const MAX_SAFETENSORS_HEADER_BYTES = 16 * 2 ** 20;

/**
 * Parses a safetensors file; every header field is validated against the file before use. As the
 * reference implementation requires, the tensors' byte ranges tile the data section exactly: no
 * tensor overlaps or aliases another, and no byte lies outside every tensor (no gaps, nothing after).
 */
export function parseSafetensors(bytes: Uint8Array, file: string): SafetensorsFile {
  const r: ByteReader = new ByteReader(bytes, file);
  const headerLen = r.u64('header length');
  if (headerLen > MAX_SAFETENSORS_HEADER_BYTES) r.fail(`header length ${headerLen} is absurd (the limit is ${MAX_SAFETENSORS_HEADER_BYTES} bytes)`);
  const text = r.utf8(headerLen, 'JSON header');
  const dataStart = r.pos;
  const dataLen = r.remaining;
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    r.fail(`header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) r.fail('header is not a JSON object');

  const tensors: RawTensor[] = [];
  const byteTensors: ByteTensor[] = [];
  const ranges: { name: string; begin: number; end: number }[] = [];
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) r.fail('__metadata__ is not an object');
      for (const [key, value] of Object.entries(entry)) if (typeof value !== 'string') r.fail(`__metadata__ '${key}' is ${describeValue(value)}, not a string`);
      metadata = entry as Record<string, string>;
      continue;
    }
    if (typeof entry !== 'object' || entry === null) r.fail(`tensor '${name}': entry is not an object`);
    const { dtype: dtypeName, shape, data_offsets: offsets } = entry as Record<string, unknown>;
    if (dtypeName === 'U8') {
      const [begin, end] = Array.isArray(offsets) ? offsets : [];
      if (!Array.isArray(shape) || shape.length !== 1 || !Number.isSafeInteger(begin) || !Number.isSafeInteger(end) || begin < 0 || begin > end || end > dataLen || end - begin !== shape[0])
        r.fail(`tensor '${name}': a U8 tensor needs shape [bytes] and data_offsets spanning them inside the data section, got shape ${describeValue(shape)}, data_offsets ${describeValue(offsets)}`);
      ranges.push({ name, begin, end });
      byteTensors.push({ name, data: bytes.subarray(dataStart + begin, dataStart + end) });
      continue;
    }
    // hasOwn: a dtype named "constructor" or "__proto__" must not find Object.prototype's members.
    const dtype = typeof dtypeName === 'string' && Object.hasOwn(SAFETENSORS_DTYPES, dtypeName) ? SAFETENSORS_DTYPES[dtypeName]! : undefined;
    if (!dtype) r.fail(`tensor '${name}': unsupported dtype ${describeValue(dtypeName)} (supported: F32, F16, BF16)`);
    if (!Array.isArray(shape) || shape.length > 8 || !shape.every((s) => Number.isSafeInteger(s) && s >= 0))
      r.fail(`tensor '${name}': shape ${describeValue(shape)} is not a list of at most 8 non-negative integers`);
    let elems = 1;
    for (const s of shape as number[]) {
      elems *= s;
      if (!Number.isSafeInteger(elems)) r.fail(`tensor '${name}': shape ${describeValue(shape)} is absurd`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0))
      r.fail(`tensor '${name}': data_offsets ${describeValue(offsets)} must be two non-negative integers`);
    const [begin, end] = offsets as [number, number];
    if (begin > end || end > dataLen) r.fail(`tensor '${name}': data_offsets [${begin}, ${end}] lie outside the data section (${dataLen} bytes)`);
    if (end - begin !== tensorBytes(dtype, elems))
      r.fail(`tensor '${name}': data_offsets span ${end - begin} bytes, shape [${shape.join(', ')}] of ${dtype} needs ${tensorBytes(dtype, elems)}`);
    ranges.push({ name, begin, end });
    tensors.push({ name, dtype, shape: shape as number[], data: bytes.subarray(dataStart + begin, dataStart + end) });
  }
  checkTiling(ranges, dataLen, r);
  return { tensors, bytes: byteTensors, metadata };
}

/** The ranges, in file order, must cover [0, dataLen) once each. */
function checkTiling(ranges: { name: string; begin: number; end: number }[], dataLen: number, r: ByteReader): void {
  ranges.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  let last = '';
  for (const { name, begin, end } of ranges) {
    if (begin < covered) r.fail(`tensor '${name}': data_offsets [${begin}, ${end}] overlap tensor '${last}' (which ends at ${covered})`);
    if (begin > covered) r.fail(`data bytes [${covered}, ${begin}) belong to no tensor`);
    covered = end;
    last = name;
  }
  if (covered !== dataLen) r.fail(`${dataLen - covered} trailing bytes after the last tensor's data`);
}
