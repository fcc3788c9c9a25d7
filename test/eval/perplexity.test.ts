import assert from 'node:assert/strict';
import { test } from 'node:test';
import { perplexity } from '../../src/eval/perplexity.js';
import { Model } from '../../src/model/model.js';
import { randomModel, tinyConfig, toCheckpoint } from '../helpers/random-model.js';
import { referenceLogits } from '../helpers/reference-forward.js';

const lm = randomModel(tinyConfig({ maxSeqLen: 32 }), 4, 0.5);
const ids = Array.from({ length: 47 }, (_, t) => (t * 11 + ((t * t) % 7)) % 37);

/** Naive: token t ≥ 1 is predicted, in float64, from the start of the first window (begins 0, s, 2s, …) that reaches past it. */
function naivePerplexity(window: number, stride: number): number {
  let sum = 0;
  for (let t = 1; t < ids.length; t++) {
    let begin = 0;
    while (Math.min(begin + window, ids.length) <= t) begin += stride;
    const rows = referenceLogits(lm, ids.slice(begin, t + 1));
    const last = rows[rows.length - 2]!;
    const max = Math.max(...last);
    sum += Math.log(last.reduce((s, v) => s + Math.exp(v - max), 0)) + max - last[ids[t]!]!;
  }
  return Math.exp(sum / (ids.length - 1));
}

test('sliding-window perplexity equals a naive float64 evaluation', () => {
  const model = Model.fromCheckpoint(toCheckpoint(lm));
  for (const [window, stride] of [[16, 5], [16, 15], [32, 16], [2, 1]] as const) {
    const windows: number[] = [];
    const got = perplexity(model, ids, { window, stride, onWindow: (scored) => windows.push(scored) });
    const ref = naivePerplexity(window, stride);
    assert.equal(got.tokens, ids.length - 1);
    assert.equal(windows.at(-1), ids.length - 1);
    assert.ok(Math.abs(got.perplexity - ref) < 1e-5 * ref, `window ${window} stride ${stride}: ${got.perplexity} vs ${ref}`);
    assert.ok(Math.abs(got.nll - Math.log(got.perplexity)) < 1e-12);
  }
});

test('perplexity rejects bad windows, strides and too-short texts', () => {
  const model = Model.fromCheckpoint(toCheckpoint(lm));
  assert.throws(() => perplexity(model, ids, { window: 33 }), /window/);
  assert.throws(() => perplexity(model, ids, { window: 16, stride: 16 }), /stride/);
  assert.throws(() => perplexity(model, ids, { window: 16, stride: 0 }), /stride/);
  assert.throws(() => perplexity(model, [3]), /at least 2 tokens/);
});
