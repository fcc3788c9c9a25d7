import { dotF32, hsum, hsum4 } from './dot';
import { exp4 } from './exp4';

// Causal attention of a batch over one layer's ragged per-KV-head cache. Prefill runs every
// (token, query head) with an online softmax over blocks of four keys, so no score row (let alone
// T × T) is ever stored. Decode (a few tokens) splits each KV head's keys into parts instead: a
// part scores its whole GQA group in one pass over K into short score rows, takes a vectorised
// softmax and sums V, and the parts are merged at the end: about half the work of rescaling per
// block, and one token's few KV heads still spread over all the threads.

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
  let s = hsum4(a0, a1, a2, a3);
  if (d4 < d) {
    let s0 = f32x4.extract_lane(s, 0), s1 = f32x4.extract_lane(s, 1), s2 = f32x4.extract_lane(s, 2), s3 = f32x4.extract_lane(s, 3);
    for (let i = d4; i < d; i++) {
      const qi = load<f32>(q + (<usize>i << 2));
      const o = <usize>i << 2;
      s0 += qi * load<f32>(k + o);
      s1 += qi * load<f32>(k1 + o);
      s2 += qi * load<f32>(k2 + o);
      s3 += qi * load<f32>(k3 + o);
    }
    s = f32x4.replace_lane(f32x4.replace_lane(f32x4.replace_lane(f32x4.replace_lane(s, 0, s0), 1, s1), 2, s2), 3, s3);
  }
  return f32x4.mul(s, f32x4.splat(scale));
}

@inline function visible(p: i32, pos: i32, lo: i32): bool {
  return p <= pos && p > lo;
}

/**
 * `desc` holds, per KV head, four i32: keys, values, positions pointers and length. A query at
 * position pos sees entries with position ≤ pos and, when window > 0, position > pos − window;
 * a query that sees none gets a zero row. span > 0 selects the decode path (see attendParts and
 * its scratch), otherwise the online one runs.
 */
export function attend(q: usize, out: usize, n: i32, nHeads: i32, group: i32, headDim: i32, desc: usize, startPos: i32, window: i32, counters: usize, partials: usize, rows: usize, span: i32, parts: i32, chunk: i32, chunks: i32): void {
  if (span > 0) attendParts(q, out, n, nHeads, group, headDim, desc, startPos, window, counters, partials, rows, span, parts, chunk, chunks);
  else attendOnline(q, out, n, nHeads, group, headDim, desc, startPos, window, chunk, chunks);
}

/**
 * Decode path. Item (token t, KV head, part p) = (t·kvHeads + head)·parts + p covers the head's
 * keys [p·span, (p + 1)·span) (span a multiple of 4), so that one token over a few KV heads still
 * fills the threads. An item scores the group's query heads for blocks of four keys (a block's K
 * rows stay in L1 across the group), noting the visible range so that a sliding window costs only
 * its width; then per query head a four-lane max, exp and sum over its score row (group rows of
 * span floats per chunk at `rows`) and the exp-weighted sum of V. That partial result goes to
 * `partials` (per item and query head: max, sum, headDim floats); the item of a (token, KV head)
 * that finishes last (counted in `counters`, zero on entry) merges the parts in order, so the
 * result does not depend on which thread ran what.
 */
