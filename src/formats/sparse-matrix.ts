import { dequantize, toFloat32 } from './dequant.js';
import { FormatError } from './format-error.js';
import type { DType } from './tensor.js';

/**
 * kvtrim's sparse matrix encoding, version 1 (docs/sparse-format.md). A pruned rows × cols matrix is
 * one byte blob, every section little-endian:
 *
 *   offsets  u32 × (rows + 1)        row r's values are slots offsets[r] … offsets[r+1]
 *   masks    u16 × rows × ⌈cols/16⌉  bit j of word w: column 16w + j is stored (kept)
 *   scales   f16 × rows × cols/32    q8_0 / q4_0 only: each dense 32-column block's d, as ggml stores it
 *   values   the kept values in column order: f32, f16 or bf16 bits, q8_0 int8 codes, or q4_0 codes two
 *            per byte (low nibble first), each 32-column block's count padded to even
 *   pad      16 zero bytes, so SIMD loads of the last values stay inside the blob, then zero bytes up
 *            to a multiple of 8 (tensors after the blob stay aligned in the file)
 *
 * A column whose bit is clear holds zero (the dtype's zero code). The n:m layout promises exactly
 * m − n kept columns in every group of m (m divides 16); 'unstructured' promises nothing. Decoding
 * a blob gives the dense matrix's bytes back exactly, so the kernels that read it can compute what
 * they compute on the dense-with-zeros matrix.
 */
export type SparseLayout = { kind: 'nm'; n: number; m: number } | { kind: 'unstructured' };

/** Value dtypes a sparse blob may hold. */
export const SPARSE_VALUE_DTYPES: readonly DType[] = ['f32', 'f16', 'bf16', 'q8_0', 'q4_0'];
/** Zero bytes after the values, at least. */
export const SPARSE_PAD_BYTES = 16;

/** Where each section of a blob starts, given the total slot count. */
export interface SparseSections {
  masks: number;
  scales: number;
  values: number;
  /** Where the values end (the pad starts). */
  valuesEnd: number;
  /** Total blob bytes, pad included. */
  bytes: number;
}

const quantized = (dtype: DType) => dtype === 'q8_0' || dtype === 'q4_0';
const VALUE_BYTES: Partial<Record<DType, number>> = { f32: 4, f16: 2, bf16: 2, q8_0: 1 };

/** Section offsets of a blob with `slots` value slots. */
export function sparseSections(dtype: DType, rows: number, cols: number, slots: number): SparseSections {
  const words = Math.ceil(cols / 16);
  const masks = 4 * (rows + 1);
  const scales = masks + 2 * rows * words;
  const values = scales + (quantized(dtype) ? 2 * rows * (cols / 32) : 0);
  const valueBytes = dtype === 'q4_0' ? slots / 2 : slots * VALUE_BYTES[dtype]!;
  const valuesEnd = values + valueBytes;
  return { masks, scales, values, valuesEnd, bytes: Math.ceil((valuesEnd + SPARSE_PAD_BYTES) / 8) * 8 };
}

/** `2:4` or `unstructured`. */
export function sparseLayoutLabel(layout: SparseLayout): string {
  return layout.kind === 'nm' ? `${layout.n}:${layout.m}` : 'unstructured';
}

/** Parses a layout label; undefined when it is not one. */
export function parseSparseLayout(label: string): SparseLayout | undefined {
  if (label === 'unstructured') return { kind: 'unstructured' };
  const match = /^(\d{1,2}):(\d{1,2})$/.exec(label);
  if (!match) return undefined;
  const n = Number(match[1]);
  const m = Number(match[2]);
  return n >= 1 && n < m && 16 % m === 0 ? { kind: 'nm', n, m } : undefined;
}

/** Whether a matrix of this dtype and width can be stored in the layout. */
export function sparseFits(dtype: DType, cols: number, layout: SparseLayout): boolean {
  return SPARSE_VALUE_DTYPES.includes(dtype) && (!quantized(dtype) || cols % 32 === 0) && (layout.kind !== 'nm' || (16 % layout.m === 0 && cols % layout.m === 0));
}

/** Reads the dense matrix's element codes: a code is "zero" exactly when the dense value is the dtype's zero (+0.0, q8 code 0, q4 code 8). */
interface DenseCodes {
  isZero(r: number, c: number): boolean;
}

