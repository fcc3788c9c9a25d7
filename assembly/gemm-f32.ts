import { dotF32, finishF32, hsum } from './dot';

// Register-blocked f32 GEMM over a block of weight rows small enough to stay in L2:
// out[t][rBase + r] = x[t] · w[r]. 4 tokens × 2 rows per tile (8 accumulators, 12 live registers,
// below x64's 16) on packed operands, summed in dotF32's order; tokens past the last group of 4
// (and decode's single token) stream one row at a time.

/**
 * 4 tokens × 2 rows from packed operands (see packX / packPairs): each k-step reads 64 bytes of x
 * and 32 of w at one moving pointer each, so the loop spends its slots on loads and arithmetic
 * rather than on address adds. The scalar tail (cols % 4) reads the unpacked rows.
 */
@inline function tile4x2(px: usize, pw: usize, x: usize, xs: usize, w: usize, ws: usize, k4: i32, cols: i32, o: usize, os: usize): void {
  let a00 = f32x4.splat(0), a01 = f32x4.splat(0), a10 = f32x4.splat(0), a11 = f32x4.splat(0);
  let a20 = f32x4.splat(0), a21 = f32x4.splat(0), a30 = f32x4.splat(0), a31 = f32x4.splat(0);
  const w1 = w + ws;
  const x1 = x + xs, x2 = x1 + xs, x3 = x2 + xs;
  const pend = pw + (<usize>k4 << 3);
  while (pw < pend) {
    const u = v128.load(pw), v = v128.load(pw, 16);
    let xv = v128.load(px);
    a00 = f32x4.add(a00, f32x4.mul(xv, u));
    a01 = f32x4.add(a01, f32x4.mul(xv, v));
    xv = v128.load(px, 16);
    a10 = f32x4.add(a10, f32x4.mul(xv, u));
    a11 = f32x4.add(a11, f32x4.mul(xv, v));
    xv = v128.load(px, 32);
    a20 = f32x4.add(a20, f32x4.mul(xv, u));
    a21 = f32x4.add(a21, f32x4.mul(xv, v));
    xv = v128.load(px, 48);
    a30 = f32x4.add(a30, f32x4.mul(xv, u));
    a31 = f32x4.add(a31, f32x4.mul(xv, v));
    px += 64;
    pw += 32;
  }
  store<f32>(o, finishF32(a00, x, w, k4, cols));
  store<f32>(o + 4, finishF32(a01, x, w1, k4, cols));
  store<f32>(o + os, finishF32(a10, x1, w, k4, cols));
  store<f32>(o + os + 4, finishF32(a11, x1, w1, k4, cols));
  store<f32>(o + 2 * os, finishF32(a20, x2, w, k4, cols));
  store<f32>(o + 2 * os + 4, finishF32(a21, x2, w1, k4, cols));
  store<f32>(o + 3 * os, finishF32(a30, x3, w, k4, cols));
  store<f32>(o + 3 * os + 4, finishF32(a31, x3, w1, k4, cols));
}

/**
 * Packs x (n × cols) for tile4x2: per group of 4 tokens, per k-step of 4, the 4 tokens' 16 bytes
 * side by side (group g starts at dst + g·k4·16). Tokens past the last whole group are not packed.
 */
export function packX(x: usize, n: i32, cols: i32, dst: usize): void {
  const k4 = cols & ~3;
  const xs = <usize>cols << 2;
  for (let g = 0; g + 4 <= n; g += 4)
    for (let k = 0; k < k4; k += 4)
      for (let u = 0; u < 4; u++) v128.store(dst + (<usize>g * k4 + (<usize>k << 2) + <usize>(u << 2)) * 4, v128.load(x + <usize>(g + u) * xs + (<usize>k << 2)));
}

