import { f16ToF32, f32ToF16 } from '../dequant.js';

// Reference quantisers for q4_K, q6_K and q5_0 following ggml's quantize_row_*_ref (what
// llama-quantize runs without an importance matrix): the same scale searches, in float32 steps,
// so that our files carry the codes llama.cpp would have chosen up to float rounding.

const f = Math.fround;
/** ggml's nearest_int: the float32 value rounded half to even (the 1.5·2^23 addition trick). */
const nearestInt = (v: number) => f(f(v) + 12582912) - 12582912;
/** ggml's GROUP_MAX_EPS: below this a group counts as all zero. */
const GROUP_MAX_EPS = 1e-15;

/**
 * ggml's make_qkx2_quants: codes L[i] ∈ [0, nmax] and a (scale, min) pair for x ≈ scale·L − min,
 * minimising Σ w·|err| (use_mad) or Σ w·err² over nstep + 1 trial scales around nmax/(max − min).
 * Returns [scale, min] with min ≥ 0 (subtracted).
 */
function scaleMinSearch(x: Float32Array, w: Float32Array, nmax: number, L: Uint8Array, rmin: number, rdelta: number, nstep: number, useMad: boolean): [number, number] {
  const n = x.length;
  let min = x[0]!;
  let max = x[0]!;
  let sumW = w[0]!;
  let sumX = f(sumW * x[0]!);
  for (let i = 1; i < n; i++) {
    min = Math.min(min, x[i]!);
    max = Math.max(max, x[i]!);
    sumW = f(sumW + w[i]!);
    sumX = f(sumX + f(w[i]! * x[i]!));
  }
  if (min > 0) min = 0;
  if (max === min) {
    L.fill(0);
    return [0, -min];
  }
  const err = (v: number) => (useMad ? Math.abs(v) : f(v * v));
  let iscale = f(nmax / f(max - min));
  let scale = f(1 / iscale);
  let best = 0;
  for (let i = 0; i < n; i++) {
    L[i] = Math.max(0, Math.min(nmax, nearestInt(f(iscale * f(x[i]! - min)))));
    best = f(best + f(w[i]! * err(f(f(f(scale * L[i]!) + min) - x[i]!))));
  }
  const aux = new Uint8Array(n);
  for (let is = 0; is <= nstep; is++) {
    iscale = f(f(f(rmin + f(rdelta * is)) + nmax) / f(max - min));
    let sumL = 0;
    let sumL2 = 0;
    let sumXL = 0;
    for (let i = 0; i < n; i++) {
      const l = Math.max(0, Math.min(nmax, nearestInt(f(iscale * f(x[i]! - min)))));
      aux[i] = l;
      sumL = f(sumL + f(w[i]! * l));
      sumL2 = f(sumL2 + f(f(w[i]! * l) * l));
      sumXL = f(sumXL + f(f(w[i]! * l) * x[i]!));
    }
    const D = f(f(sumW * sumL2) - f(sumL * sumL));
    if (D <= 0) continue;
    let thisScale = f(f(f(sumW * sumXL) - f(sumX * sumL)) / D);
    let thisMin = f(f(f(sumL2 * sumX) - f(sumL * sumXL)) / D);
    if (thisMin > 0) {
      thisMin = 0;
      thisScale = f(sumXL / sumL2);
    }
    let e = 0;
    for (let i = 0; i < n; i++) e = f(e + f(w[i]! * err(f(f(f(thisScale * aux[i]!) + thisMin) - x[i]!))));
    if (e < best) {
      L.set(aux);
      best = e;
      scale = thisScale;
      min = thisMin;
    }
  }
  return [scale, -min];
}

/** Packs q4_K's eight 6-bit scales and mins into 12 bytes at `at` (the inverse of kScaleMin). */
function packScaleMin(out: Uint8Array, at: number, ls: number[], lm: number[]): void {
  for (let j = 0; j < 8; j++) {
    if (j < 4) {
      out[at + j] = ls[j]!;
      out[at + j + 4] = lm[j]!;
    } else {
      out[at + j + 4] = (ls[j]! & 15) | ((lm[j]! & 15) << 4);
      out[at + j - 4]! |= (ls[j]! >> 4) << 6;
      out[at + j]! |= (lm[j]! >> 4) << 6;
    }
  }
}