function denseCodes(dtype: DType, dense: Uint8Array, cols: number): DenseCodes {
  const dv = new DataView(dense.buffer, dense.byteOffset, dense.byteLength);
  const blocks = cols / 32;
  switch (dtype) {
    case 'f32':
      return { isZero: (r, c) => dv.getUint32((r * cols + c) * 4, true) === 0 };
    case 'f16':
    case 'bf16':
      return { isZero: (r, c) => dv.getUint16((r * cols + c) * 2, true) === 0 };
    case 'q8_0':
      return { isZero: (r, c) => dense[(r * blocks + (c >> 5)) * 34 + 2 + (c & 31)] === 0 };
    case 'q4_0':
      return { isZero: (r, c) => q4Code(dense, (r * blocks + (c >> 5)) * 18, c & 31) === 8 };
    default:
      throw new RangeError(`no sparse encoding for ${dtype}`);
  }
}

/** Code of element i (0…31) of the q4_0 block at byte p: low nibbles hold elements 0…15, high nibbles 16…31. */
const q4Code = (q: Uint8Array, p: number, i: number) => (i < 16 ? q[p + 2 + i]! & 15 : q[p + 2 + i - 16]! >> 4);

/**
 * Encodes a dense matrix (bytes in `dtype`, rows × cols) as a sparse blob. Unstructured keeps every
 * non-zero code; n:m keeps the non-zero codes of each group and fills up to m − n with its first zero
 * ones. Throws a RangeError when a group holds more non-zero values than n:m keeps.
 */
export function encodeSparse(dtype: DType, dense: Uint8Array, rows: number, cols: number, layout: SparseLayout): Uint8Array {
  if (!sparseFits(dtype, cols, layout)) throw new RangeError(`a ${rows}×${cols} ${dtype} matrix cannot be stored sparse as ${sparseLayoutLabel(layout)}`);
  const codes = denseCodes(dtype, dense, cols);
  const words = Math.ceil(cols / 16);
  const masks = new Uint16Array(rows * words);
  const offsets = new Uint32Array(rows + 1);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) if (!codes.isZero(r, c)) masks[r * words + (c >> 4)]! |= 1 << (c & 15);
    if (layout.kind === 'nm') {
      const keep = layout.m - layout.n;
      for (let g = 0; g < cols; g += layout.m) {
        let kept = 0;
        for (let c = g; c < g + layout.m; c++) kept += (masks[r * words + (c >> 4)]! >> (c & 15)) & 1;
        if (kept > keep) throw new RangeError(`row ${r}, columns ${g}…${g + layout.m - 1}: ${kept} non-zero values, the ${sparseLayoutLabel(layout)} layout keeps ${keep}`);
        for (let c = g; c < g + layout.m && kept < keep; c++)
          if (!((masks[r * words + (c >> 4)]! >> (c & 15)) & 1)) {
            masks[r * words + (c >> 4)]! |= 1 << (c & 15);
            kept++;
          }
      }
    }
    offsets[r + 1] = offsets[r]! + rowSlots(dtype, masks, r * words, cols);
  }
  const s = sparseSections(dtype, rows, cols, offsets[rows]!);
  const blob = new Uint8Array(s.bytes);
  const dv = new DataView(blob.buffer);
  for (let r = 0; r <= rows; r++) dv.setUint32(4 * r, offsets[r]!, true);
  for (let i = 0; i < masks.length; i++) dv.setUint16(s.masks + 2 * i, masks[i]!, true);
  writeValues(dtype, dense, rows, cols, masks, offsets, s, blob);
  return blob;
}

/** Value slots of one row: its kept columns, each q4_0 block's count rounded up to even. */
function rowSlots(dtype: DType, masks: ArrayLike<number>, at: number, cols: number): number {
  let slots = 0;
  if (dtype === 'q4_0') {
    for (let b = 0; b < cols / 32; b++) {
      const kept = popcount16(masks[at + 2 * b]!) + popcount16(masks[at + 2 * b + 1]!);
      slots += kept + (kept & 1);
    }
    return slots;
  }
  for (let w = 0; w < Math.ceil(cols / 16); w++) slots += popcount16(masks[at + w]!);
  return slots;
}

function popcount16(x: number): number {
  x -= (x >> 1) & 0x5555;
  x = (x & 0x3333) + ((x >> 2) & 0x3333);
  x = (x + (x >> 4)) & 0x0f0f;
  return (x + (x >> 8)) & 0x1f;
}

