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

test('packed rows: whole documents, next-token targets within a document, block-causal attention blocks, deterministic by step', () => {
  const T = 600;
  const data = { copyShare: 1.5 };
  const b = trainingBatch(5, 17, 3, T, 0.5, data);
  assert.deepEqual(b, trainingBatch(5, 17, 3, T, 0.5, data));
  assert.notDeepEqual(b.ids, trainingBatch(5, 18, 3, T, 0.5, data).ids);
  let blockCount = 0;
  for (let r = 0; r < b.B; r++) {
    // Naive document boundaries: a document starts at each BOS and runs to its EOS target.
    let doc = -1;
    const docOf: number[] = [];
    let open = false;
    let drill = false;
    let answered = false;
    for (let t = 0; t < T; t++) {
      const id = b.ids[r * T + t]!;
      if (id === BOS) {
        doc++;
        open = true;
        drill = decodeChars([...b.ids.subarray(r * T + t + 1, r * T + t + 7)]) === 'Copy: ';
        answered = false;
      }
      docOf.push(open ? doc : -1 - t);
      if (open) {
        const next = t + 1 < T ? b.ids[r * T + t + 1] : undefined;
        if (b.targets[r * T + t] === EOS) open = false;
        else assert.equal(b.targets[r * T + t], next, `row ${r} t ${t}: target is the next character`);
        // A drill's random prompt has no weight up to its "A:"; every other document character has some.
        if (drill && !answered) answered = decodeChars([...b.ids.subarray(r * T + t - 1, r * T + t + 1)]) === 'A:';
        if (drill) assert.equal(b.weights[r * T + t], answered ? 1 : 0, `row ${r} t ${t}: drill weight`);
        else assert.ok(b.weights[r * T + t]! > 0);
      } else assert.equal(b.weights[r * T + t], 0, 'padding has no weight');
    }
    assert.ok(doc >= 0 && b.ids[r * T] === BOS);
    // The blocks tile the row; seen as one T × T mask they are exactly block-causal by document.
    const mask = new Float32Array(T * T).fill(-1e9);
    let at = 0;
    for (const blk of b.blocks[r]!) {
      assert.equal(blk.start, at);
      assert.equal(blk.mask.length, blk.length * blk.length);
      for (let i = 0; i < blk.length; i++) for (let j = 0; j < blk.length; j++) mask[(at + i) * T + at + j] = blk.mask[i * blk.length + j]!;
      at += blk.length;
    }
    assert.equal(at, T);
    blockCount += b.blocks[r]!.length;
    for (let i = 0; i < T; i++)
      for (let j = 0; j < T; j++) assert.equal(mask[i * T + j], j <= i && docOf[i] === docOf[j] ? 0 : -1e9, `row ${r} (${i}, ${j})`);
  }
  assert.ok(blockCount > b.B, 'short documents are grouped into several blocks per row');
});

test('the copying drill appears when it has a share, its answer repeats its prompt, and share 0 has none', () => {
  const T = 400;
  const text = (ids: Int32Array) => decodeChars([...ids].filter((id) => id > EOS));
  let drills = 0;
  for (let step = 0; step < 20; step++) {
    const b = trainingBatch(2, step, 2, T, 1, { copyShare: 1.5 });
    for (const m of text(b.ids).matchAll(/Copy: ([^\n]*)\nA: ([^\n]*)\n/g)) {
      assert.equal(m[2], m[1]);
      drills++;
    }
    const plain = text(trainingBatch(2, step, 2, T, 1, { copyShare: 0 }).ids);
    assert.ok(!plain.includes('Copy: '));
  }
  assert.ok(drills > 10, `${drills} drills`);
});
