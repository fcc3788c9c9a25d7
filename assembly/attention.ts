import { dotF32, hsum, hsum4 } from './dot';
import { exp4 } from './exp4';

// Causal attention of a batch over one layer's ragged per-KV-head cache, grouped: an item takes a
// tile of tokens times a GQA group of query heads, scores all its rows against each block of four
// keys (one pass over K for the lot) into short score rows, takes a vectorised softmax per segment
// of keys with one online rescale per segment, and sums V. Neither T × T nor a full score row is
// stored: scratch is a few rows of one segment per chunk, whatever n and the cache length.

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
  if (d4 < d) s = tail4(s, q, k, hb, d4, d);
  return f32x4.mul(s, f32x4.splat(scale));
}

/** dots4 for two query rows at once (each K load feeds both): lane i of the results as dots4's, same bits. */
@inline function dots4x2(q0: usize, q1: usize, k: usize, hb: usize, d: i32, scale: f32, r1: usize): v128 {
  const d4 = d & ~3;
  const end = <usize>d4 << 2;
  const k1 = k + hb, k2 = k1 + hb, k3 = k2 + hb;
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  let b0 = f32x4.splat(0), b1 = f32x4.splat(0), b2 = f32x4.splat(0), b3 = f32x4.splat(0);
  for (let i: usize = 0; i < end; i += 16) {
    const qv = v128.load(q0 + i), qw = v128.load(q1 + i);
    let kv = v128.load(k + i);
    a0 = f32x4.add(a0, f32x4.mul(qv, kv));
    b0 = f32x4.add(b0, f32x4.mul(qw, kv));
    kv = v128.load(k1 + i);
    a1 = f32x4.add(a1, f32x4.mul(qv, kv));
    b1 = f32x4.add(b1, f32x4.mul(qw, kv));
    kv = v128.load(k2 + i);
    a2 = f32x4.add(a2, f32x4.mul(qv, kv));
    b2 = f32x4.add(b2, f32x4.mul(qw, kv));
    kv = v128.load(k3 + i);
    a3 = f32x4.add(a3, f32x4.mul(qv, kv));
    b3 = f32x4.add(b3, f32x4.mul(qw, kv));
  }
  let s = hsum4(a0, a1, a2, a3), t = hsum4(b0, b1, b2, b3);
  if (d4 < d) {
    s = tail4(s, q0, k, hb, d4, d);
    t = tail4(t, q1, k, hb, d4, d);
  }
  v128.store(r1, f32x4.mul(t, f32x4.splat(scale)));
  return f32x4.mul(s, f32x4.splat(scale));
}

/** Adds the scalar tail i ∈ [d4, d) of q · k_lane to each lane of s, lane by lane in dotF32's order. */
function tail4(s: v128, q: usize, k: usize, hb: usize, d4: i32, d: i32): v128 {
  const k1 = k + hb, k2 = k1 + hb, k3 = k2 + hb;
  let s0 = f32x4.extract_lane(s, 0), s1 = f32x4.extract_lane(s, 1), s2 = f32x4.extract_lane(s, 2), s3 = f32x4.extract_lane(s, 3);
  for (let i = d4; i < d; i++) {
    const qi = load<f32>(q + (<usize>i << 2));
    const o = <usize>i << 2;
    s0 += qi * load<f32>(k + o);
    s1 += qi * load<f32>(k1 + o);
    s2 += qi * load<f32>(k2 + o);
    s3 += qi * load<f32>(k3 + o);
  }
  return f32x4.replace_lane(f32x4.replace_lane(f32x4.replace_lane(f32x4.replace_lane(s, 0, s0), 1, s1), 2, s2), 3, s3);
}

@inline function visible(p: i32, pos: i32, lo: i32): bool {
  return p <= pos && p > lo;
}