function attendParts(q: usize, out: usize, n: i32, nHeads: i32, group: i32, headDim: i32, desc: usize, startPos: i32, window: i32, counters: usize, partials: usize, rows: usize, span: i32, parts: i32, chunk: i32, chunks: i32): void {
  const scale: f32 = <f32>1 / Mathf.sqrt(<f32>headDim);
  const hb = <usize>headDim << 2;
  const pb = hb + 8;
  const rb = <usize>span << 2;
  const kvHeads = nHeads / group;
  const total = n * kvHeads * parts;
  for (let item = chunk; item < total; item += chunks) {
    const tk = item / parts;
    const kh = tk % kvHeads;
    const dp = desc + (<usize>kh << 4);
    const keys = <usize>load<u32>(dp);
    const values = <usize>load<u32>(dp, 4);
    const positions = <usize>load<u32>(dp, 8);
    const j0 = (item % parts) * span;
    const j1 = min(load<i32>(dp, 12), j0 + span);
    const pos = startPos + tk / kvHeads;
    const lo = window > 0 ? pos - window : i32.MIN_VALUE;
    // The group's query (and output) rows are consecutive.
    const row = <usize>(tk * group) * hb;
    // Key j's score for query head g is at sb + g·rb + 4j.
    const sb = rows + <usize>chunk * group * rb - (<usize>j0 << 2);
    let jLo = j1, jHi = 0;
    let j = j0;
    for (; j + 4 <= j1; j += 4) {
      const pv = v128.load(positions + (<usize>j << 2));
      const ok = v128.and(i32x4.le_s(pv, i32x4.splat(pos)), i32x4.gt_s(pv, i32x4.splat(lo)));
      const sp = sb + (<usize>j << 2);
      if (!v128.any_true(ok)) {
        for (let g = 0; g < group; g++) v128.store(sp + <usize>g * rb, f32x4.splat(-Infinity));
        continue;
      }
      jLo = min(jLo, j);
      jHi = j + 4;
      const kb = keys + <usize>j * hb;
      for (let g = 0; g < group; g++)
        v128.store(sp + <usize>g * rb, v128.bitselect(dots4(q + row + <usize>g * hb, kb, hb, headDim, scale), f32x4.splat(-Infinity), ok));
    }
    // The last partial block: its lanes past j1 are −∞ too, so the passes below read whole blocks.
    if (j < j1) {
      for (let g = 0; g < group; g++) v128.store(sb + <usize>g * rb + (<usize>j << 2), f32x4.splat(-Infinity));
      for (; j < j1; j++)
        if (visible(load<i32>(positions + (<usize>j << 2)), pos, lo)) {
          jLo = min(jLo, j);
          jHi = j + 1;
          for (let g = 0; g < group; g++)
            store<f32>(sb + <usize>g * rb + (<usize>j << 2), dotF32(q + row + <usize>g * hb, keys + <usize>j * hb, headDim) * scale);
        }
    }
    const pp = partials + <usize>item * group * pb;
    const b0 = <usize>(jLo & ~3) << 2, b1 = <usize>((jHi + 3) & ~3) << 2;
    for (let g = 0; g < group; g++) {
      const op = pp + <usize>g * pb;
      if (jHi == 0) {
        store<f32>(op, -Infinity);
        continue;
      }
      const sr = sb + <usize>g * rb;
      let mv = f32x4.splat(-Infinity);
      for (let b = b0; b < b1; b += 16) mv = f32x4.pmax(mv, v128.load(sr + b));
      const m = max(max(f32x4.extract_lane(mv, 0), f32x4.extract_lane(mv, 1)), max(f32x4.extract_lane(mv, 2), f32x4.extract_lane(mv, 3)));
      let lv = f32x4.splat(0);
      for (let b = b0; b < b1; b += 16) {
        const s = v128.load(sr + b);
        // −∞ lanes: exp4 clamps them to e^−87; the mask makes them exactly 0.
        const p = v128.and(exp4(f32x4.sub(s, f32x4.splat(m))), f32x4.ne(s, f32x4.splat(-Infinity)));
        lv = f32x4.add(lv, p);
        v128.store(sr + b, p);
      }
      store<f32>(op, m);
      store<f32>(op, hsum(lv), 4);
      weighted(op + 8, sr + (<usize>jLo << 2), sr + (<usize>jHi << 2), values + <usize>jLo * hb, hb, headDim);
    }
    if (atomic.add<i32>(counters + (<usize>tk << 2), 1) == parts - 1) merge(out + row, partials + <usize>(tk * parts) * group * pb, parts, group, headDim);
  }
}

