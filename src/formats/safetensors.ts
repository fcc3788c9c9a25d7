import { ByteReader } from './byte-reader.js';
import { tensorBytes, type DType, type RawTensor } from './tensor.js';

/** A parsed .safetensors file: tensors as views into the bytes, and the free-form `__metadata__`. */
export interface SafetensorsFile {
  tensors: RawTensor[];
  metadata: Record<string, string>;
}

export const SAFETENSORS_DTYPES: Record<string, DType> = { F32: 'f32', F16: 'f16', BF16: 'bf16' };
export const SAFETENSORS_DTYPE_NAME: Record<'f32' | 'f16' | 'bf16', string> = { f32: 'F32', f16: 'F16', bf16: 'BF16' };
/** Headers beyond this are hostile (real ones are kilobytes; the reference implementation caps at 100 MB). */
const MAX_HEADER_BYTES = 100_000_000;

/** Parses a safetensors file; every header field is validated against the file before use. */
export function parseSafetensors(bytes: Uint8Array, file: string): SafetensorsFile {
  const r: ByteReader = new ByteReader(bytes, file);
  const headerLen = r.u64('header length');
  if (headerLen > MAX_HEADER_BYTES) r.fail(`header length ${headerLen} is absurd`);
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
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) r.fail('__metadata__ is not an object');
      metadata = entry as Record<string, string>;
      continue;
    }
    if (typeof entry !== 'object' || entry === null) r.fail(`tensor '${name}': entry is not an object`);
    const { dtype: dtypeName, shape, data_offsets: offsets } = entry as Record<string, unknown>;
    const dtype = SAFETENSORS_DTYPES[String(dtypeName)];
    if (!dtype) r.fail(`tensor '${name}': unsupported dtype ${JSON.stringify(dtypeName)} (supported: F32, F16, BF16)`);
    if (!Array.isArray(shape) || shape.length > 8 || !shape.every((s) => Number.isSafeInteger(s) && s >= 0))
      r.fail(`tensor '${name}': shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
    let elems = 1;
    for (const s of shape as number[]) {
      elems *= s;
      if (!Number.isSafeInteger(elems)) r.fail(`tensor '${name}': shape ${JSON.stringify(shape)} is absurd`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0))
      r.fail(`tensor '${name}': data_offsets ${JSON.stringify(offsets)} must be two non-negative integers`);
    const [begin, end] = offsets as [number, number];
    if (begin > end || end > dataLen) r.fail(`tensor '${name}': data_offsets [${begin}, ${end}] lie outside the data section (${dataLen} bytes)`);
    if (end - begin !== tensorBytes(dtype, elems))
      r.fail(`tensor '${name}': data_offsets span ${end - begin} bytes, shape [${shape.join(', ')}] of ${dtype} needs ${tensorBytes(dtype, elems)}`);
    tensors.push({ name, dtype, shape: shape as number[], data: bytes.subarray(dataStart + begin, dataStart + end) });
  }
  return { tensors, metadata };
}
