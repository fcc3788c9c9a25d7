import { rowKindAt, type RowKinds } from '../kernels/row-kinds.js';

/**
 * Where each sequence's rows sit in a batched product: all tile rows first, then stream rows, then
 * single rows (the order the kernels take them in, row-kinds.ts), each group in sequence order.
 * A sequence's rows are contiguous when it is alone, and often in a batch (all decode tokens are
 * single rows); otherwise its rows are gathered into and scattered from a contiguous copy.
 */
export class BatchLayout {
  readonly kinds: RowKinds = { tile: 0, stream: 0, single: 0 };
  /** rows[p][t]: the batch row of token t of part p. */
  readonly rows: Int32Array[];
  /** first[p]: the batch row of part p's first token when its rows are consecutive, else −1. */
  readonly first: number[];

  /** `parts[p]`: part p's tokens are rows from…from+n of a forward of `of` tokens, whose kinds they keep. */
  constructor(parts: readonly { n: number; from: number; of: number }[]) {
    const kindOf = parts.map((p) => Array.from({ length: p.n }, (_, t) => rowKindAt(p.from + t, p.of)));
    for (const ks of kindOf) for (const k of ks) this.kinds[k]++;
    const next = { tile: 0, stream: this.kinds.tile, single: this.kinds.tile + this.kinds.stream };
    this.rows = kindOf.map((ks) => Int32Array.from(ks, (k) => next[k]++));
    this.first = this.rows.map((r) => (r.every((v, t) => v === r[0]! + t) ? r[0]! : -1));
  }

  get total(): number {
    return this.kinds.tile + this.kinds.stream + this.kinds.single;
  }

  /** Part p's rows of `a` (width floats each) as one contiguous array: a view when they are consecutive, else copied into `tmp(floats)`. */
  gather(a: Float32Array, width: number, p: number, tmp: (floats: number) => Float32Array): Float32Array {
    const rows = this.rows[p]!;
    const f = this.first[p]!;
    if (f >= 0) return a.subarray(f * width, (f + rows.length) * width);
    const out = tmp(rows.length * width);
    rows.forEach((r, t) => out.set(a.subarray(r * width, (r + 1) * width), t * width));
    return out.subarray(0, rows.length * width);
  }

  /** Writes part p's contiguous rows `src` back to their batch rows of `a` (nothing to do for a view of `a`). */
  scatter(src: Float32Array, a: Float32Array, width: number, p: number): void {
    if (this.first[p]! >= 0) return;
    this.rows[p]!.forEach((r, t) => a.set(src.subarray(t * width, (t + 1) * width), r * width));
  }
}
