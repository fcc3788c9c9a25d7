import { platform } from '../platform/platform.js';
import { FormatError } from './format-error.js';

/**
 * A little-endian cursor over untrusted bytes. Every read checks the remaining length first, so a
 * hostile length or count fails with a FormatError before anything is allocated or looped over.
 */
export class ByteReader {
  pos = 0;
  private readonly view: DataView;
  private readonly text: (start: number, end: number) => string;

  constructor(
    readonly bytes: Uint8Array,
    readonly file: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.text = platform().utf8Slicer(bytes);
  }

  get remaining(): number {
    return this.bytes.byteLength - this.pos;
  }

  fail(problem: string): never {
    throw new FormatError(this.file, problem);
  }

  /** Throws unless `n` more bytes exist (n may be any number a hostile file claims). */
  need(n: number, what: string): void {
    if (!Number.isSafeInteger(n) || n < 0 || n > this.remaining)
      this.fail(`truncated or corrupt: ${what} needs ${n} bytes at offset ${this.pos}, only ${this.remaining} remain`);
  }

  u8(what: string): number {
    this.need(1, what);
    return this.view.getUint8(this.pos++);
  }

  i8(what: string): number {
    this.need(1, what);
    return this.view.getInt8(this.pos++);
  }

  u16(what: string): number {
    this.need(2, what);
    const v = this.view.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }

  i16(what: string): number {
    this.need(2, what);
    const v = this.view.getInt16(this.pos, true);
    this.pos += 2;
    return v;
  }

  u32(what: string): number {
    this.need(4, what);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  i32(what: string): number {
    this.need(4, what);
    const v = this.view.getInt32(this.pos, true);
    this.pos += 4;
    return v;
  }

  f32(what: string): number {
    this.need(4, what);
    const v = this.view.getFloat32(this.pos, true);
    this.pos += 4;
    return v;
  }

  f64(what: string): number {
    this.need(8, what);
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** A u64 as a JS number; values above 2^53 are rejected rather than rounded. */
  u64(what: string): number {
    this.need(8, what);
    // Two u32 halves: BigInt per value is slow for vocabularies of 10^5 strings.
    const lo = this.view.getUint32(this.pos, true);
    const hi = this.view.getUint32(this.pos + 4, true);
    this.pos += 8;
    if (hi > 0x1fffff) this.fail(`${what} = ${BigInt(hi) * 2n ** 32n + BigInt(lo)} is too large`);
    return hi * 2 ** 32 + lo;
  }

  i64(what: string): number {
    this.need(8, what);
    const v = this.view.getBigInt64(this.pos, true);
    this.pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) this.fail(`${what} = ${v} is out of the safe integer range`);
    return Number(v);
  }

  /** A view (no copy) of the next n bytes. */
  take(n: number, what: string): Uint8Array {
    this.need(n, what);
    const v = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  skip(n: number, what: string): void {
    this.need(n, what);
    this.pos += n;
  }

  utf8(n: number, what: string): string {
    this.need(n, what);
    const s = this.text(this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
}
