import type { HeadCache } from '../cache/head-cache.js';
import type { Matrix } from './matrix.js';
import { rowCount, type RowKinds } from './row-kinds.js';
import { attendLayer } from './attention.js';
import type { Backend } from './backend.js';
import { swiglu } from './swiglu.js';
import { dequantize } from '../formats/dequant.js';
import { sparseRowToFloat32 } from '../formats/sparse-matrix.js';

/** Portable plain-TypeScript backend: the oracle every faster backend is tested against. */
export class TsBackend implements Backend {
  readonly name = 'ts';
  private row = new Float32Array(0);
  private rowBytes = new Uint8Array(0);

  prepare(m: Matrix): Matrix {
    return m;
  }

  matmul(out: Float32Array, x: Float32Array, n: number, w: Matrix): void {
    const { rows, cols } = w;
    if (this.row.length < cols) {
      this.row = new Float32Array(cols);
      this.rowBytes = new Uint8Array(4 * cols);
    }
    const row = this.row;
    for (let r = 0; r < rows; r++) {
      // A sparse row decodes to the dense-with-zeros row, so both sum the same products in the same order.
      if (w.sparse) sparseRowToFloat32(w.dtype, w.data, rows, cols, r, this.rowBytes, row);
      else dequantize(w.dtype, w.data, r * cols, cols, row);
      for (let t = 0; t < n; t++) {
        const xo = t * cols;
        let s = 0;
        for (let c = 0; c < cols; c++) s += row[c]! * x[xo + c]!;
        out[t * rows + r] = s;
      }
    }
  }

  /** Every row is summed in one plain order here, so the kinds of rows change nothing. */
  matmulShared(outs: readonly Float32Array[], x: Float32Array, rows: number | RowKinds, ws: readonly Matrix[]): void {
    const n = typeof rows === 'number' ? rows : rowCount(rows);
    ws.forEach((w, i) => this.matmul(outs[i]!, x, n, w));
  }

  attend(out: Float32Array, q: Float32Array, n: number, heads: readonly HeadCache[], startPos: number, groupSize: number, window: number | undefined): void {
    attendLayer(out, q, n, heads, startPos, groupSize, window);
  }

  swiglu(gate: Float32Array, up: Float32Array, len: number): void {
    swiglu(gate, up, len);
  }

  dispose(): void {}
}