function writeValues(dtype: DType, dense: Uint8Array, rows: number, cols: number, masks: Uint16Array, offsets: Uint32Array, s: SparseSections, blob: Uint8Array): void {
  const words = Math.ceil(cols / 16);
  const blocks = cols / 32;
  const kept = (r: number, c: number) => (masks[r * words + (c >> 4)]! >> (c & 15)) & 1;
  for (let r = 0; r < rows; r++) {
    let slot = offsets[r]!;
    if (dtype === 'f32' || dtype === 'f16' || dtype === 'bf16') {
      const size = VALUE_BYTES[dtype]!;
      for (let c = 0; c < cols; c++)
        if (kept(r, c)) blob.set(dense.subarray((r * cols + c) * size, (r * cols + c + 1) * size), s.values + size * slot++);
      continue;
    }
    for (let b = 0; b < blocks; b++) {
      const p = (r * blocks + b) * DENSE_BLOCK_BYTES[dtype]!;
      blob[s.scales + 2 * (r * blocks + b)] = dense[p]!;
      blob[s.scales + 2 * (r * blocks + b) + 1] = dense[p + 1]!;
      for (let i = 0; i < 32; i++) {
        if (!kept(r, b * 32 + i)) continue;
        if (dtype === 'q8_0') blob[s.values + slot++] = dense[p + 2 + i]!;
        else blob[s.values + (slot >> 1)]! |= q4Code(dense, p, i) << (4 * (slot++ & 1));
      }
      if (dtype === 'q4_0') slot += slot & 1;
    }
  }
}

const DENSE_BLOCK_BYTES: Partial<Record<DType, number>> = { q8_0: 34, q4_0: 18 };

/** A sparse blob's dense bytes in its dtype: the exact inverse of `encodeSparse` (zeros where nothing is stored). */
export function decodeSparse(dtype: DType, blob: Uint8Array, rows: number, cols: number): Uint8Array {
  const rowBytes = denseRowBytes(dtype, cols);
  const out = new Uint8Array(rows * rowBytes);
  for (let r = 0; r < rows; r++) decodeSparseRow(dtype, blob, rows, cols, r, out.subarray(r * rowBytes, (r + 1) * rowBytes));
  return out;
}

/** Bytes of one dense row of `cols` elements. */
function denseRowBytes(dtype: DType, cols: number): number {
  return dtype === 'q8_0' || dtype === 'q4_0' ? (cols / 32) * DENSE_BLOCK_BYTES[dtype]! : cols * VALUE_BYTES[dtype]!;
}

/** Row r of a sparse blob as dense bytes in its dtype, written to `out` (one row's bytes). */
export function decodeSparseRow(dtype: DType, blob: Uint8Array, rows: number, cols: number, r: number, out: Uint8Array): void {
  const dv = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const words = Math.ceil(cols / 16);
  const s = sparseSections(dtype, rows, cols, 0);
  const kept = (c: number) => (dv.getUint16(s.masks + 2 * (r * words + (c >> 4)), true) >> (c & 15)) & 1;
  let slot = dv.getUint32(4 * r, true);
  out.fill(0);
  if (dtype === 'f32' || dtype === 'f16' || dtype === 'bf16') {
    const size = VALUE_BYTES[dtype]!;
    for (let c = 0; c < cols; c++)
      if (kept(c)) out.set(blob.subarray(s.values + size * slot, s.values + size * ++slot), c * size);
    return;
  }
  const blocks = cols / 32;
  const bb = DENSE_BLOCK_BYTES[dtype]!;
  for (let b = 0; b < blocks; b++) {
    out[b * bb] = blob[s.scales + 2 * (r * blocks + b)]!;
    out[b * bb + 1] = blob[s.scales + 2 * (r * blocks + b) + 1]!;
    if (dtype === 'q4_0') out.fill(0x88, b * bb + 2, (b + 1) * bb); // code 8 is q4_0's zero
    for (let i = 0; i < 32; i++) {
      if (!kept(b * 32 + i)) continue;
      if (dtype === 'q8_0') out[b * bb + 2 + i] = blob[s.values + slot++]!;
      else {
        const code = (blob[s.values + (slot >> 1)]! >> (4 * (slot++ & 1))) & 15;
        const at = b * bb + 2 + (i & 15);
        out[at] = i < 16 ? (out[at]! & 0xf0) | code : (out[at]! & 0x0f) | (code << 4);
      }
    }
    if (dtype === 'q4_0') slot += slot & 1;
  }
}

/** A matrix as float32, dense or sparse (the same values the dense-with-zeros matrix decodes to). */
export function matrixToFloat32(m: { rows: number; cols: number; dtype: DType; data: Uint8Array; sparse?: SparseLayout }): Float32Array {
  const dense = m.sparse ? decodeSparse(m.dtype, m.data, m.rows, m.cols) : m.data;
  return toFloat32(m.dtype, dense, m.rows * m.cols);
}

/** Kept value slots of a blob (offsets[rows]); throws a RangeError when the blob is too short to say. */
export function sparseSlots(blob: Uint8Array, rows: number): number {
  if (blob.byteLength < 4 * (rows + 1)) throw new RangeError(`sparse blob of ${blob.byteLength} bytes is too short for ${rows + 1} row offsets`);
  return new DataView(blob.buffer, blob.byteOffset, blob.byteLength).getUint32(4 * rows, true);
}