/** ggml's quantize_row_q4_K_ref: per sub-block of 32 a weighted scale/min search, then both quantised to 6 bits against the super-block's largest. */
export function quantizeQ4K(x: Float32Array): Uint8Array {
  const nb = x.length / 256;
  const out = new Uint8Array(nb * 144);
  const dv = new DataView(out.buffer);
  const L = new Uint8Array(256);
  const w = new Float32Array(32);
  for (let b = 0; b < nb; b++) {
    const xb = x.subarray(b * 256, (b + 1) * 256);
    const scales: number[] = [];
    const mins: number[] = [];
    for (let j = 0; j < 8; j++) {
      const xs = xb.subarray(j * 32, j * 32 + 32);
      let sumX2 = 0;
      for (let l = 0; l < 32; l++) sumX2 = f(sumX2 + f(xs[l]! * xs[l]!));
      const av = f(Math.sqrt(f(sumX2 / 32)));
      for (let l = 0; l < 32; l++) w[l] = f(av + Math.abs(xs[l]!));
      const [s, m] = scaleMinSearch(xs, w, 15, L.subarray(j * 32, j * 32 + 32), -1, 0.1, 20, false);
      scales.push(s);
      mins.push(m);
    }
    const maxScale = Math.max(0, ...scales);
    const maxMin = Math.max(0, ...mins);
    const invScale = maxScale > 0 ? f(63 / maxScale) : 0;
    const invMin = maxMin > 0 ? f(63 / maxMin) : 0;
    // (uint8_t) of the rounded value, then at most 63: as ggml stores them.
    const ls = scales.map((s) => Math.min(63, nearestInt(f(invScale * s)) & 255));
    const lm = mins.map((m) => Math.min(63, nearestInt(f(invMin * m)) & 255));
    const p = b * 144;
    packScaleMin(out, p + 4, ls, lm);
    const dBits = f32ToF16(f(maxScale / 63));
    const mBits = f32ToF16(f(maxMin / 63));
    dv.setUint16(p, dBits, true);
    dv.setUint16(p + 2, mBits, true);
    for (let j = 0; j < 8; j++) {
      const d = f(f16ToF32(dBits) * ls[j]!);
      if (!d) continue; // keeps the search's codes
      const dm = f(f16ToF32(mBits) * lm[j]!);
      for (let l = 0; l < 32; l++) L[j * 32 + l] = Math.max(0, Math.min(15, nearestInt(f(f(xb[j * 32 + l]! + dm) / d))));
    }
    for (let c = 0; c < 4; c++) for (let l = 0; l < 32; l++) out[p + 16 + c * 32 + l] = L[c * 64 + l]! | (L[c * 64 + 32 + l]! << 4);
  }
  return out;
}

/**
 * ggml's make_qx_quants with rmse_type 1 and no importance: symmetric codes L[i] ∈ [0, 2·nmax)
 * (value L − nmax) and the scale minimising Σ x²·err² over 19 trial scales around nmax/max.
 */
function symmetricSearch(x: Float32Array, nmax: number, L: Uint8Array): number {
  let max = 0;
  let amax = 0;
  for (const v of x)
    if (Math.abs(v) > amax) {
      amax = Math.abs(v);
      max = v;
    }
  if (amax < GROUP_MAX_EPS) {
    L.fill(0);
    return 0;
  }
  const code = (iscale: number, v: number) => Math.max(-nmax, Math.min(nmax - 1, nearestInt(f(iscale * v))));
  const sums = (iscale: number): [number, number] => {
    let sumLX = 0;
    let sumL2 = 0;
    for (const v of x) {
      const l = code(iscale, v);
      const w = f(v * v);
      sumLX = f(sumLX + f(f(w * v) * l));
      sumL2 = f(sumL2 + f(f(w * l) * l));
    }
    return [sumLX, sumL2];
  };
  let iscale = f(-nmax / max);
  x.forEach((v, i) => (L[i] = nmax + code(iscale, v)));
  let [sumLX, sumL2] = sums(iscale);
  let scale = sumL2 ? f(sumLX / sumL2) : 0;
  let best = f(scale * sumLX);
  for (let is = -9; is <= 9; is++) {
    if (is === 0) continue;
    iscale = f(-f(nmax + f(0.1 * is)) / max);
    [sumLX, sumL2] = sums(iscale);
    if (sumL2 > 0 && f(sumLX * sumLX) > f(best * sumL2)) {
      const s = iscale;
      x.forEach((v, i) => (L[i] = nmax + code(s, v)));
      scale = f(sumLX / sumL2);
      best = f(scale * sumLX);
    }
  }
  return scale;
}

