import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { AdamW, ADAMW_DEFAULTS, learningRate } from '../../scripts/train-tiny/adamw.js';
import type { Params } from '../../scripts/train-tiny/tf-model.js';
import { useWasmBackend } from '../../scripts/train-tiny/train.js';

before(useWasmBackend);

test('AdamW steps match a float64 reference (bias correction, clipping, decay only on matrices)', () => {
  const w0 = [0.5, -1, 2, 0.25];
  const g0 = [[3, -4, 0.5, 1], [-0.1, 0.2, 0.3, -0.4]];
  const params: Params = new Map<string, tf.Variable>([
    ['m', tf.variable(tf.tensor2d(w0, [2, 2]))],
    ['n', tf.variable(tf.tensor1d(w0))],
  ]);
  const opt = new AdamW(params);
  const { beta1, beta2, eps, weightDecay, clipNorm } = ADAMW_DEFAULTS;
  const ref = { m: { w: [...w0], m: [0, 0, 0, 0], v: [0, 0, 0, 0] }, n: { w: [...w0], m: [0, 0, 0, 0], v: [0, 0, 0, 0] } };
  g0.forEach((g, k) => {
    const lr = 0.01 * (k + 1);
    const norm = Math.sqrt(2 * g.reduce((a, x) => a + x * x, 0));
    const scale = norm > clipNorm ? clipNorm / norm : 1;
    const got = opt.apply(params, { [params.get('m')!.name]: tf.tensor2d(g, [2, 2]), [params.get('n')!.name]: tf.tensor1d(g) }, lr);
    assert.ok(Math.abs(got - norm) < 1e-4);
    for (const [name, s] of Object.entries(ref)) {
      for (let i = 0; i < 4; i++) {
        const gi = g[i]! * scale;
        s.m[i] = beta1 * s.m[i]! + (1 - beta1) * gi;
        s.v[i] = beta2 * s.v[i]! + (1 - beta2) * gi * gi;
        const update = s.m[i]! / (1 - beta1 ** (k + 1)) / (Math.sqrt(s.v[i]! / (1 - beta2 ** (k + 1))) + eps);
        s.w[i] = (name === 'm' ? s.w[i]! * (1 - lr * weightDecay) : s.w[i]!) - lr * update;
      }
    }
  });
  for (const [name, s] of Object.entries(ref)) {
    const got = params.get(name)!.dataSync();
    s.w.forEach((w, i) => assert.ok(Math.abs(got[i]! - w) < 1e-6, `${name}[${i}] ${got[i]} vs ${w}`));
  }
});

test('learning rate: linear warm-up to the peak, cosine down to 10%', () => {
  assert.equal(learningRate(0, 100, 1, 10), 0.1);
  assert.equal(learningRate(9, 100, 1, 10), 1);
  assert.ok(Math.abs(learningRate(10, 100, 1, 10) - 1) < 1e-12);
  assert.ok(Math.abs(learningRate(55, 100, 1, 10) - 0.55) < 1e-12);
  assert.ok(Math.abs(learningRate(100, 100, 1, 10) - 0.1) < 1e-12);
  assert.ok(Math.abs(learningRate(500, 100, 1, 10) - 0.1) < 1e-12);
  // A warm restart at step 1000: the same shape over steps 1000…1100.
  for (const s of [0, 9, 10, 55, 100]) assert.equal(learningRate(1000 + s, 1100, 1, 10, 1000), learningRate(s, 100, 1, 10));
});
