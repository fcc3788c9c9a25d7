// The benchmark's memory-bandwidth probe: every thread streams its share of a buffer through
// SIMD loads, as a bandwidth-bound matvec would, so the decode ceiling is measured, not assumed.

/** Sums chunk `chunk` of `chunks` (64-byte aligned ranges) of `bytes` at p as f32 lanes; the sum goes to out[chunk] so the loads cannot be dropped. */
export function readProbe(p: usize, bytes: usize, out: usize, chunk: i32, chunks: i32): void {
  const lines = bytes >> 6;
  const per = (lines + <usize>chunks - 1) / <usize>chunks;
  const first = min(lines, <usize>chunk * per);
  const end = p + (min(lines, first + per) << 6);
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  for (let q = p + (first << 6); q < end; q += 64) {
    a0 = f32x4.add(a0, v128.load(q));
    a1 = f32x4.add(a1, v128.load(q, 16));
    a2 = f32x4.add(a2, v128.load(q, 32));
    a3 = f32x4.add(a3, v128.load(q, 48));
  }
  v128.store(out + (<usize>chunk << 4), f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)));
}
