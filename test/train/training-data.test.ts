import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BOS, decodeChars, encodeChars, EOS, VOCAB_SIZE } from '../../scripts/train-tiny/char-vocab.js';
import { trainingBatch } from '../../scripts/train-tiny/training-data.js';
import { syntheticSuite } from '../../src/eval/tasks/registry.js';
import { promptOf } from '../../src/eval/tasks/task.js';

test('char vocabulary round-trips every generator text', () => {
  for (const t of syntheticSuite)
    for (const e of t.examples(1, 5)) {
      const text = promptOf(e) + e.answer;
      const ids = encodeChars(text);
      assert.ok(ids.every((id) => id > EOS && id < VOCAB_SIZE));
      assert.equal(decodeChars(ids), text);
    }
});

test('packed rows: whole documents, next-token targets within a document, block-causal masks, deterministic by step', () => {
  const T = 300;
  const b = trainingBatch(5, 17, 3, T, 0.5);
  assert.deepEqual(b, trainingBatch(5, 17, 3, T, 0.5));
  assert.notDeepEqual(b.ids, trainingBatch(5, 18, 3, T, 0.5).ids);
  for (let r = 0; r < b.B; r++) {
    // Naive document boundaries: a document starts at each BOS and runs to its EOS target.
    let doc = -1;
    const docOf: number[] = [];
    let open = false;
    for (let t = 0; t < T; t++) {
      const id = b.ids[r * T + t]!;
      if (id === BOS) {
        doc++;
        open = true;
      }
      docOf.push(open ? doc : -1 - t);
      if (open) {
        const next = t + 1 < T ? b.ids[r * T + t + 1] : undefined;
        if (b.targets[r * T + t] === EOS) open = false;
        else assert.equal(b.targets[r * T + t], next, `row ${r} t ${t}: target is the next character`);
        assert.ok(b.weights[r * T + t]! > 0);
      } else assert.equal(b.weights[r * T + t], 0, 'padding has no weight');
    }
    assert.ok(doc >= 0 && b.ids[r * T] === BOS);
    const mask = b.masks[r]!;
    for (let i = 0; i < T; i++)
      for (let j = 0; j < T; j++) assert.equal(mask[i * T + j], j <= i && docOf[i] === docOf[j] ? 0 : -1e9, `row ${r} (${i}, ${j})`);
  }
});
