import { GGML_TYPE_I8, GGML_TYPE_ID, GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC, GgufValueType } from '../gguf.js';
import type { RawTensor } from '../tensor.js';

type ScalarType = Exclude<keyof typeof GgufValueType, 'array'>;
/** A metadata value with its GGUF type (llama.cpp checks types strictly, so they cannot be guessed). */
export type GgufValue = { type: ScalarType; value: number | boolean | string } | { type: 'array'; of: ScalarType; value: readonly (number | boolean | string)[] };

export const gguf = {
  u32: (value: number): GgufValue => ({ type: 'u32', value }),
  i32: (value: number): GgufValue => ({ type: 'i32', value }),
  f32: (value: number): GgufValue => ({ type: 'f32', value }),
  bool: (value: boolean): GgufValue => ({ type: 'bool', value }),
  string: (value: string): GgufValue => ({ type: 'string', value }),
  array: (of: ScalarType, value: readonly (number | boolean | string)[]): GgufValue => ({ type: 'array', of, value }),
};

/** A growable little-endian byte buffer. */
class Out {
  private buf = new Uint8Array(1 << 16);
  private view = new DataView(this.buf.buffer);
  length = 0;

  private reserve(n: number): void {
    if (this.length + n <= this.buf.byteLength) return;
    const bigger = new Uint8Array(Math.max(this.buf.byteLength * 2, this.length + n));
    bigger.set(this.buf.subarray(0, this.length));
    this.buf = bigger;
    this.view = new DataView(bigger.buffer);
  }

  scalar(type: ScalarType, v: number | boolean | string): void {
    if (type === 'string') {
      const bytes = new TextEncoder().encode(v as string);
      this.scalar('u64', bytes.byteLength);
      this.bytes(bytes);
      return;
    }
    const size = { u8: 1, i8: 1, bool: 1, u16: 2, i16: 2, u32: 4, i32: 4, f32: 4, u64: 8, i64: 8, f64: 8 }[type];
    this.reserve(size);
    const at = this.length;
    const n = v as number;
    switch (type) {
      case 'u8': this.view.setUint8(at, n); break;
      case 'i8': this.view.setInt8(at, n); break;
      case 'bool': this.view.setUint8(at, v ? 1 : 0); break;
      case 'u16': this.view.setUint16(at, n, true); break;
      case 'i16': this.view.setInt16(at, n, true); break;
      case 'u32': this.view.setUint32(at, n, true); break;
      case 'i32': this.view.setInt32(at, n, true); break;
      case 'f32': this.view.setFloat32(at, n, true); break;
      case 'u64': this.view.setBigUint64(at, BigInt(n), true); break;
      case 'i64': this.view.setBigInt64(at, BigInt(n), true); break;
      case 'f64': this.view.setFloat64(at, n, true); break;
    }
    this.length += size;
  }

  bytes(b: Uint8Array): void {
    this.reserve(b.byteLength);
    this.buf.set(b, this.length);
    this.length += b.byteLength;
  }

  padTo(alignment: number): void {
    const pad = (alignment - (this.length % alignment)) % alignment;
    this.bytes(new Uint8Array(pad));
  }

  result(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

/** Serialises a GGUF v3 file: header, typed metadata, tensor infos, then 32-byte-aligned tensor data. */
export function encodeGguf(metadata: Record<string, GgufValue>, tensors: readonly RawTensor[]): Uint8Array {
  const out = new Out();
  out.scalar('u32', GGUF_MAGIC);
  out.scalar('u32', 3);
  out.scalar('u64', tensors.length);
  out.scalar('u64', Object.keys(metadata).length);
  for (const [key, v] of Object.entries(metadata)) {
    out.scalar('string', key);
    out.scalar('u32', GgufValueType[v.type]);
    if (v.type === 'array') {
      out.scalar('u32', GgufValueType[v.of]);
      out.scalar('u64', v.value.length);
      for (const x of v.value) out.scalar(v.of, x);
    } else out.scalar(v.type, v.value);
  }
  const align = (n: number) => Math.ceil(n / GGUF_DEFAULT_ALIGNMENT) * GGUF_DEFAULT_ALIGNMENT;
  let offset = 0;
  for (const t of tensors) {
    // A sparse blob is an I8 tensor of its bytes (the kvtrim.sparse metadata says what it holds).
    const shape = t.sparse ? [t.data.byteLength] : t.shape;
    out.scalar('string', t.name);
    out.scalar('u32', shape.length);
    for (let d = shape.length - 1; d >= 0; d--) out.scalar('u64', shape[d]!);
    out.scalar('u32', t.sparse ? GGML_TYPE_I8 : GGML_TYPE_ID[t.dtype]);
    out.scalar('u64', offset);
    offset = align(offset + t.data.byteLength);
  }
  for (const t of tensors) {
    out.padTo(GGUF_DEFAULT_ALIGNMENT);
    out.bytes(t.data);
  }
  return out.result();
}
