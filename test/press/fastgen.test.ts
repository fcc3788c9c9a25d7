import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Session } from '../../src/generate/session.js';
import { FastGenPress, policyHistogram } from '../../src/press/fastgen.js';
import { fastgenDecoding } from '../../src/press/fastgen-decoding.js';
import { FASTGEN_POLICIES, type FastGenPolicy, type FastGenRates } from '../../src/press/fastgen-profile.js';
import { CacheLayerView } from '../../src/press/layer-view.js';
import { createPress } from '../../src/press/registry.js';
import { isPunctuationPiece } from '../../src/press/token-class.js';
import type { Tokenizer } from '../../src/tokenizer/tokenizer.js';
import { naiveWindowAttention, randomIds, rng, syntheticLayer, tinyModel } from './fixtures.js';

type Layer = ReturnType<typeof syntheticLayer>;

/** Special: id 1 (BOS); punctuation: ids whose piece is '.' or ','; everything else a word. */
const classTokenizer: Pick<Tokenizer, 'isSpecial' | 'piece'> = {
  isSpecial: (id) => id === 1,
  piece: (id) => (id === 7 ? '.' : id === 8 ? ' ,' : 'w' + id),
};

function viewWith(s: Layer, tokens: number[], layer = 0): CacheLayerView {
  return new CacheLayerView({ layer, queries: s.queries, n: s.T, startPos: 0, heads: s.heads }, s.config, tokens, undefined, classTokenizer);
}

/** BOS, then words with a '.' or ',' now and then. */
function tokensFor(T: number, seed: number): number[] {
  const r = rng(seed);
  return Array.from({ length: T }, (_, i) => (i === 0 ? 1 : r() < 0.15 ? 7 + Math.floor(r() * 2) : 10 + Math.floor(r() * 20)));
}

/** Naive FastGen profile of one head (methods.md §12) from the full T × T float64 attention, row-wise keep sets. */
function naiveProfile(s: Layer, tokens: number[], h: number, o: FastGenRates): { policy: FastGenPolicy; recovery: number[]; keep: number[] } {
  const T = s.T;
  const a = naiveWindowAttention(s, T, h, T);
  const special = (j: number) => tokens[j] === 1;
  const marked = (j: number) => special(j) || tokens[j] === 7 || tokens[j] === 8;
  const wl = Math.max(1, Math.floor(o.local * T));
  const nf = Math.floor(o.frequent * T);
  const col = Array.from({ length: T }, (_, j) => a.reduce((acc, row) => acc + row[j]!, 0) / (T - j));
  const heavy = (skip: (j: number) => boolean) =>
    new Set(
      Array.from({ length: T }, (_, j) => j)
        .filter((j) => !skip(j))
        .sort((x, y) => col[y]! - col[x]! || x - y)
        .slice(0, nf),
    );
  const h1 = heavy(marked);
  const inFinalWindow = (j: number) => j > T - wl;
  const h2 = heavy((j) => marked(j) || inFinalWindow(j));
  const rowKeeps: ((i: number, j: number) => boolean)[] = [
    (_i, j) => special(j),
    (_i, j) => marked(j),
    (_i, j) => marked(j) || h1.has(j),
    (i, j) => marked(j) || h2.has(j) || j > i - wl,
    () => true,
  ];
  const finalKeeps: ((j: number) => boolean)[] = [special, marked, (j) => marked(j) || h1.has(j), (j) => marked(j) || h2.has(j) || inFinalWindow(j), () => true];
  const recovery = rowKeeps.map((keep) => a.reduce((acc, row, i) => acc + row.reduce((x, v, j) => x + (j <= i && keep(i, j) ? v : 0), 0), 0) / T);
  const k = recovery.findIndex((r) => r >= o.threshold - 1e-9);
  return { policy: FASTGEN_POLICIES[k]!, recovery, keep: Array.from({ length: T }, (_, j) => j).filter(finalKeeps[k]!) };
}