/**
 * `desc` holds, per KV head, four i32: keys, values, positions pointers and length. A query at
 * position pos sees entries with position ≤ pos and, when window > 0, position > pos − window;
 * a query that sees none gets a zero row.
 *
 * Item (token tile, KV head, part) = (tile·kvHeads + head)·parts + p: the `tile` consecutive tokens
 * from tile·`tile` (fewer at the end) times the head's GQA group are the item's query rows, and it
 * covers the head's keys [p·span, (p + 1)·span) (span a multiple of 4 when parts > 1). A prefill
 * has items enough in its tiles (parts = 1); decode splits keys into parts so that one token over a
 * few KV heads still fills the threads. An item walks its keys in segments of `seg` (a multiple of 4):
 * it scores every row against a block of four keys (the block's K rows stay in L1 across the rows)
 * into the chunk's score rows at `scratch` (rows of seg floats, then max and sum per row), noting
 * the visible range so that future keys and a sliding window cost only a position check; then per
 * row a four-lane max, an online-softmax rescale of the row's sum and output (once per segment),
 * exp and the exp-weighted sum of V. With parts = 1 the output row is the accumulator and is
 * divided by the sum at the end; otherwise the partial result goes to `partials` (per item and row:
 * max, sum, headDim floats) and the item of a (tile, KV head) that finishes last (counted in
 * `counters`, zero on entry) merges the parts in order. Either way no result depends on which
 * thread ran what, and scratch is bounded by tile · group · seg whatever n and the cache length.
 */
