import assert from 'node:assert/strict';
import { test } from 'node:test';
import { keepCount } from '../../src/press/budget.js';
import { createPress } from '../../src/press/registry.js';
import { expectedAttentionScorer } from '../../src/press/expected-attention.js';
import type { RopeLayout } from '../../src/formats/model-config.js';
import { naiveTopK, syntheticLayer, viewOf } from './fixtures.js';

/** The RoPE rotation of position p as an explicit d × d matrix in float64. */
function ropeMatrix(d: number, p: number, theta: number, layout: RopeLayout): number[][] {
  const R: number[][] = Array.from({ length: d }, (_, i) => Array.from({ length: d }, (_, j) => (i === j ? 1 : 0)));
  for (let i = 0; i < d / 2; i++) {
    const ang = p / theta ** ((2 * i) / d);
    const [a, b] = layout === 'half' ? [i, i + d / 2] : [2 * i, 2 * i + 1];
    R[a]![a] = Math.cos(ang);
    R[a]![b] = -Math.sin(ang);
    R[b]![a] = Math.sin(ang);
    R[b]![b] = Math.cos(ang);
  }
  return R;
}
const mul = (A: number[][], B: number[][]) => A.map((row) => B[0]!.map((_, j) => row.reduce((acc, x, k) => acc + x * B[k]![j]!, 0)));
const mv = (A: number[][], v: number[]) => A.map((row) => row.reduce((acc, x, k) => acc + x * v[k]!, 0));
const tr = (A: number[][]) => A[0]!.map((_, j) => A.map((row) => row[j]!));

/** Naive ExpectedAttention (methods.md §8) with explicit matrices. */
function naiveScores(s: ReturnType<typeof syntheticLayer>, h: number, nFuture: number, nSink: number, cov: boolean, vnorm: boolean, eps: number): number[] {
  const { nHeads, headDim: d, ropeTheta, ropeLayout } = s.config;
  const g = nHeads / s.config.nKvHeads;
  const T = s.T;
  let Rbar = Array.from({ length: d }, () => new Array<number>(d).fill(0));
  for (let p = T; p < T + nFuture; p++) Rbar = Rbar.map((row, i) => row.map((x, j) => x + ropeMatrix(d, p, ropeTheta, ropeLayout)[i]![j]! / nFuture));
  const out = new Array<number>(T).fill(0);
  for (let qi = 0; qi < g; qi++) {
    const q = h * g + qi;
    const xs: number[][] = [];
    for (let t = nSink; t < T; t++) xs.push(mv(tr(ropeMatrix(d, t, ropeTheta, ropeLayout)), [...s.queries.subarray((t * nHeads + q) * d, (t * nHeads + q + 1) * d)]));
    const mu = xs[0]!.map((_, a) => xs.reduce((acc, x) => acc + x[a]!, 0) / xs.length);
    const S = mu.map((_, a) => mu.map((_, b) => xs.reduce((acc, x) => acc + (x[a]! - mu[a]!) * (x[b]! - mu[b]!), 0) / xs.length));
    const mu2 = mv(Rbar, mu);
    const S2 = mul(mul(Rbar, S), tr(Rbar));
    const z: number[] = [];
    for (let j = nSink; j < T; j++) {
      const k = [...s.heads[h]!.keys.subarray(j * d, (j + 1) * d)];
      const quad = cov ? k.reduce((acc, ka, a) => acc + ka * mv(S2, k)[a]!, 0) : 0;
      z.push(mv([mu2], k)[0]! / Math.sqrt(d) + quad / (2 * d));
    }
    const m = Math.max(...z);
    const e = z.map((x) => Math.exp(x - m));
    const Z = e.reduce((a, b) => a + b, 0);
    e.forEach((x, i) => (out[nSink + i]! += x / Z / g));
  }
  if (vnorm) for (let j = 0; j < T; j++) out[j] = (out[j]! + eps) * Math.hypot(...s.heads[h]!.values.subarray(j * d, (j + 1) * d));
  return out;
}

test('ExpectedAttention scores match the naive matrix implementation (both RoPE layouts, with and without covariance)', () => {
  for (const [layout, cov, vnorm, eps] of [
    ['half', true, true, 0],
    ['interleaved', true, false, 0],
    ['half', false, true, 0.01],
  ] as const) {
    const s = syntheticLayer({ T: 21, seed: 17, scale: 0.8 });
    s.config.ropeLayout = layout;
    const view = viewOf(s.config, s.heads, s.queries, s.T);
    const scorer = expectedAttentionScorer({ nFuture: 64, nSink: 4, useCovariance: cov, useVnorm: vnorm, epsilon: eps });
    for (let h = 0; h < 2; h++) {
      const got = scorer.score(view, h);
      const want = naiveScores(s, h, 64, 4, cov, vnorm, eps);
      for (let j = 4; j < s.T; j++) assert.ok(Math.abs(got[j]! - want[j]!) <= 1e-5 * Math.max(1, Math.abs(want[j]!)), `${layout} h${h} j${j}: ${got[j]} vs ${want[j]}`);
    }
  }
});

test('ExpectedAttention keeps the sinks and the best-scored rest', () => {
  const s = syntheticLayer({ T: 27, seed: 18, scale: 0.8 });
  const keep = createPress('expected-attention', { nFuture: 32 }).compress(s.view, { ratio: 0.5 })!;
  for (let h = 0; h < 2; h++) {
    const want = naiveTopK(naiveScores(s, h, 32, 4, true, true, 0), keepCount(27, { ratio: 0.5 }), new Set([0, 1, 2, 3]));
    assert.deepEqual([...keep[h]!], want);
  }
});

test('ExpectedAttention: a key along the mean query direction survives; its opposite goes', () => {
  const s = syntheticLayer({ T: 30, seed: 19, scale: 0.2 });
  const { nHeads, headDim: d } = s.config;
  // Pre-RoPE queries all equal u; keys 10 (≈ R(p)u direction, large) and 20 (opposite).
  const u = Float32Array.from({ length: d }, (_, i) => (i % 3) - 1 + 0.5);
  const q = new Float32Array(d);
  for (let t = 0; t < s.T; t++)
    for (let qh = 0; qh < nHeads; qh++) {
      q.set(u);
      const R = ropeMatrix(d, t, s.config.ropeTheta, s.config.ropeLayout);
      s.queries.set(mv(R, [...q]), (t * nHeads + qh) * d);
    }
  const Rf = ropeMatrix(d, s.T, s.config.ropeTheta, s.config.ropeLayout);
  const dir = mv(Rf, [...u]);
  for (const head of s.heads)
    for (let i = 0; i < d; i++) {
      head.keys[10 * d + i] = 4 * dir[i]!;
      head.keys[20 * d + i] = -4 * dir[i]!;
    }
  const keep = createPress('expected-attention', { nFuture: 4, useVnorm: false }).compress(viewOf(s.config, s.heads, s.queries, s.T), { ratio: 0.7 })!;
  for (const k of keep) {
    assert.ok(k.includes(10));
    assert.ok(!k.includes(20));
  }
});