test('FastGen profiling matches the naive full-attention implementation on random heads (GQA, several τ)', () => {
  const seen = new Set<string>();
  for (let c = 0; c < 12; c++) {
    const T = 30 + 7 * (c % 4);
    const s = syntheticLayer({ T, seed: 60 + c, scale: 1 + (c % 3) });
    const tokens = tokensFor(T, c);
    const rates = { threshold: [0.5, 0.8, 0.9, 0.95][c % 4]!, local: [0.3, 0.2][c % 2]!, frequent: [0.3, 0.1][Math.floor(c / 2) % 2]! };
    const press = new FastGenPress({ ...rates, budgetRates: false });
    const keep = press.compress(viewWith(s, tokens), { ratio: 0.5 });
    for (let h = 0; h < 2; h++) {
      const want = naiveProfile(s, tokens, h, rates);
      seen.add(want.policy);
      const got = press.recoveries()[0]![h]!;
      for (let k = 0; k < 5; k++) assert.ok(Math.abs(got[k]! - want.recovery[k]!) < 1e-5, `case ${c} head ${h} candidate ${k}: ${got[k]} vs ${want.recovery[k]}`);
      assert.equal(press.policies()[0]![h], want.policy, `case ${c} head ${h}`);
      assert.deepEqual(keep ? [...keep[h]!] : Array.from({ length: T }, (_, j) => j), want.keep, `case ${c} head ${h} keep`);
    }
  }
  assert.ok(seen.size >= 3, `the cases exercise several policies: ${[...seen].join(', ')}`);
});

test('FastGen budgetRates: r_l = r_f = n_keep / (2T) from the ratio, matching the naive profile with those rates', () => {
  const T = 44;
  const s = syntheticLayer({ T, seed: 90, scale: 2 });
  const tokens = tokensFor(T, 90);
  for (const ratio of [0.3, 0.7]) {
    const press = createPress('fastgen', { threshold: 0.9, budgetRates: true }) as FastGenPress;
    press.compress(viewWith(s, tokens), { ratio });
    const half = Math.floor(T * (1 - ratio) + 1e-9) / (2 * T);
    for (let h = 0; h < 2; h++) {
      const want = naiveProfile(s, tokens, h, { threshold: 0.9, local: half, frequent: half });
      assert.equal(press.policies()[0]![h], want.policy);
      press.recoveries()[0]![h]!.forEach((r, k) => assert.ok(Math.abs(r - want.recovery[k]!) < 1e-5));
    }
  }
});

/** One KV head per query head; head 0 attends to a band of width ~3, head 1 only to BOS. */
function bandAndBosLayer(T: number): Layer {
  const s = syntheticLayer({ T, seed: 5, nHeads: 2, nKvHeads: 2, headDim: 8, scale: 0.01 });
  const w = [0.5, 0.21, 0.09, 0.037];
  const A = 30;
  const d = 8;
  for (let t = 0; t < T; t++)
    for (let k = 0; k < 4; k++) {
      s.heads[0]!.keys[t * d + 2 * k] = Math.cos(t * w[k]!);
      s.heads[0]!.keys[t * d + 2 * k + 1] = Math.sin(t * w[k]!);
      s.queries[(t * 2 + 0) * d + 2 * k] = A * Math.cos(t * w[k]!);
      s.queries[(t * 2 + 0) * d + 2 * k + 1] = A * Math.sin(t * w[k]!);
      s.heads[1]!.keys[t * d + 2 * k] = t === 0 ? 4 : 0;
      s.queries[(t * 2 + 1) * d + 2 * k] = 4;
    }
  return s;
}

test('FastGen: a head attending to a local band gets the local policy; a head looking only at BOS gets special', () => {
  const T = 60;
  const s = bandAndBosLayer(T);
  const tokens = tokensFor(T, 2);
  const press = new FastGenPress({ threshold: 0.95, local: 0.3, frequent: 0.3, budgetRates: false });
  const keep = press.compress(viewWith(s, tokens), { ratio: 0.5 })!;
  assert.deepEqual(press.policies()[0], ['special+punct+frequent+local', 'special']);
  assert.deepEqual([...keep[1]!], [0]);
  assert.ok(press.recoveries()[0]![0]![3]! > 0.99);
  assert.ok(press.recoveries()[0]![0]![2]! < 0.8, 'heavy hitters alone do not recover a band');
  assert.deepEqual(policyHistogram(press.policies()[0]!), {
    special: 1,
    'special+punct': 0,
    'special+punct+frequent': 0,
    'special+punct+frequent+local': 1,
    full: 0,
  });
});

/** Naive decoding rule for one head: classes by policy, the local window, the top accumulated among the rest. */
function naiveDecodeKeep(policy: FastGenPolicy, pos: number[], tokens: number[], acc: number[], next: number, o: { local: number; frequent: number }): number[] {
  if (policy === 'full') return pos.map((_, j) => j);
  const parts = policy.split('+');
  const wl = Math.max(1, Math.floor(o.local * next));
  const nf = Math.floor(o.frequent * next);
  const base = pos.map((p) => (parts.includes('special') && tokens[p] === 1) || (parts.includes('punct') && (tokens[p] === 7 || tokens[p] === 8)) || (parts.includes('local') && p > next - wl));
  const rest = pos.map((_, j) => j).filter((j) => !base[j]);
  const heavy = parts.includes('frequent') ? rest.sort((x, y) => acc[y]! - acc[x]! || x - y).slice(0, nf) : [];
  const out = pos.map((_, j) => j).filter((j) => base[j] || heavy.includes(j));
  return out.length ? out : [pos.length - 1];
}