export function attend(q: usize, out: usize, n: i32, nHeads: i32, group: i32, headDim: i32, desc: usize, startPos: i32, window: i32, counters: usize, partials: usize, scratch: usize, span: i32, parts: i32, tile: i32, seg: i32, chunk: i32, chunks: i32): void {
  const scale: f32 = <f32>1 / Mathf.sqrt(<f32>headDim);
  const hb = <usize>headDim << 2;
  const pb = hb + 8;
  const qs = <usize>nHeads * hb; // one token's query (and output) rows
  const rb = <usize>seg << 2;
  const kvHeads = nHeads / group;
  const maxRows = tile * group;
  const total = ((n + tile - 1) / tile) * kvHeads * parts;
  // Row r = u·group + g (token t0 + u, query head head·group + g): scores at sc + r·rb, max and sum at ml + 8r.
  const sc = scratch + <usize>chunk * maxRows * (rb + 8);
  const ml = sc + <usize>maxRows * rb;
  for (let item = chunk; item < total; item += chunks) {
    const tk = item / parts;
    const kh = tk % kvHeads;
    const t0 = (tk / kvHeads) * tile;
    const tn = min(tile, n - t0);
    const rows = tn * group;
    const dp = desc + (<usize>kh << 4);
    const keys = <usize>load<u32>(dp);
    const values = <usize>load<u32>(dp, 4);
    const positions = <usize>load<u32>(dp, 8);
    const j0 = (item % parts) * span;
    const j1 = min(load<i32>(dp, 12), j0 + span);
    const posMin = startPos + t0, posMax = posMin + tn - 1;
    const loMin = window > 0 ? posMin - window : i32.MIN_VALUE;
    const qb = q + <usize>t0 * qs + <usize>(kh * group) * hb;
    // Row r's accumulator: its output row, or its partial's after (max, sum).
    const split = parts > 1;
    const pp = partials + <usize>item * maxRows * pb;
    const ab = split ? pp + 8 : out + <usize>t0 * qs + <usize>(kh * group) * hb;
    const aStep = split ? <usize>group * pb : qs, gStep = split ? pb : hb;
    for (let u = 0; u < tn; u++)
      for (let g = 0; g < group; g++) {
        memory.fill(ab + <usize>u * aStep + <usize>g * gStep, 0, hb);
        const r = u * group + g;
        store<f32>(ml + (<usize>r << 3), -Infinity);
        store<f32>(ml + (<usize>r << 3), 0, 4);
      }
    for (let s0 = j0; s0 < j1; s0 += seg) {
      const s1 = min(j1, s0 + seg);
      // Key j's score for row r is at sb + r·rb + 4j.
      const sb = sc - (<usize>s0 << 2);
      let jLo = s1, jHi = s0;
      let j = s0;
      for (; j + 4 <= s1; j += 4) {
        const pv = v128.load(positions + (<usize>j << 2));
        const sp = sb + (<usize>j << 2);
        // Check positions first: in a causal prefill about half the blocks are entirely in the future.
        if (!v128.any_true(v128.and(i32x4.le_s(pv, i32x4.splat(posMax)), i32x4.gt_s(pv, i32x4.splat(loMin))))) {
          for (let r = 0; r < rows; r++) v128.store(sp + <usize>r * rb, f32x4.splat(-Infinity));
          continue;
        }
        jLo = min(jLo, j);
        jHi = j + 4;
        const kb = keys + <usize>j * hb;
        for (let u = 0; u < tn; ) {
          const pos = posMin + u;
          const ok = v128.and(i32x4.le_s(pv, i32x4.splat(pos)), i32x4.gt_s(pv, i32x4.splat(window > 0 ? pos - window : i32.MIN_VALUE)));
          const su = sp + <usize>(u * group) * rb;
          const qu = qb + <usize>u * qs;
          if (!v128.any_true(ok)) {
            for (let g = 0; g < group; g++) v128.store(su + <usize>g * rb, f32x4.splat(-Infinity));
            u++;
            continue;
          }
          // Tokens u and u + 1 both see some of the block: score them together (each K load feeds both).
          const ok1 = v128.and(i32x4.le_s(pv, i32x4.splat(pos + 1)), i32x4.gt_s(pv, i32x4.splat(window > 0 ? pos + 1 - window : i32.MIN_VALUE)));
          if (u + 1 < tn && v128.any_true(ok1)) {
            const sv = su + <usize>group * rb;
            for (let g = 0; g < group; g++) {
              const gq = qu + <usize>g * hb, gs = sv + <usize>g * rb;
              v128.store(su + <usize>g * rb, v128.bitselect(dots4x2(gq, gq + qs, kb, hb, headDim, scale, gs), f32x4.splat(-Infinity), ok));
              v128.store(gs, v128.bitselect(v128.load(gs), f32x4.splat(-Infinity), ok1));
            }
            u += 2;
          } else {
            for (let g = 0; g < group; g++)
              v128.store(su + <usize>g * rb, v128.bitselect(dots4(qu + <usize>g * hb, kb, hb, headDim, scale), f32x4.splat(-Infinity), ok));
            u++;
          }
        }
      }
      // The last partial block: its lanes past s1 are −∞ too, so the passes below read whole blocks.
      if (j < s1) {
        for (let r = 0; r < rows; r++) v128.store(sb + <usize>r * rb + (<usize>j << 2), f32x4.splat(-Infinity));
        for (; j < s1; j++) {
          const p = load<i32>(positions + (<usize>j << 2));
          for (let u = 0; u < tn; u++) {
            const pos = posMin + u;
            if (!visible(p, pos, window > 0 ? pos - window : i32.MIN_VALUE)) continue;
            jLo = min(jLo, j);
            jHi = j + 1;
            for (let g = 0; g < group; g++)
              store<f32>(sb + <usize>(u * group + g) * rb + (<usize>j << 2), dotF32(qb + <usize>u * qs + <usize>g * hb, keys + <usize>j * hb, headDim) * scale);
          }
        }
      }
      if (jHi == s0) continue;
      const b0 = <usize>(jLo & ~3) << 2, b1 = <usize>((jHi + 3) & ~3) << 2;
      for (let r = 0; r < rows; r++) {
        const sr = sb + <usize>r * rb;
        let mv = f32x4.splat(-Infinity);
        for (let b = b0; b < b1; b += 16) mv = f32x4.pmax(mv, v128.load(sr + b));
        const bm = max(max(f32x4.extract_lane(mv, 0), f32x4.extract_lane(mv, 1)), max(f32x4.extract_lane(mv, 2), f32x4.extract_lane(mv, 3)));
        if (bm == -Infinity) continue;
        const mr = ml + (<usize>r << 3);
        const m0 = load<f32>(mr);
        const m = max(m0, bm);
        // Rescale of what earlier segments summed (e^−∞ = 0 on the first one, where all is 0).
        const c = m0 == m ? <f32>1 : Mathf.exp(m0 - m);
        let lv = f32x4.splat(0);
        for (let b = b0; b < b1; b += 16) {
          const s = v128.load(sr + b);
          // −∞ lanes: exp4 clamps them to e^−87; the mask makes them exactly 0.
          const p = v128.and(exp4(f32x4.sub(s, f32x4.splat(m))), f32x4.ne(s, f32x4.splat(-Infinity)));
          lv = f32x4.add(lv, p);
          v128.store(sr + b, p);
        }
        store<f32>(mr, m);
        store<f32>(mr, load<f32>(mr, 4) * c + hsum(lv), 4);
        const u = r / group;
        weighted(ab + <usize>u * aStep + <usize>(r - u * group) * gStep, c, sr + (<usize>jLo << 2), sr + (<usize>jHi << 2), values + <usize>jLo * hb, hb, headDim);
      }
    }
    if (split) {
      for (let r = 0; r < rows; r++) {
        store<f32>(pp + <usize>r * pb, load<f32>(ml + (<usize>r << 3)));
        store<f32>(pp + <usize>r * pb, load<f32>(ml + (<usize>r << 3), 4), 4);
      }
      if (atomic.add<i32>(counters + (<usize>tk << 2), 1) == parts - 1)
        for (let u = 0; u < tn; u++) merge(out + <usize>(t0 + u) * qs + <usize>(kh * group) * hb, partials + <usize>(tk * parts) * maxRows * pb + <usize>(u * group) * pb, parts, group, <usize>maxRows * pb, headDim);
    } else
      for (let r = 0; r < rows; r++) {
        // A row that saw no key keeps its zeros.
        const l = load<f32>(ml + (<usize>r << 3), 4);
        if (l > 0) {
          const u = r / group;
          scaleRow(ab + <usize>u * aStep + <usize>(r - u * group) * gStep, <f32>1 / l, headDim);
        }
      }
  }
}

