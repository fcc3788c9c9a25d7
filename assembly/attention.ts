import { dotF32, hsum } from './dot';
import { exp4 } from './exp4';

// Causal attention of every (token, query head) of a batch over one layer's ragged per-KV-head
// cache, with online softmax over blocks of four keys: four independent dot products (so the adds
// overlap), one max and rescale per block, one four-lane exp, and one pass over the output row per
// block. No score row (let alone T × T) is ever stored.

/** q · k for four consecutive keys (stride hb bytes), one accumulator each, summed in dotF32's order. */
@inline function dots4(q: usize, k: usize, hb: usize, d: i32, scale: f32): v128 {
  const d4 = d & ~3;
  const end = <usize>d4 << 2;
  const k1 = k + hb, k2 = k1 + hb, k3 = k2 + hb;
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  for (let i: usize = 0; i < end; i += 16) {
    const qv = v128.load(q + i);
    a0 = f32x4.add(a0, f32x4.mul(qv, v128.load(k + i)));
    a1 = f32x4.add(a1, f32x4.mul(qv, v128.load(k1 + i)));
    a2 = f32x4.add(a2, f32x4.mul(qv, v128.load(k2 + i)));
    a3 = f32x4.add(a3, f32x4.mul(qv, v128.load(k3 + i)));
  }
  let s0 = hsum(a0), s1 = hsum(a1), s2 = hsum(a2), s3 = hsum(a3);
  for (let i = d4; i < d; i++) {
    const qi = load<f32>(q + (<usize>i << 2));
    const o = <usize>i << 2;
    s0 += qi * load<f32>(k + o);
    s1 += qi * load<f32>(k1 + o);
    s2 += qi * load<f32>(k2 + o);
    s3 += qi * load<f32>(k3 + o);
  }
  let s = f32x4.splat(s0 * scale);
  s = f32x4.replace_lane(s, 1, s1 * scale);
  s = f32x4.replace_lane(s, 2, s2 * scale);
  return f32x4.replace_lane(s, 3, s3 * scale);
}

@inline function visible(p: i32, pos: i32, lo: i32): bool {
  return p <= pos && p > lo;
}

/**
 * Items (token t, query head h) = t·nHeads + h, taken by chunks in turn (item % chunks == chunk) so
 * long and short rows of a causal prefill spread evenly. `desc` holds, per KV head, four i32:
 * keys, values, positions pointers and length. A query at position pos sees entries with
 * position ≤ pos and, when window > 0, position > pos − window.
 */
export function attend(q: usize, out: usize, n: i32, nHeads: i32, group: i32, headDim: i32, desc: usize, startPos: i32, window: i32, chunk: i32, chunks: i32): void {
  const scale: f32 = <f32>1 / Mathf.sqrt(<f32>headDim);
  const hb = <usize>headDim << 2;
  const d4 = headDim & ~3;
  const total = n * nHeads;
  for (let item = chunk; item < total; item += chunks) {
    const t = item / nHeads;
    const dp = desc + (<usize>((item % nHeads) / group) << 4);
    const keys = <usize>load<u32>(dp);
    const values = <usize>load<u32>(dp, 4);
    const positions = <usize>load<u32>(dp, 8);
    const len = load<i32>(dp, 12);
    const pos = startPos + t;
    const lo = window > 0 ? pos - window : i32.MIN_VALUE;
    const qp = q + <usize>item * hb;
    const op = out + <usize>item * hb;
    for (let i = 0; i < headDim; i++) store<f32>(op + (<usize>i << 2), 0);
    let m: f32 = -Infinity;
    let l: f32 = 0;
    for (let j = 0; j < len; j += 4) {
      // Scores of keys j…j+3; lanes past the end or outside the causal window are −∞.
      let s: v128;
      const pp = positions + (<usize>j << 2);
      if (j + 4 <= len) {
        // Check positions first: in a causal prefill about half the blocks are entirely in the future.
        const pv = v128.load(pp);
        const ok = v128.and(i32x4.le_s(pv, i32x4.splat(pos)), i32x4.gt_s(pv, i32x4.splat(lo)));
        if (!v128.any_true(ok)) continue;
        s = v128.bitselect(dots4(qp, keys + <usize>j * hb, hb, headDim, scale), f32x4.splat(-Infinity), ok);
      } else {
        s = f32x4.splat(-Infinity);
        for (let u = 0; u < len - j; u++)
          if (visible(load<i32>(pp + (<usize>u << 2)), pos, lo)) {
            const v = dotF32(qp, keys + <usize>(j + u) * hb, headDim) * scale;
            if (u == 0) s = f32x4.replace_lane(s, 0, v);
            else if (u == 1) s = f32x4.replace_lane(s, 1, v);
            else s = f32x4.replace_lane(s, 2, v);
          }
      }
      const bm = max(max(f32x4.extract_lane(s, 0), f32x4.extract_lane(s, 1)), max(f32x4.extract_lane(s, 2), f32x4.extract_lane(s, 3)));
      if (bm == -Infinity) continue;
      let c: f32 = 1;
      if (bm > m) {
        c = Mathf.exp(m - bm);
        m = bm;
      }
      // −∞ lanes: exp4 clamps them to e^−87; the mask makes them exactly 0.
      const p = v128.and(exp4(f32x4.sub(s, f32x4.splat(m))), f32x4.ne(s, f32x4.splat(-Infinity)));
      l = l * c + hsum(p);
      const p0 = f32x4.extract_lane(p, 0), p1 = f32x4.extract_lane(p, 1), p2 = f32x4.extract_lane(p, 2), p3 = f32x4.extract_lane(p, 3);
      const vb = values + <usize>j * hb;
      const count = min(4, len - j);
      if (count == 4) {
        const cv = f32x4.splat(c), w0 = f32x4.splat(p0), w1 = f32x4.splat(p1), w2 = f32x4.splat(p2), w3 = f32x4.splat(p3);
        for (let i = 0; i < d4; i += 4) {
          const o = <usize>i << 2;
          let acc = f32x4.mul(v128.load(op + o), cv);
          acc = f32x4.add(acc, f32x4.add(f32x4.add(f32x4.mul(w0, v128.load(vb + o)), f32x4.mul(w1, v128.load(vb + hb + o))), f32x4.add(f32x4.mul(w2, v128.load(vb + 2 * hb + o)), f32x4.mul(w3, v128.load(vb + 3 * hb + o)))));
          v128.store(op + o, acc);
        }
        for (let i = d4; i < headDim; i++) {
          const o = <usize>i << 2;
          store<f32>(op + o, load<f32>(op + o) * c + ((p0 * load<f32>(vb + o) + p1 * load<f32>(vb + hb + o)) + (p2 * load<f32>(vb + 2 * hb + o) + p3 * load<f32>(vb + 3 * hb + o))));
        }
      } else {
        for (let i = 0; i < headDim; i++) {
          const o = <usize>i << 2;
          let acc = load<f32>(op + o) * c + p0 * load<f32>(vb + o);
          if (count > 1) acc += p1 * load<f32>(vb + hb + o);
          if (count > 2) acc += p2 * load<f32>(vb + 2 * hb + o);
          store<f32>(op + o, acc);
        }
      }
    }
    if (l > 0) {
      const inv: f32 = <f32>1 / l;
      for (let i = 0; i < headDim; i++) store<f32>(op + (<usize>i << 2), load<f32>(op + (<usize>i << 2)) * inv);
    }
  }
}
