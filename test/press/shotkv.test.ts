import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Segment } from '../../src/press/segment.js';
import { Session } from '../../src/generate/session.js';
import { keepCount } from '../../src/press/budget.js';
import { CacheLayerView } from '../../src/press/layer-view.js';
import { createPress } from '../../src/press/registry.js';
import type { SegmentRange } from '../../src/press/segment-range.js';
import type { ShotPress } from '../../src/press/shot-press.js';
import { shotkvDecoding } from '../../src/press/shotkv-decoding.js';
import { splitShots } from '../../src/press/split-shots.js';
import { naiveWindowAttention, rng, syntheticLayer, tinyModel } from './fixtures.js';

type Layer = ReturnType<typeof syntheticLayer>;

function viewWith(s: Layer, segments: SegmentRange[], layer = 0): CacheLayerView {
  return new CacheLayerView({ layer, queries: s.queries, n: s.T, startPos: 0, heads: s.heads }, s.config, Array.from({ length: s.T }, () => 5), segments);
}

/** system [0, sys), shots of the given sizes, question of q tokens at the end. */
function layout(sys: number, shots: number[], q: number): SegmentRange[] {
  const out: SegmentRange[] = [{ kind: 'system', start: 0, end: sys }];
  let at = sys;
  for (const k of shots) {
    out.push({ kind: 'shot', start: at, end: at + k });
    at += k;
  }
  out.push({ kind: 'question', start: at, end: at + q });
  return out;
}

/** Naive ShotKV prefill selection (methods.md §11) in float64: kept indices (same for every head). */
function naiveShotKV(s: Layer, segs: SegmentRange[], ratio: number, stopAtFirstMiss = false): number[] {
  const T = s.T;
  const q = segs.find((g) => g.kind === 'question')!;
  const rows = T - q.start;
  const shots = segs.filter((g) => g.kind === 'shot');
  const score = shots.map((sh) => {
    let sum = 0;
    for (let h = 0; h < s.config.nKvHeads; h++) for (const row of naiveWindowAttention(s, T, h, rows)) for (let j = sh.start; j < sh.end; j++) sum += row[j]!;
    return sum / (sh.end - sh.start);
  });
  const B = Math.max(1, Math.floor(T * (1 - ratio) + 1e-9));
  let room = B - (T - shots.reduce((a, sh) => a + sh.end - sh.start, 0));
  if (room < 0) {
    // The protected text alone exceeds B: no shot; BOS, then the protected entries the question attends to most.
    const inShot = (j: number) => shots.some((sh) => j >= sh.start && j < sh.end);
    const tokenScore = Array.from({ length: T }, (_, j) => {
      let sum = 0;
      for (let h = 0; h < s.config.nKvHeads; h++) for (const row of naiveWindowAttention(s, T, h, rows)) sum += row[j]!;
      return sum;
    });
    const order = Array.from({ length: T }, (_, j) => j).filter((j) => j > 0 && !inShot(j)).sort((a, b) => tokenScore[b]! - tokenScore[a]! || a - b);
    return [0, ...order.slice(0, B - 1)].sort((a, b) => a - b);
  }
  const kept = new Set<number>();
  const order = shots.map((_, i) => i).sort((a, b) => score[b]! - score[a]! || a - b);
  for (const i of order) {
    const k = shots[i]!.end - shots[i]!.start;
    if (k <= room) {
      kept.add(i);
      room -= k;
    } else if (stopAtFirstMiss) break;
  }
  const out: number[] = [];
  for (let j = 0; j < T; j++) {
    const i = shots.findIndex((sh) => j >= sh.start && j < sh.end);
    if (i < 0 || kept.has(i)) out.push(j);
  }
  return out;
}

