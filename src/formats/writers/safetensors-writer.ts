import { SAFETENSORS_DTYPE_NAME } from '../safetensors.js';

export interface EncodedTensor {
  name: string;
  dtype: 'f32' | 'f16' | 'bf16';
  shape: number[];
  data: Uint8Array;
}

/** Serialises tensors as one safetensors file (header padded with spaces to 8 bytes, as the reference writer does). */
export function encodeSafetensors(tensors: readonly EncodedTensor[], metadata: Record<string, string> = { format: 'pt' }): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: SAFETENSORS_DTYPE_NAME[t.dtype], shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
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
