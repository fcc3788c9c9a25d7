/**
 * Reorders the rows of a q or k projection (or bias, cols = 1) from the HF half-split rope layout
 * to interleaved pairs, per head: half row j·(d/2)+i becomes row 2i+j. This is llama.cpp's
 * converter permutation, so GGUF llama and llama2.c files rotate the same pairs as HF models.
 * `cols` is a row's length in elements of `w` (bytes, for a matrix already encoded).
 */
export function halfToInterleaved<T extends Float32Array | Uint8Array>(w: T, nHeads: number, headDim: number, cols: number): T {
  const out = w.slice() as T; // every row is overwritten
  const half = headDim / 2;
  for (let h = 0; h < nHeads; h++)
    for (let j = 0; j < 2; j++)
      for (let i = 0; i < half; i++) {
        const from = (h * headDim + j * half + i) * cols;
        out.set(w.subarray(from, from + cols), (h * headDim + 2 * i + j) * cols);
      }
  return out;
}

/** The inverse of `halfToInterleaved`: interleaved row 2i+j goes back to half row j·(d/2)+i (exporting a llama2.c / GGUF model as HF). */
export function interleavedToHalf<T extends Float32Array | Uint8Array>(w: T, nHeads: number, headDim: number, cols: number): T {
  const out = w.slice() as T; // every row is overwritten
  const half = headDim / 2;
  for (let h = 0; h < nHeads; h++)
    for (let j = 0; j < 2; j++)
      for (let i = 0; i < half; i++) {
        const from = (h * headDim + 2 * i + j) * cols;
        out.set(w.subarray(from, from + cols), (h * headDim + j * half + i) * cols);
      }
  return out;
}
