import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Sampler, argmax } from '../../src/generate/sampler.js';

const logits = Float32Array.from([0.5, 2.0, -1.0, 1.5, 0.0, 1.9]);

test('temperature 0 is greedy argmax', () => {
  assert.equal(new Sampler().sample(logits), 1);
  assert.equal(argmax(logits), 1);
});

test('top-k 1 and a tiny top-p reduce sampling to the argmax', () => {
  for (let seed = 0; seed < 20; seed++) {
    assert.equal(new Sampler({ temperature: 1, topK: 1, seed }).sample(logits), 1);
    assert.equal(new Sampler({ temperature: 1, topP: 1e-6, seed }).sample(logits), 1);
  }
});

test('seeded sampling is deterministic', () => {
  const run = (seed: number) => {
    const s = new Sampler({ temperature: 0.8, seed });
    return Array.from({ length: 50 }, () => s.sample(logits));
  };
  assert.deepEqual(run(42), run(42));
  assert.notDeepEqual(run(42), run(43));
});

test('sampling frequencies follow the naive softmax / top-k / top-p distribution', () => {
  const temperature = 0.7;
  const topK = 4;
  const topP = 0.9;
  // naive reference: sort, keep top-k, softmax at temperature, keep the nucleus, renormalise
  const order = [...logits.keys()].sort((a, b) => logits[b]! - logits[a]!).slice(0, topK);
  const w = order.map((i) => Math.exp(logits[i]! / temperature));
  const z = w.reduce((a, b) => a + b, 0);
  let cum = 0;
  const nucleus: number[] = [];
  for (let r = 0; r < order.length; r++) {
    nucleus.push(order[r]!);
    cum += w[r]! / z;
    if (cum >= topP) break;
  }
  const zn = nucleus.reduce((a, i) => a + Math.exp(logits[i]! / temperature), 0);
  const expected = new Map(nucleus.map((i) => [i, Math.exp(logits[i]! / temperature) / zn]));

  const s = new Sampler({ temperature, topK, topP, seed: 7 });
  const N = 20000;
  const counts = new Map<number, number>();
  for (let i = 0; i < N; i++) {
    const id = s.sample(logits);
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  for (const id of counts.keys()) assert.ok(expected.has(id), `token ${id} is outside the nucleus`);
  for (const [id, p] of expected) {
    const f = (counts.get(id) ?? 0) / N;
    assert.ok(Math.abs(f - p) < 4 * Math.sqrt((p * (1 - p)) / N) + 1e-3, `token ${id}: frequency ${f} vs probability ${p}`);
  }
});

test('invalid sampling options are rejected', () => {
  assert.throws(() => new Sampler({ temperature: -1 }), /temperature/);
  assert.throws(() => new Sampler({ topP: 0 }), /top-p/);
  assert.throws(() => new Sampler({ topK: 1.5 }), /top-k/);
});