test('ShotKV keeps what the naive implementation keeps on random layers and layouts (GQA, skip / stop at first miss)', () => {
  const r = rng(4);
  for (let c = 0; c < 8; c++) {
    const shots = Array.from({ length: 3 + Math.floor(r() * 4) }, () => 3 + Math.floor(r() * 9));
    const segs = layout(2 + Math.floor(r() * 4), shots, 3 + Math.floor(r() * 5));
    const T = segs.at(-1)!.end;
    const s = syntheticLayer({ T, seed: 40 + c, nKvHeads: c % 2 ? 4 : 2 });
    const ratio = [0.3, 0.5, 0.7, 0.9][c % 4]!;
    const stop = c % 3 === 2;
    const press = createPress('shotkv', { stopAtFirstMiss: stop });
    const keep = press.compress(viewWith(s, segs), { ratio });
    const want = naiveShotKV(s, segs, ratio, stop);
    if (want.length === T) assert.equal(keep, null);
    else for (const k of keep!) assert.deepEqual([...k], want, `case ${c}`);
    assert.ok(want.length <= keepCount(T, { ratio }), 'kept ≤ B');
  }
});

test('ShotKV keeps the shot the question attends to whole at aggressive ratios; token-level SnapKV splits shots', () => {
  const shots = [12, 12, 12, 12, 12, 12];
  const segs = layout(4, shots, 8);
  const T = segs.at(-1)!.end;
  const s = syntheticLayer({ T, seed: 7, scale: 0.4 });
  const d = s.config.headDim;
  const answer = segs[3]!; // the third shot carries the answer
  for (const head of s.heads) for (let t = answer.start; t < answer.end; t++) for (let i = 0; i < d; i++) head.keys[t * d + i] = i % 2 ? 1.5 : -1.5;
  for (let t = T - 8; t < T; t++) for (let q = 0; q < s.config.nHeads; q++) for (let i = 0; i < d; i++) s.queries[(t * s.config.nHeads + q) * d + i] = i % 2 ? 1.5 : -1.5;
  const shotOf = (j: number) => segs.findIndex((g) => g.kind === 'shot' && j >= g.start && j < g.end);
  for (const ratio of [0.6, 0.7]) {
    const keep = createPress('shotkv').compress(viewWith(s, segs), { ratio })!;
    for (const k of keep) {
      assert.ok(k.length <= keepCount(T, { ratio }));
      for (let t = answer.start; t < answer.end; t++) assert.ok(k.includes(t), `answer shot entry ${t} kept at ratio ${ratio}`);
      for (let i = 1; i <= shots.length; i++) {
        const n = [...k].filter((j) => shotOf(j) === i).length;
        assert.ok(n === 0 || n === 12, `shot ${i} kept whole or dropped, not ${n}`);
      }
      for (const g of segs.filter((g) => g.kind !== 'shot')) for (let t = g.start; t < g.end; t++) assert.ok(k.includes(t), 'system and question kept');
    }
    const snap = createPress('snapkv', { window: 8 }).compress(viewWith(s, segs), { ratio })!;
    const partial = [1, 2, 3, 4, 5, 6].filter((i) => {
      const n = [...snap[0]!].filter((j) => shotOf(j) === i).length;
      return n > 0 && n < 12;
    });
    assert.ok(partial.length > 0, `SnapKV splits at least one shot at ratio ${ratio}`);
  }
});

test('Random-Shot keeps whole shots under the budget, chosen by seed; no segments is a clear error, zero-shot is cut to the budget', () => {
  const segs = layout(3, [8, 8, 8, 8, 8], 6);
  const s = syntheticLayer({ T: segs.at(-1)!.end, seed: 3 });
  const picks = [0, 1, 2, 3].map((seed) => {
    const p = createPress('random-shot', { seed }) as ShotPress;
    const keep = p.compress(viewWith(s, segs), { ratio: 0.4 })!;
    assert.equal(keep[0]!.length, 9 + 8 * 2, 'two whole shots fit in floor(49 · 0.6) = 29 with 9 protected');
    assert.deepEqual(keep[0], keep[1]);
    return p.keptShots()[0]!.join(',');
  });
  assert.ok(new Set(picks).size > 1, 'different seeds choose different shots');
  assert.throws(() => createPress('shotkv').compress(viewWith(s, []), { ratio: 0.5 }), /no segments/);
  const zeroShot: SegmentRange[] = [{ kind: 'system', start: 0, end: 20 }, { kind: 'question', start: 20, end: s.T }];
  assert.equal(createPress('shotkv', { keepProtected: true }).compress(viewWith(s, zeroShot), { ratio: 0.5 }), null, "zero-shot, the paper's reading: nothing to drop");
  const cut = createPress('shotkv').compress(viewWith(s, zeroShot), { ratio: 0.5 })!;
  assert.deepEqual([...cut[0]!], naiveShotKV(s, zeroShot, 0.5), 'zero-shot: the budget holds, cut inside the protected text by attention');
  assert.equal(cut[0]!.length, keepCount(s.T, { ratio: 0.5 }));
});