/** o[0 … d) = Σ over w from w0 to w1 of w[j] · (row j of v, rows hb bytes apart): 16 floats at a time in registers, then 4, then 1. */
@inline function weighted(o: usize, w0: usize, w1: usize, v0: usize, hb: usize, d: i32): void {
  const d16 = <usize>(d & ~15) << 2, d4 = <usize>(d & ~3) << 2, end = <usize>d << 2;
  let i: usize = 0;
  for (; i < d16; i += 64) {
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
    for (let wp = w0, vp = v0 + i; wp < w1; wp += 4, vp += hb) {
      const x = v128.load32_splat(wp);
      a0 = f32x4.add(a0, f32x4.mul(x, v128.load(vp)));
      a1 = f32x4.add(a1, f32x4.mul(x, v128.load(vp, 16)));
      a2 = f32x4.add(a2, f32x4.mul(x, v128.load(vp, 32)));
      a3 = f32x4.add(a3, f32x4.mul(x, v128.load(vp, 48)));
    }
    v128.store(o + i, a0);
    v128.store(o + i, a1, 16);
    v128.store(o + i, a2, 32);
    v128.store(o + i, a3, 48);
  }
  for (; i < d4; i += 16) {
    let a = f32x4.splat(0);
    for (let wp = w0, vp = v0 + i; wp < w1; wp += 4, vp += hb) a = f32x4.add(a, f32x4.mul(v128.load32_splat(wp), v128.load(vp)));
    v128.store(o + i, a);
  }
  for (; i < end; i += 4) {
    let a: f32 = 0;
    for (let wp = w0, vp = v0 + i; wp < w1; wp += 4, vp += hb) a += load<f32>(wp) * load<f32>(vp);
    store<f32>(o + i, a);
  }
}

/**
 * Output rows of a GQA group from its parts' (max m, sum l, output o) at `pp`, in part order:
 * Σ e^(m_p − M) · o_p / Σ e^(m_p − M) · l_p with M the largest m_p; parts that saw no key are skipped.
 */
function merge(out: usize, pp: usize, parts: i32, group: i32, d: i32): void {
  const hb = <usize>d << 2;
  const pb = hb + 8;
  const d4 = <usize>(d & ~3) << 2, end = <usize>d << 2;
  for (let g = 0; g < group; g++) {
    const o = out + <usize>g * hb;
    const first = pp + <usize>g * pb;
    const step = <usize>group * pb;
    let m: f32 = -Infinity;
    for (let p = 0; p < parts; p++) m = max(m, load<f32>(first + <usize>p * step));
    memory.fill(o, 0, hb);
    if (m == -Infinity) continue;
    let l: f32 = 0;
    for (let p = 0; p < parts; p++) {
      const src = first + <usize>p * step;
      const mp = load<f32>(src);
      if (mp == -Infinity) continue;
      const c = Mathf.exp(mp - m);
      l += c * load<f32>(src, 4);
      const cv = f32x4.splat(c);
      let i: usize = 0;
      for (; i < d4; i += 16) v128.store(o + i, f32x4.add(v128.load(o + i), f32x4.mul(cv, v128.load(src + 8 + i))));
      for (; i < end; i += 4) store<f32>(o + i, load<f32>(o + i) + c * load<f32>(src + 8 + i));
    }
    const inv = <f32>1 / l;
    let i: usize = 0;
    for (; i < d4; i += 16) v128.store(o + i, f32x4.mul(v128.load(o + i), f32x4.splat(inv)));
    for (; i < end; i += 4) store<f32>(o + i, load<f32>(o + i) * inv);
  }
}

/**
 * Items (token t, query head h) = t·nHeads + h, taken by chunks in turn (item % chunks == chunk) so
 * long and short rows of a causal prefill spread evenly; online softmax over blocks of four keys:
 * four independent dot products (so the adds overlap), one max and rescale per block, one
 * four-lane exp, and one pass over the output row per block.
 */
function attendOnline(q: usize, out: usize, n: i32, nHeads: i32, group: i32, headDim: i32, desc: usize, startPos: i32, window: i32, chunk: i32, chunks: i32): void {
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