/** Columns a blob stores (its mask bits), over all rows. */
export function sparseKeptCount(dtype: DType, blob: Uint8Array, rows: number, cols: number): number {
  const dv = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const masks = sparseSections(dtype, rows, cols, 0).masks;
  let kept = 0;
  for (let i = 0; i < rows * Math.ceil(cols / 16); i++) kept += popcount16(dv.getUint16(masks + 2 * i, true));
  return kept;
}

/**
 * Validates a blob read from `file` before anything indexes it: dtype and layout fit the shape, the
 * row offsets start at 0 and advance by exactly each row's kept count, no mask bit names a column
 * past the row's end, an n:m group keeps exactly m − n, and the values (and pad) end exactly where
 * the blob does. Any violation is a FormatError naming the tensor.
 */
export function checkSparse(file: string, name: string, dtype: DType, rows: number, cols: number, layout: SparseLayout, blob: Uint8Array): void {
  const fail = (problem: string): never => {
    throw new FormatError(file, `sparse tensor ${name}: ${problem}`);
  };
  if (!SPARSE_VALUE_DTYPES.includes(dtype)) fail(`value dtype ${dtype} cannot be stored sparse (${SPARSE_VALUE_DTYPES.join(', ')} can)`);
  if (!Number.isSafeInteger(rows) || !Number.isSafeInteger(cols) || rows < 1 || cols < 1) fail(`shape [${rows}, ${cols}] is not a matrix`);
  if (!sparseFits(dtype, cols, layout)) fail(`a ${cols}-column ${dtype} matrix cannot have layout ${sparseLayoutLabel(layout)}`);
  const header = sparseSections(dtype, rows, cols, 0);
  if (blob.byteLength < header.bytes) fail(`${blob.byteLength} bytes cannot hold the offsets, masks${quantized(dtype) ? ', scales' : ''} and pad of ${rows} rows (${header.bytes} bytes)`);
  const dv = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const words = Math.ceil(cols / 16);
  const masks = new Uint16Array(words);
  if (dv.getUint32(0, true) !== 0) fail(`row 0 starts at slot ${dv.getUint32(0, true)}, not 0`);
  let end = 0;
  const tailBits = cols % 16 === 0 ? 0 : 0xffff & ~((1 << (cols % 16)) - 1);
  for (let r = 0; r < rows; r++) {
    for (let w = 0; w < words; w++) masks[w] = dv.getUint16(header.masks + 2 * (r * words + w), true);
    if (masks[words - 1]! & tailBits) fail(`row ${r} keeps column ${16 * (words - 1) + 31 - Math.clz32(masks[words - 1]! & tailBits)}, past the row's ${cols} columns`);
    if (layout.kind === 'nm')
      for (let g = 0; g < cols; g += layout.m) {
        const bits = (masks[g >> 4]! >> (g & 15)) & ((1 << layout.m) - 1);
        if (popcount16(bits) !== layout.m - layout.n) fail(`row ${r}, columns ${g}…${g + layout.m - 1} keep ${popcount16(bits)}, layout ${sparseLayoutLabel(layout)} keeps ${layout.m - layout.n}`);
      }
    end += rowSlots(dtype, masks, 0, cols);
    const stated = dv.getUint32(4 * (r + 1), true);
    if (stated !== end) fail(`row ${r} ends at slot ${stated}, its mask keeps values up to slot ${end}`);
  }
  const s = sparseSections(dtype, rows, cols, end);
  if (s.bytes !== blob.byteLength)
    fail(s.bytes > blob.byteLength ? `${end} kept values run past the end of the ${blob.byteLength}-byte blob (they need ${s.bytes})` : `${blob.byteLength - s.bytes} bytes after the values and pad`);
  for (let i = s.valuesEnd; i < s.bytes; i++) if (blob[i] !== 0) fail('the pad after the values is not zero');
}

/**
 * Row r of a sparse matrix as float32, through the dense decoder, so it is the dense-with-zeros row
 * bit for bit. `scratch` holds at least 4 · cols bytes (a dense row of any value dtype).
 */
export function sparseRowToFloat32(dtype: DType, blob: Uint8Array, rows: number, cols: number, r: number, scratch: Uint8Array, out: Float32Array): void {
  const bytes = scratch.subarray(0, denseRowBytes(dtype, cols));
  decodeSparseRow(dtype, blob, rows, cols, r, bytes);
  dequantize(dtype, bytes, 0, cols, out);
}