/** o[0 … d) = c · o + Σ over w from w0 to w1 of w[j] · (row j of v, rows hb bytes apart): 16 floats at a time in registers, then 4, then 1. */
@inline function weighted(o: usize, c: f32, w0: usize, w1: usize, v0: usize, hb: usize, d: i32): void {
  const d16 = <usize>(d & ~15) << 2, d4 = <usize>(d & ~3) << 2, end = <usize>d << 2;
  const cv = f32x4.splat(c);
  let i: usize = 0;
  for (; i < d16; i += 64) {
    let a0 = f32x4.mul(v128.load(o + i), cv), a1 = f32x4.mul(v128.load(o + i, 16), cv), a2 = f32x4.mul(v128.load(o + i, 32), cv), a3 = f32x4.mul(v128.load(o + i, 48), cv);
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
    let a = f32x4.mul(v128.load(o + i), cv);
    for (let wp = w0, vp = v0 + i; wp < w1; wp += 4, vp += hb) a = f32x4.add(a, f32x4.mul(v128.load32_splat(wp), v128.load(vp)));
    v128.store(o + i, a);
  }
  for (; i < end; i += 4) {
    let a: f32 = load<f32>(o + i) * c;
    for (let wp = w0, vp = v0 + i; wp < w1; wp += 4, vp += hb) a += load<f32>(wp) * load<f32>(vp);
    store<f32>(o + i, a);
  }
}

/** o[0 … d) ·= s. */
@inline function scaleRow(o: usize, s: f32, d: i32): void {
  const d4 = <usize>(d & ~3) << 2, end = <usize>d << 2;
  let i: usize = 0;
  for (; i < d4; i += 16) v128.store(o + i, f32x4.mul(v128.load(o + i), f32x4.splat(s)));
  for (; i < end; i += 4) store<f32>(o + i, load<f32>(o + i) * s);
}

/**
 * Output rows of a GQA group from its parts' (max m, sum l, output o) at `pp`, `step` bytes apart,
 * in part order: Σ e^(m_p − M) · o_p / Σ e^(m_p − M) · l_p with M the largest m_p; parts that saw
 * no key are skipped.
 */
function merge(out: usize, pp: usize, parts: i32, group: i32, step: usize, d: i32): void {
  const hb = <usize>d << 2;
  const pb = hb + 8;
  const d4 = <usize>(d & ~3) << 2, end = <usize>d << 2;
  for (let g = 0; g < group; g++) {
    const o = out + <usize>g * hb;
    const first = pp + <usize>g * pb;
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
    scaleRow(o, <f32>1 / l, d);
  }
}
