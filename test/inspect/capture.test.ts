import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ModelConfig } from '../../src/formats/model-config.js';
import { Model } from '../../src/model/model.js';
import { captureAttention } from '../../src/inspect/attention-capture.js';
import type { SegmentRange } from '../../src/press/segment-range.js';
import { randomModel, tinyConfig, toCheckpoint, type LogicalModel } from '../helpers/random-model.js';
import { referenceLogits } from '../helpers/reference-forward.js';

const tokens = [1, 5, 9, 30, 2, 17, 17, 3, 36, 8, 11, 0, 22, 4, 19, 27, 6];
const segments: SegmentRange[] = [
  { kind: 'system', start: 0, end: 4 },
  { kind: 'shot', start: 4, end: 9 },
  { kind: 'shot', start: 9, end: 13 },
  { kind: 'question', start: 13, end: 17 },
];

/** Reference attention rows: ref[layer][head][row] = full-length (T) float64 weights, 0 where unseen. */
function referenceAttention(lm: LogicalModel): number[][][][] {
  const c = lm.config;
  const T = tokens.length;
  const ref = Array.from({ length: c.nLayers }, () => Array.from({ length: c.nHeads }, () => Array.from({ length: T }, () => new Array<number>(T).fill(0))));
  referenceLogits(lm, tokens, (l, h, i, keys, w) => keys.forEach((j, k) => (ref[l]![h]![i]![j] = w[k]!)));
  return ref;
}

/** The study's statistics, written out plainly over the rows [rowStart, T). */
function naiveStats(rows: number[][], rowStart: number, window = Infinity) {
  const used = rows.slice(rowStart);
  const mean = (f: (row: number[], i: number) => number) => used.reduce((a, r, k) => a + f(r, rowStart + k), 0) / used.length;
  return {
    entropy: mean((r) => -r.reduce((a, p) => (p > 0 ? a + p * Math.log(p) : a), 0)),
    top10: mean((r, i) => {
      const visible = r.slice(Math.max(0, i + 1 - window), i + 1).sort((a, b) => b - a);
      const k = Math.max(1, Math.ceil(0.1 * visible.length));
      return visible.slice(0, k).reduce((a, b) => a + b, 0);
    }),
    segmentMass: segments.map((s) => mean((r) => r.slice(s.start, s.end).reduce((a, b) => a + b, 0))),
  };
}

const close = (a: number, b: number, tol: number, what: string) => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

const variants: [string, Partial<ModelConfig>][] = [
  ['GQA', {}],
  ['multi-head', { nKvHeads: 4 }],
  ['sliding window', { arch: 'mistral', slidingWindow: 5 }],
];

for (const [name, over] of variants) {
  test(`capture matches float64 reference attention and statistics: ${name}`, () => {
    const lm = randomModel(tinyConfig({ nLayers: 3, ...over }), 11, 0.6);
    const ref = referenceAttention(lm);
    const model = Model.fromCheckpoint(toCheckpoint(lm));
    const cap = captureAttention(model, tokens, { segments });
    const T = tokens.length;
    const c = lm.config;
    assert.equal(cap.block, 1);
    assert.equal(cap.rowStart, 0);
    assert.equal(cap.maps.length, c.nLayers * c.nHeads);
    for (const m of cap.maps) {
      assert.equal(m.kvHead, Math.floor(m.head / (c.nHeads / c.nKvHeads)));
      const rows = ref[m.layer]![m.head]!;
      for (let i = 0; i < T; i++) for (let j = 0; j < T; j++) close(m.weights[i * T + j]!, rows[i]![j]!, 2e-5, `L${m.layer} H${m.head} (${i},${j})`);
      const want = naiveStats(rows, 0, c.slidingWindow);
      close(m.stats.entropy, want.entropy, 1e-5, 'entropy');
      close(m.stats.top10, want.top10, 1e-5, 'top10');
      m.stats.segmentMass.forEach((v, s) => close(v, want.segmentMass[s]!, 1e-5, `segment ${s}`));
      close(m.stats.segmentMass.reduce((a, b) => a + b, 0), 1, 1e-5, 'segments cover every key');
    }
  });
}

test('a subset of layers and heads, the last rows only, pooled blocks: each cell is the naive pooled mass', () => {
  const lm = randomModel(tinyConfig({ nLayers: 3 }), 5, 0.6);
  const ref = referenceAttention(lm);
  const model = Model.fromCheckpoint(toCheckpoint(lm));
  const T = tokens.length;
  const B = 3;
  const cap = captureAttention(model, tokens, { layers: [2, 0], heads: [3, 1], lastRows: 8, block: B, segments });
  assert.deepEqual(cap.maps.map((m) => [m.layer, m.head]), [[0, 1], [0, 3], [2, 1], [2, 3]]);
  assert.equal(cap.rowStart, T - 8);
  assert.equal(cap.rows, Math.ceil(8 / B));
  assert.equal(cap.cols, Math.ceil(T / B));
  for (const m of cap.maps) {
    const rows = ref[m.layer]![m.head]!;
    for (let r = 0; r < cap.rows; r++) {
      const qs = [...Array(T).keys()].filter((i) => i >= cap.rowStart && Math.floor((i - cap.rowStart) / B) === r);
      let rowSum = 0;
      for (let cb = 0; cb < cap.cols; cb++) {
        let want = 0;
        for (const i of qs) for (let j = cb * B; j < Math.min(T, cb * B + B); j++) want += rows[i]![j]! / qs.length;
        close(m.weights[r * cap.cols + cb]!, want, 2e-5, `L${m.layer} H${m.head} block (${r},${cb})`);
        rowSum += m.weights[r * cap.cols + cb]!;
      }
      close(rowSum, 1, 1e-5, 'a pooled row still sums to 1');
    }
    // statistics come from full-resolution rows, so pooling does not change them
    const want = naiveStats(rows, cap.rowStart);
    close(m.stats.entropy, want.entropy, 1e-5, 'entropy');
    close(m.stats.top10, want.top10, 1e-5, 'top10');
    m.stats.segmentMass.forEach((v, s) => close(v, want.segmentMass[s]!, 1e-5, `segment ${s}`));
  }
});

test('without a block size the capture pools just enough to stay under maxCells', () => {
  const model = Model.fromCheckpoint(toCheckpoint(randomModel(tinyConfig(), 2)));
  const T = tokens.length;
  const cells = (b: number) => 2 * 4 * Math.ceil(T / b) ** 2;
  const maxCells = 600;
  const cap = captureAttention(model, tokens, { maxCells });
  assert.ok(cap.maps.length * cap.rows * cap.cols <= maxCells);
  assert.ok(cells(cap.block - 1) > maxCells, `block ${cap.block} is not the smallest that fits`);
  assert.equal(cap.maps.length * cap.rows * cap.cols, cells(cap.block));
});

test('bad capture options are clear RangeErrors', () => {
  const model = Model.fromCheckpoint(toCheckpoint(randomModel(tinyConfig(), 2)));
  assert.throws(() => captureAttention(model, []), /empty prompt/);
  assert.throws(() => captureAttention(model, tokens, { layers: [2] }), /layer 2 outside 0…1/);
  assert.throws(() => captureAttention(model, tokens, { heads: [-1] }), /head -1 outside/);
  assert.throws(() => captureAttention(model, tokens, { heads: [] }), /no heads chosen/);
  assert.throws(() => captureAttention(model, tokens, { lastRows: 0 }), /lastRows/);
  assert.throws(() => captureAttention(model, tokens, { block: 1.5 }), /block/);
});
