import { heapStorage, type CacheStorage } from './cache-storage.js';

/**
 * One KV head of one layer: its own length (ragged across heads), absolute positions, post-RoPE
 * keys and values, and optionally the running attention each entry has received (H2O, FastGen).
 * Storage grows by doubling; eviction compacts in place.
 */
export class HeadCache {
  length = 0;
  protected keyBuf: Float32Array;
  protected valueBuf: Float32Array;
  positions: Int32Array;
  /** Accumulated attention per entry; null unless the cache tracks attention. */
  attentionSums: Float32Array | null;

  constructor(
    readonly headDim: number,
    capacity = 16,
    trackAttentionSums = false,
    readonly storage: CacheStorage = heapStorage,
  ) {
    this.keyBuf = storage.floats(capacity * headDim);
    this.valueBuf = storage.floats(capacity * headDim);
    this.positions = storage.ints(capacity);
    this.attentionSums = trackAttentionSums ? new Float32Array(capacity) : null;
  }

  /** Keys of the live entries in the first length × headDim floats (post-RoPE). */
  get keys(): Float32Array {
    return this.keyBuf;
  }

  get values(): Float32Array {
    return this.valueBuf;
  }

  /** Starts running attention sums from zero (a press asked for them after the cache was made). */
  trackAttentionSums(): void {
    this.attentionSums ??= new Float32Array(this.capacity);
  }

  /** Stops keeping attention sums (attention then runs on a backend's fast path again). */
  dropAttentionSums(): void {
    this.attentionSums = null;
  }

  get capacity(): number {
    return this.positions.length;
  }

  /** Appends one entry; k and v are read from `src` arrays at the given offsets. */
  append(k: Float32Array, kOff: number, v: Float32Array, vOff: number, position: number): void {
    if (this.length === this.capacity) this.grow(Math.max(16, this.capacity * 2));
    const d = this.headDim;
    const o = this.length * d;
    this.keyBuf.set(k.subarray(kOff, kOff + d), o);
    this.valueBuf.set(v.subarray(vOff, vOff + d), o);
    this.positions[this.length] = position;
    if (this.attentionSums) this.attentionSums[this.length] = 0;
    this.length++;
  }

  /** Keeps only the entries at `indices` (sorted ascending, unique), compacting in place. */
  keep(indices: Int32Array): void {
    const d = this.headDim;
    let prev = -1;
    for (let w = 0; w < indices.length; w++) {
      const r = indices[w]!;
      if (!(r > prev && r < this.length)) throw new RangeError(`keep: index ${r} not sorted, unique and < ${this.length}`);
      prev = r;
      if (r !== w) {
        this.keyBuf.copyWithin(w * d, r * d, r * d + d);
        this.valueBuf.copyWithin(w * d, r * d, r * d + d);
        this.positions[w] = this.positions[r]!;
        if (this.attentionSums) this.attentionSums[w] = this.attentionSums[r]!;
      }
    }
    this.length = indices.length;
  }

  /** Bytes held by the live entries: keys and values in float32 plus int32 positions. */
  bytes(): number {
    return this.length * HeadCache.bytesPerEntry(this.headDim);
  }

  static bytesPerEntry(headDim: number): number {
    return 2 * headDim * 4 + 4;
  }

  clone(): HeadCache {
    const c = new HeadCache(this.headDim, Math.max(1, this.length), this.attentionSums !== null, this.storage);
    c.keyBuf.set(this.keyBuf.subarray(0, this.length * this.headDim));
    c.valueBuf.set(this.valueBuf.subarray(0, this.length * this.headDim));
    c.positions.set(this.positions.subarray(0, this.length));
    if (this.attentionSums) c.attentionSums!.set(this.attentionSums.subarray(0, this.length));
    c.length = this.length;
    return c;
  }

  /** Gives the buffers back to the storage now (see CacheStorage.release); the head is left empty and usable. */
  free(): void {
    this.releaseBuffers();
    this.keyBuf = new Float32Array(0);
    this.valueBuf = new Float32Array(0);
    this.positions = new Int32Array(0);
    if (this.attentionSums) this.attentionSums = new Float32Array(0);
    this.length = 0;
  }

  private releaseBuffers(): void {
    for (const b of [this.keyBuf, this.valueBuf, this.positions]) this.storage.release(b);
  }

  private grow(capacity: number): void {
    const d = this.headDim;
    const keys = this.storage.floats(capacity * d);
    keys.set(this.keyBuf);
    const values = this.storage.floats(capacity * d);
    values.set(this.valueBuf);
    const positions = this.storage.ints(capacity);
    positions.set(this.positions);
    this.releaseBuffers();
    this.keyBuf = keys;
    this.valueBuf = values;
    this.positions = positions;
    if (this.attentionSums) {
      const a = new Float32Array(capacity);
      a.set(this.attentionSums);
      this.attentionSums = a;
    }
  }
}
