import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { AdamW } from '../../scripts/train-tiny/adamw.js';
import { loadExportedRun, RUN_FILE } from '../../scripts/train-tiny/exported-run.js';
import { initParams } from '../../scripts/train-tiny/tf-model.js';
import { loadState } from '../../scripts/train-tiny/train-state.js';
import { configOf, train } from '../../scripts/train-tiny/train.js';
import { tinyTraining } from '../helpers/tiny-training.js';

const { root, tiny } = tinyTraining('exported-run');

test('a run continues from its exported model: same weights, same progress, a new phase that names the model', async () => {
  const exportDir = join(root, 'model');
  const first = await train(tiny({ seq: 1152, batch: 1, steps: 5, dir: join(root, 'first'), exportDir, evalN: 1 }));
  const record = JSON.parse(readFileSync(join(exportDir, RUN_FILE), 'utf8'));
  assert.equal(record.step, 5);
  assert.deepEqual(record.history.map((h: { step: number }) => h.step), [5], 'the record keeps only the checked and the last step');
  assert.ok(record.history[0].accuracy && Number.isFinite(record.history[0].loss));

  const o = tiny({ seq: 1152, batch: 1, steps: 5, dir: join(root, 'continued'), fromModel: exportDir, ruleShare: 2 });
  const continued = await train(o);
  assert.equal(continued.meta.step, 5);
  assert.equal(continued.meta.tokens, first.meta.tokens);
  for (const [name, p] of first.params) assert.deepEqual(continued.params.get(name)!.dataSync(), p.dataSync(), name);
  assert.deepEqual(continued.meta.phases?.map((p) => p.fromStep), [0, 5]);
  assert.deepEqual(continued.meta.phases?.at(-1)?.options, { ...continued.meta.options, fromModel: exportDir });
  assert.equal(continued.meta.options.ruleShare, 2);

  // Once the new run has a state, it resumes from it and the model is not read again.
  const later = await train({ ...o, steps: 7 });
  assert.equal(later.meta.step, 7);
  assert.equal(later.meta.phases?.length, 3, 'the longer schedule is a phase of its own');
});

test('continuing from a model refuses one without a run record, another configuration, or a second way to start', async () => {
  const exportDir = join(root, 'refused');
  await train(tiny({ seq: 1152, batch: 1, steps: 1, dir: join(root, 'refused-run'), exportDir, evalN: 1 }));
  await assert.rejects(train(tiny({ layers: 3, dir: join(root, 'r1'), fromModel: exportDir })), /another configuration/);
  await assert.rejects(train(tiny({ dir: join(root, 'r2'), fromModel: exportDir, growFrom: join(root, 'refused-run') })), /give one/);
  const record = readFileSync(join(exportDir, RUN_FILE), 'utf8');
  writeFileSync(join(exportDir, RUN_FILE), record.replace('"hiddenDim": 64', '"hiddenDim": 65'));
  await assert.rejects(train(tiny({ dir: join(root, 'r3'), fromModel: exportDir })), /another configuration/);
  rmSync(join(exportDir, RUN_FILE));
  await assert.rejects(train(tiny({ dir: join(root, 'r4'), fromModel: exportDir })), /has no training-run\.json/);
  assert.ok(!existsSync(join(root, 'r4', 'state.json')));
});

test('loading a saved state or an exported run leaves no tensor behind', async () => {
  const o = tiny({ seq: 1152, batch: 1, steps: 1, dir: join(root, 'loads'), exportDir: join(root, 'loads-model'), evalN: 1 });
  await train(o);
  const params = initParams(configOf(o), 1);
  const opt = new AdamW(params);
  const before = tf.memory().numTensors;
  loadState(o.dir, params, opt);
  loadExportedRun(o.exportDir, params, configOf(o));
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([...params.values(), ...opt.m.values(), ...opt.v.values()]);
});
