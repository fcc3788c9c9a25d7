/**
 * An exported model carries its run: beside the weights, `training-run.json` holds the run's meta (options, phases,
 * progress, the held-out checks), so training can continue from the committed model when the run directory is gone.
 * The AdamW moments are not exported (they would triple the file): a run continued this way starts them afresh.
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readHfCheckpoint } from '../../src/formats/hf-checkpoint.js';
import { isLinear, type Params } from './tf-model.js';
import type { RunMeta } from './train-state.js';
import { sameConfig, type TinyConfig } from './tiny-config.js';

export const RUN_FILE = 'training-run.json';

/** Writes the run's meta; its loss history is cut to the held-out checks and the last step (what the card reads). */
export function writeRunRecord(dir: string, meta: RunMeta): void {
  const history = meta.history.filter((h, i) => h.accuracy || i === meta.history.length - 1);
  writeFileSync(join(dir, RUN_FILE), JSON.stringify({ ...meta, history }, null, 1) + '\n');
}

/** The run meta of an exported model, and its weights loaded into `params` (built for `config`, which must be the run's). */
export function loadExportedRun(dir: string, params: Params, config: TinyConfig): RunMeta {
  const path = join(dir, RUN_FILE);
  if (!existsSync(path)) throw new Error(`${dir} has no ${RUN_FILE}: it was not exported by this trainer's run`);
  const meta = JSON.parse(readFileSync(path, 'utf8')) as RunMeta;
  if (!sameConfig(meta.config, config)) throw new Error(`${dir} was trained with another configuration than this run's`);
  const { tensors } = readHfCheckpoint(dir);
  for (const [name, p] of params) {
    const t = tensors.get(name);
    if (!t) throw new Error(`${dir}: the model has no ${name}`);
    if (t.dtype !== 'f32') throw new Error(`${dir}: ${name} is ${t.dtype}; training continues only from float32 weights`);
    // HF holds linear maps as [out, in]; the trainer holds them transposed.
    const shape = isLinear(name) ? [...t.shape].reverse() : t.shape;
    if (shape.join() !== p.shape.join()) throw new Error(`${dir}: ${name} has shape [${t.shape}], this run needs [${p.shape}]`);
    const data = new Float32Array(t.data.slice().buffer);
    tf.tidy(() => {
      const w = tf.tensor(data, t.shape);
      p.assign(isLinear(name) ? tf.transpose(w) : w);
    });
  }
  return meta;
}
