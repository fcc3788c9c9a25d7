import assert from 'node:assert/strict';
import { test } from 'node:test';
import { klDivergence } from '../../src/kernels/kl-divergence.js';

test('KL divergence matches the textbook formula and is zero for identical or shifted logits', () => {
  const p = Float32Array.from([1, 2, 0.5, -1]);
  const q = Float32Array.from([0.2, 2.5, 0, 1]);
  const soft = (x: Float32Array) => {
    const e = [...x].map(Math.exp);
    const z = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / z);
  };
  const P = soft(p);
  const Q = soft(q);
  const expected = P.reduce((a, pi, i) => a + pi * Math.log(pi / Q[i]!), 0);
  assert.ok(Math.abs(klDivergence(p, q) - expected) < 1e-9);
  assert.equal(klDivergence(p, p), 0);
  assert.ok(klDivergence(p, p.map((v) => v + 3)) < 1e-12);
});