/** Packs pairs of f32 rows for tile4x2: per pair, per k-step, the two rows' 16 bytes side by side. */
function packPairs(w: usize, count: i32, cols: i32, dst: usize): void {
  const k4 = cols & ~3;
  const ws = <usize>cols << 2;
  for (let r = 0; r + 2 <= count; r += 2) {
    const d = dst + <usize>r * (<usize>k4 << 2);
    const w0 = w + <usize>r * ws;
    for (let k = 0; k < k4; k += 4) {
      v128.store(d + (<usize>k << 3), v128.load(w0 + (<usize>k << 2)));
      v128.store(d + (<usize>k << 3), v128.load(w0 + ws + (<usize>k << 2)), 16);
    }
  }
}

/**
 * One token · one row for decode: a single stream through the row with four accumulators over
 * 16-float steps (the hardware prefetcher streams one row faster than four interleaved ones).
 * Its own summation order: the result may differ in the last bits from the GEMM tiles' order.
 */
@inline function rowDot(x: usize, w: usize, cols: i32): f32 {
  const k16 = cols & ~15;
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  const end = w + (<usize>k16 << 2);
  let xp = x;
  for (let wp = w; wp < end; wp += 64) {
    a0 = f32x4.add(a0, f32x4.mul(v128.load(xp), v128.load(wp)));
    a1 = f32x4.add(a1, f32x4.mul(v128.load(xp, 16), v128.load(wp, 16)));
    a2 = f32x4.add(a2, f32x4.mul(v128.load(xp, 32), v128.load(wp, 32)));
    a3 = f32x4.add(a3, f32x4.mul(v128.load(xp, 48), v128.load(wp, 48)));
    xp += 64;
  }
  let s = hsum(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)));
  for (let k = k16; k < cols; k++) s += load<f32>(x + (<usize>k << 2)) * load<f32>(w + (<usize>k << 2));
  return s;
}

/**
 * n tokens × `count` contiguous f32 weight rows starting at `w`; results go to out columns
 * rBase… of an n × rows output. `px` is x packed by packX (used when n ≥ 4); `pack` is this
 * thread's room for the block's packed row pairs (count × cols floats).
 */
export function gemmF32Block(out: usize, x: usize, px: usize, n: i32, w: usize, rows: i32, cols: i32, rBase: i32, count: i32, pack: usize): void {
  const k4 = cols & ~3;
  const xs = <usize>cols << 2;
  const os = <usize>rows << 2;
  let t = 0;
  if (n >= 4) packPairs(w, count, cols, pack);
  for (; t + 4 <= n; t += 4) {
    const xt = x + <usize>t * xs;
    const pxt = px + <usize>t * (<usize>k4 << 2);
    const ot = out + <usize>t * os + (<usize>rBase << 2);
    let r = 0;
    for (; r + 2 <= count; r += 2) tile4x2(pxt, pack + <usize>r * (<usize>k4 << 2), xt, xs, w + <usize>r * xs, xs, k4, cols, ot + (<usize>r << 2), os);
    for (; r < count; r++)
      for (let u = 0; u < 4; u++) store<f32>(ot + <usize>u * os + (<usize>r << 2), dotF32(xt + <usize>u * xs, w + <usize>r * xs, cols));
  }
  if (t < n) streamRows(out + <usize>t * os, x + <usize>t * xs, n - t, w, rows, cols, rBase, count);
}

/** n tokens × `count` f32 weight rows from `w`, each product one rowDot; results to out columns rBase… of n × rows. */
export function streamRows(out: usize, x: usize, n: i32, w: usize, rows: i32, cols: i32, rBase: i32, count: i32): void {
  const xs = <usize>cols << 2;
  const os = <usize>rows << 2;
  for (let t = 0; t < n; t++) {
    const xt = x + <usize>t * xs;
    const ot = out + <usize>t * os + (<usize>rBase << 2);
    for (let r = 0; r < count; r++) store<f32>(ot + (<usize>r << 2), rowDot(xt, w + <usize>r * xs, cols));
  }
}