test('FastGen decoding applies each head\'s policy to its entries (naive rule), for every policy', () => {
  const T = 40;
  const tokens = tokensFor(T, 9);
  for (const [i, policy] of FASTGEN_POLICIES.entries()) {
    const s = syntheticLayer({ T, seed: 70 + i, trackAttentionSums: true });
    const r = rng(i);
    for (const h of s.heads) for (let j = 0; j < T; j++) h.attentionSums![j] = r();
    const q = s.queries.subarray((T - 1) * s.config.nHeads * s.config.headDim);
    const view = new CacheLayerView({ layer: 0, queries: q, n: 1, startPos: T - 1, heads: s.heads }, s.config, tokens, undefined, classTokenizer);
    const pols: FastGenPolicy[] = [policy, 'special+punct+frequent'];
    const o = { local: 0.2, frequent: 0.25 };
    const keep = fastgenDecoding(() => pols, () => Uint8Array.from(tokens, (t) => (t === 1 ? 1 : t === 7 || t === 8 ? 2 : 0)), () => o).compress(view, { ratio: 0.5 });
    pols.forEach((p, h) => {
      const want = naiveDecodeKeep(p, Array.from({ length: T }, (_, j) => j), tokens, [...s.heads[h]!.attentionSums!.slice(0, T)], T, o);
      assert.deepEqual(keep ? [...keep[h]!] : Array.from({ length: T }, (_, j) => j), want, `${policy} head ${h}`);
    });
  }
});

test('FastGen in a session: policies readable per (layer, KV head), heads ragged, decoding keeps to the policy, KV bytes shrink', () => {
  const { model, tokenizer } = tinyModel({ nLayers: 3, maxSeqLen: 128 });
  const ids = [1, ...randomIds(50, model.config.vocabSize, 12)];
  const press = createPress('fastgen', { threshold: 0.9 }) as FastGenPress;
  const s = new Session(model, tokenizer, { compression: { press, ratio: 0.5 } });
  s.prefill(ids);
  const pol = press.policies();
  assert.equal(pol.length, 3);
  assert.ok(pol.every((l) => l.length === model.config.nKvHeads && l.every((p) => FASTGEN_POLICIES.includes(p))));
  const bytesAfterPrefill = s.cache.bytes();
  assert.ok(bytesAfterPrefill < s.cache.fullBytes(), 'some head was compressed');
  for (let i = 0; i < 20; i++) s.step(3 + i);
  const next = ids.length + 20;
  pol.forEach((l, layer) =>
    l.forEach((p, h) => {
      const head = s.cache.layer(layer)[h]!;
      const pos = [...head.positions.slice(0, head.length)];
      if (p === 'full') assert.equal(head.length, next);
      if (p === 'special') assert.ok(pos.every((q) => tokenizer.isSpecial(s.cache.tokens[q]!)));
      if (p.includes('frequent')) assert.ok(head.length <= pos.filter((q) => tokenizer.isSpecial(s.cache.tokens[q]!) || isPunctuationPiece(tokenizer.piece(s.cache.tokens[q]!)) || (p.includes('local') && q > next - Math.floor(0.3 * next))).length + Math.floor(0.3 * next));
    }),
  );
  assert.throws(() => new FastGenPress().compress(syntheticLayer({ T: 10 }).view, { ratio: 0.5 }), /needs token classes/);
  assert.throws(() => createPress('fastgen', { threshold: 0 }), /threshold/);
  assert.throws(() => createPress('fastgen', { local: 2 }), /local must be in \[0, 1\]/);
});

test('isPunctuationPiece: punctuation, symbols and whitespace only', () => {
  for (const p of ['.', ' ,', '?!', '\n', ' ', '▁.', '"']) assert.ok(isPunctuationPiece(p), JSON.stringify(p));
  for (const p of ['', 'a', ' the', '.a', '1']) assert.ok(!isPunctuationPiece(p), JSON.stringify(p));
});

test('FastGen heads end up with different lengths (ragged cache)', () => {
  const s = bandAndBosLayer(60);
  const press = new FastGenPress();
  const keep = press.compress(viewWith(s, tokensFor(60, 2)), { ratio: 0.5 })!;
  assert.equal(keep[1]!.length, 1);
  assert.ok(keep[0]!.length > 18, 'the local head keeps at least its window');
});
