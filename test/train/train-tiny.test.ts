import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { loadModel } from '../../src/model/load-model.js';
import { BOS, encodeChars } from '../../scripts/train-tiny/char-vocab.js';
import { exportModel } from '../../scripts/train-tiny/export-model.js';
import { forward, loss, ropeTables } from '../../scripts/train-tiny/tf-model.js';
import { configOf, train, type TrainOptions } from '../../scripts/train-tiny/train.js';
import { tinyTraining } from '../helpers/tiny-training.js';
import { trainingBatch } from '../../scripts/train-tiny/training-data.js';

const { root, tiny } = tinyTraining('train');

test('a few steps on a tiny config lower the loss on a fixed batch, and the export runs in kvtrim with the same logits', async () => {
  const o = tiny({});
  const config = configOf(o);
  const fixed = trainingBatch(99, 0, 2, o.seq, 1, o);
  const rot = ropeTables(config, o.seq);
  const { params: initial } = await train({ ...o, dir: join(root, 'zero'), steps: 0 });
  const before = tf.tidy(() => loss(forward(initial, config, fixed, rot), fixed.targets, fixed.weights).dataSync()[0]!);
  const { params } = await train(o);
  const afterLoss = tf.tidy(() => loss(forward(params, config, fixed, rot), fixed.targets, fixed.weights).dataSync()[0]!);
  assert.ok(afterLoss < before - 0.5, `loss ${before} → ${afterLoss}`);

  const dir = join(root, 'export');
  exportModel(dir, params, config, '# test\n');
  assert.ok(statSync(join(dir, 'model.safetensors')).size < 20e6);
  const { model, tokenizer } = await loadModel(dir);
  const text = 'Q: What is the capital of Peru?\nA: Lima\n';
  const ids = tokenizer.encode(text);
  assert.deepEqual(ids, [BOS, ...encodeChars(text)], 'tokenizer.json encodes one token per character after <s>');
  assert.equal(tokenizer.decode(ids), text);
  const T = ids.length;
  const causal = new Float32Array(T * T).map((_, k) => (k % T <= Math.floor(k / T) ? 0 : -1e9));
  const ours = tf.tidy(() => forward(params, config, { ids: Int32Array.from(ids), B: 1, T, blocks: [[{ start: 0, length: T, mask: causal }]] }, rot).dataSync() as Float32Array);
  const theirs = model.forward(ids, model.newCache(), { allLogits: true });
  assert.equal(theirs.length, ours.length);
  let worst = 0;
  for (let i = 0; i < ours.length; i++) worst = Math.max(worst, Math.abs(ours[i]! - theirs[i]!));
  assert.ok(worst <= 1e-4, `max |Δlogit| = ${worst}`);
});

test('attention by blocks equals attention over the whole row with the same block-causal mask', async () => {
  const o = tiny({ seq: 300 });
  const config = configOf(o);
  const { params } = await train({ ...o, dir: join(root, 'blocks'), steps: 0 });
  const b = trainingBatch(7, 3, 2, o.seq, 1, o);
  assert.ok(b.blocks.every((row) => row.length > 1));
  const T = o.seq;
  const whole = b.blocks.map((row) => {
    const m = new Float32Array(T * T).fill(-1e9);
    for (const blk of row) for (let i = 0; i < blk.length; i++) for (let j = 0; j < blk.length; j++) m[(blk.start + i) * T + blk.start + j] = blk.mask[i * blk.length + j]!;
    return [{ start: 0, length: T, mask: m }];
  });
  const rot = ropeTables(config, T);
  const byBlock = tf.tidy(() => forward(params, config, b, rot).dataSync() as Float32Array);
  const byRow = tf.tidy(() => forward(params, config, { ...b, blocks: whole }, rot).dataSync() as Float32Array);
  let worst = 0;
  for (let i = 0; i < byRow.length; i++) worst = Math.max(worst, Math.abs(byRow[i]! - byBlock[i]!));
  assert.ok(worst <= 1e-5, `max |Δlogit| = ${worst}`);
});

test('training is deterministic by seed and a resumed run equals an uninterrupted one', async () => {
  const o = tiny({ steps: 4, dir: join(root, 'straight') });
  const straight = await train(o);
  await train({ ...o, dir: join(root, 'resumed'), stopAfter: 2 });
  // The same options in another key order are the same run (no new phase); where it is saved is not an option of it.
  const resumed = await train(Object.fromEntries(Object.entries({ ...o, dir: join(root, 'resumed') }).reverse()) as unknown as TrainOptions);
  assert.equal(resumed.meta.step, 4);
  assert.equal(resumed.meta.phases, undefined);
  assert.ok(!('dir' in resumed.meta.options) && !('stopAfter' in resumed.meta.options) && resumed.meta.options.ruleShare === 1);
  for (const [name, p] of straight.params) assert.deepEqual(resumed.params.get(name)!.dataSync(), p.dataSync(), name);
  const again = await train({ ...o, dir: join(root, 'again') });
  for (const [name, p] of straight.params) assert.deepEqual(again.params.get(name)!.dataSync(), p.dataSync(), name);
});

test('a warm restart (--schedule-from) resumes with a fresh warm-up, and a restart after the saved step or at the last step is refused', async () => {
  const o = tiny({ steps: 4, dir: join(root, 'restart'), stopAfter: 2 });
  await train(o);
  const lines: string[] = [];
  const restarted = await train({ ...o, steps: 6, scheduleFrom: 2, stopAfter: 0, log: (l) => lines.push(l) });
  assert.equal(restarted.meta.step, 6);
  // Warm-up 2 from step 2: the first restarted step runs at half the peak, the next at the peak.
  assert.deepEqual(lines.filter((l) => l.startsWith('step ')).slice(0, 2).map((l) => /lr (\S+)/.exec(l)![1]), ['5.00e-3', '1.00e-2']);
  assert.deepEqual(restarted.meta.phases?.map((p) => p.options.scheduleFrom), [0, 2]);
  await assert.rejects(train({ ...o, dir: join(root, 'late'), scheduleFrom: 4 }), /--schedule-from 4 must come before --steps 4/);
  await assert.rejects(train({ ...o, steps: 9, scheduleFrom: 7 }), /--schedule-from 7 is after the run's step 6/);
});

test('a SIGTERM stops training after the current step and saves that step', async () => {
  const o = tiny({ steps: 200, dir: join(root, 'signalled') });
  const { meta } = await train({ ...o, log: (l) => l.startsWith('step 2/') && process.kill(process.pid, 'SIGTERM') });
  assert.ok(meta.step >= 2 && meta.step < 10, `stopped at step ${meta.step}`);
  assert.equal(JSON.parse(readFileSync(join(o.dir, 'state.json'), 'utf8')).step, meta.step);
});
