import { SAFETENSORS_DTYPE_NAME } from '../safetensors.js';
import { SPARSE_METADATA_KEY, sparseMetadata, type SparseEntry } from '../sparse-tensors.js';
import type { SparseLayout } from '../sparse-matrix.js';
import type { DType } from '../tensor.js';

export interface EncodedTensor {
  name: string;
  /** f32, f16 or bf16 for a dense tensor; the value dtype of a sparse one. */
  dtype: DType;
  shape: number[];
  data: Uint8Array;
  /** A sparse blob: stored as a U8 tensor of its bytes, listed in the kvtrim.sparse metadata. */
  sparse?: SparseLayout;
}

/**
 * Serialises tensors as one safetensors file (header padded with spaces to 8 bytes, as the reference
 * writer does). Sparse tensors become U8 blobs named in `__metadata__`'s kvtrim.sparse entry.
 */
export function encodeSafetensors(tensors: readonly EncodedTensor[], metadata: Record<string, string> = { format: 'pt' }): Uint8Array {
  const sparse = new Map<string, SparseEntry>();
  for (const t of tensors) if (t.sparse) sparse.set(t.name, { dtype: t.dtype, shape: [t.shape[0]!, t.shape[1]!], layout: t.sparse });
  const header: Record<string, unknown> = { __metadata__: sparse.size > 0 ? { ...metadata, [SPARSE_METADATA_KEY]: sparseMetadata(sparse) } : metadata };
  let offset = 0;
  for (const t of tensors) {
    const dtype = t.sparse ? 'U8' : Object.hasOwn(SAFETENSORS_DTYPE_NAME, t.dtype) ? SAFETENSORS_DTYPE_NAME[t.dtype as 'f32'] : undefined;
    if (!dtype) throw new RangeError(`safetensors holds no dense ${t.dtype} tensor (${t.name})`);
    header[t.name] = { dtype, shape: t.sparse ? [t.data.byteLength] : t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (new TextEncoder().encode(json).length % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.byteLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.byteLength), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.byteLength;
  for (const t of tensors) {
    out.set(t.data, pos);
    pos += t.data.byteLength;
  }
  return out;
}