test("ShotKV: protected text beyond the budget is cut to it, or kept whole with keepProtected (the paper's reading)", () => {
  const segs = layout(20, [6, 6], 14);
  const T = segs.at(-1)!.end;
  const s = syntheticLayer({ T, seed: 11 });
  const B = keepCount(T, { ratio: 0.7 });
  assert.ok(34 > B, 'protected 34 entries exceed the budget');
  const strict = createPress('shotkv', { keepProtected: true }).compress(viewWith(s, segs), { ratio: 0.7 })!;
  for (const k of strict) assert.equal(k.length, 34, 'every protected entry, no shot');
  const cut = createPress('shotkv').compress(viewWith(s, segs), { ratio: 0.7 })!;
  for (const k of cut) assert.deepEqual([...k], naiveShotKV(s, segs, 0.7));
  assert.equal(cut[0]![0], 0, 'BOS kept');
});

test('splitShots: blank-line blocks, the last is the question, texts concatenate to the prompt', () => {
  const prompt = 'Q: 1+1\nA: 2\n\nQ: 2+2\nA: 4\n\n\n\nQ: 3+3\nA:';
  const segs = splitShots(prompt);
  assert.deepEqual(
    segs.map((s) => s.kind),
    ['shot', 'shot', 'question'],
  );
  assert.equal(segs.map((s) => s.text).join(''), prompt);
  assert.equal(segs[1]!.text, 'Q: 2+2\nA: 4\n\n\n\n');
  assert.deepEqual(
    splitShots('a###b###c', '###').map((s) => s.text),
    ['a###', 'b###', 'c'],
  );
  assert.throws(() => splitShots('x', ''), /must not be empty/);
});

/** Naive decoding-phase rule: prefill entries untouched; of the generated ones, the recent and the top summed scores. */
function naiveDecode(s: Layer, startPos: number, promptEnd: number, decodeRatio: number, recent: number): number[] {
  const T = s.heads[0]!.length;
  const G = startPos + 1 - promptEnd;
  const nKeep = Math.floor(G * (1 - decodeRatio) + 1e-9);
  const f = T - G;
  if (G <= nKeep) return Array.from({ length: T }, (_, j) => j);
  const score = Array.from({ length: T }, () => 0);
  for (let h = 0; h < s.config.nKvHeads; h++) {
    const row = naiveWindowAttention({ ...s, queries: s.queries }, 1, h, 1, startPos)[0]!;
    row.forEach((v, j) => (score[j]! += v));
  }
  const gen = Array.from({ length: G }, (_, i) => f + i);
  const prot = new Set(gen.slice(Math.max(0, G - recent)));
  const rest = gen.filter((j) => !prot.has(j)).sort((a, b) => score[b]! - score[a]! || a - b);
  const kept = [...prot, ...rest.slice(0, Math.max(0, nKeep - prot.size))];
  return [...Array.from({ length: f }, (_, j) => j), ...kept.sort((a, b) => a - b)];
}