/** ggml's quantize_row_q6_K_ref: a symmetric 6-bit search per 16 elements, scales to int8 against the largest. */
export function quantizeQ6K(x: Float32Array): Uint8Array {
  const nb = x.length / 256;
  const out = new Uint8Array(nb * 210);
  const dv = new DataView(out.buffer);
  const L = new Uint8Array(256);
  for (let b = 0; b < nb; b++) {
    const xb = x.subarray(b * 256, (b + 1) * 256);
    const p = b * 210;
    const scales: number[] = [];
    let maxScale = 0;
    let maxAbs = 0;
    for (let ib = 0; ib < 16; ib++) {
      const s = symmetricSearch(xb.subarray(ib * 16, ib * 16 + 16), 32, L.subarray(ib * 16, ib * 16 + 16));
      scales.push(s);
      if (Math.abs(s) > maxAbs) {
        maxAbs = Math.abs(s);
        maxScale = s;
      }
    }
    if (maxAbs < GROUP_MAX_EPS) continue; // an all-zero block: zero bytes
    const iscale = f(-128 / maxScale);
    const dBits = f32ToF16(f(1 / iscale));
    dv.setUint16(p + 208, dBits, true);
    for (let ib = 0; ib < 16; ib++) {
      const sc = Math.min(127, nearestInt(f(iscale * scales[ib]!)));
      dv.setInt8(p + 192 + ib, sc);
      const d = f(f16ToF32(dBits) * sc);
      if (!d) continue;
      for (let i = 0; i < 16; i++) L[ib * 16 + i] = 32 + Math.max(-32, Math.min(31, nearestInt(f(xb[ib * 16 + i]! / d))));
    }
    for (let h = 0; h < 2; h++)
      for (let l = 0; l < 32; l++) {
        const q = (g: number) => L[h * 128 + g * 32 + l]!;
        out[p + h * 64 + l] = (q(0) & 15) | ((q(2) & 15) << 4);
        out[p + h * 64 + 32 + l] = (q(1) & 15) | ((q(3) & 15) << 4);
        out[p + 128 + h * 32 + l] = (q(0) >> 4) | ((q(1) >> 4) << 2) | ((q(2) >> 4) << 4) | ((q(3) >> 4) << 6);
      }
  }
  return out;
}

/** ggml's quantize_row_q5_0_ref: d = (value of largest magnitude) / −16, q = min(31, trunc(x/d + 16.5)), the fifth bits in a u32. */
export function quantizeQ5_0(x: Float32Array): Uint8Array {
  const nb = x.length / 32;
  const out = new Uint8Array(nb * 22);
  const dv = new DataView(out.buffer);
  for (let b = 0; b < nb; b++) {
    let amax = 0;
    let max = 0;
    for (let i = 0; i < 32; i++) {
      const v = x[b * 32 + i]!;
      if (Math.abs(v) > amax) {
        amax = Math.abs(v);
        max = v;
      }
    }
    const d = f(max / -16);
    const id = d ? f(1 / d) : 0;
    const p = b * 22;
    dv.setUint16(p, f32ToF16(d), true);
    let qh = 0;
    const q = (v: number) => Math.min(31, Math.trunc(f(f(v * id) + 16.5)));
    for (let j = 0; j < 16; j++) {
      const lo = q(x[b * 32 + j]!);
      const hi = q(x[b * 32 + 16 + j]!);
      out[p + 6 + j] = (lo & 15) | ((hi & 15) << 4);
      qh |= ((lo >> 4) << j) | ((hi >> 4) << (j + 16));
    }
    dv.setUint32(p + 2, qh >>> 0, true);
  }
  return out;
}