test('ShotKV decoding phase matches the naive rule and never touches the prefill entries', () => {
  // A cache of 30 prompt entries (positions 0..29, some already evicted) plus 20 generated (30..49).
  const s = syntheticLayer({ T: 50, seed: 8 });
  for (const h of s.heads) {
    const keepIdx = Int32Array.from([...Array.from({ length: 30 }, (_, i) => i).filter((i) => i % 3 !== 1), ...Array.from({ length: 20 }, (_, i) => 30 + i)]);
    h.keep(keepIdx);
  }
  const q = s.queries.subarray((49 * s.config.nHeads) * s.config.headDim);
  const view = new CacheLayerView({ layer: 0, queries: q, n: 1, startPos: 49, heads: s.heads }, s.config, Array.from({ length: 50 }, () => 5));
  for (const [ratio, recent] of [[0.5, 8], [0.7, 2], [0.2, 0]] as const) {
    const keep = shotkvDecoding({ promptEnd: 30, decodeRatio: ratio, recent, accumulate: false }).compress(view, { ratio })!;
    const want = naiveDecode({ ...s, queries: q }, 49, 30, ratio, recent);
    for (const k of keep) assert.deepEqual([...k], want, `decodeRatio ${ratio} recent ${recent}`);
  }
});

test('ShotKV in a session: segments, shot-level prefill, its own decoding phase with its own ratio', () => {
  const { model, tokenizer } = tinyModel({ nLayers: 2, maxSeqLen: 128 });
  const segments: Segment[] = [
    { kind: 'system', text: 'sys:' },
    { kind: 'shot', text: 'abcdefghij' },
    { kind: 'shot', text: 'klmnopqrst' },
    { kind: 'shot', text: 'uvwxyzABCD' },
    { kind: 'shot', text: 'EFGHIJKLMN' },
    { kind: 'question', text: 'q?' },
  ];
  const prompt = segments.map((g) => g.text).join('');
  const shotkv = { compression: { press: 'shotkv', ratio: 0.6, decodeRatio: 0.5 } };
  const s = new Session(model, tokenizer, shotkv);
  s.prefill(prompt, { segments });
  const T = s.stats.promptTokens;
  assert.equal(T, 1 + prompt.length);
  const after = s.cache.layer(0).map((h) => h.positions.slice(0, h.length));
  for (const h of s.cache.layer(0)) {
    assert.ok(h.length <= keepCount(T, { ratio: 0.6 }));
    assert.equal((h.length - 7) % 10, 0, 'protected 7 + whole shots of 10');
  }
  for (let i = 0; i < 30; i++) s.step(3 + (i % 20));
  for (let l = 0; l < 2; l++)
    s.cache.layer(l).forEach((h, k) => {
      const pos = [...h.positions.slice(0, h.length)];
      const prompt = pos.filter((p) => p < T);
      if (l === 0) assert.deepEqual(prompt, [...after[k]!], 'prefill entries frozen');
      const gen = pos.length - prompt.length;
      assert.equal(gen, Math.max(8, Math.floor(30 * 0.5)), 'generated entries: floor(r_d · 30), at least the 8 recent');
      assert.ok(pos.at(-1) === T + 29, 'the newest entry is kept');
    });
  assert.throws(() => new Session(model, tokenizer, shotkv).prefill(prompt), /no segments/);
  // Plain text split into shots: BOS falls in the first shot's segment but is never dropped.
  const plain = 'abcdefghij\n\nklmnopqrst\n\nuvwxyzABCD\n\nq?';
  const b = new Session(model, tokenizer, { compression: { press: 'shotkv', ratio: 0.8 } });
  b.prefill(plain, { segments: splitShots(plain) });
  for (let l = 0; l < 2; l++) for (const h of b.cache.layer(l)) assert.equal(h.positions[0], 0, 'BOS kept');
  // A question prefilled after the compressed context is prompt too: frozen, not a decoding candidate.
  const q = new Session(model, tokenizer, shotkv);
  q.prefill(prompt, { segments });
  q.prefill('question?', { segments: [{ kind: 'question', text: 'question?' }], compress: false });
  for (let i = 0; i < 12; i++) q.step(3 + i);
  for (const h of q.cache.layer(1)) {
    const pos = [...h.positions.slice(0, h.length)];
    for (let p = T; p < T + 9; p++) assert.ok(pos.includes(p), `question entry ${p} kept`);
    assert.equal(pos.filter((p) => p >= T + 9).length, Math.max(8, Math.floor(12 * 0.5)));
  }
});
