import * as tf from '@tensorflow/tfjs';
import { join } from 'node:path';
import { AdamW, learningRate } from './adamw.js';
import { VOCAB_SIZE } from './char-vocab.js';
import { exportModel } from './export-model.js';
import { heldOutAccuracy } from './held-out.js';
import { modelCard } from './model-card.js';
import { forward, initParams, loss, ropeTables, type Params } from './tf-model.js';
import { sameConfig, type TinyConfig } from './tiny-config.js';
import { trainingBatch } from './training-data.js';
import { hasState, loadState, savedConfig, saveState, type RunMeta } from './train-state.js';
import { growInto } from './grow.js';
import { loadExportedRun, writeRunRecord } from './exported-run.js';
import type { DrillOptions, DrillShares } from './drills.js';

/** A run's options; the drills' shares and curricula (drills.ts) beside the tasks' weights (see --mix in scripts/train-tiny.ts). */
export interface TrainOptions extends DrillShares, DrillOptions {
  dim: number;
  hidden: number;
  layers: number;
  heads: number;
  kvHeads: number;
  seq: number;
  batch: number;
  steps: number;
  lr: number;
  warmup: number;
  /** The step where the warm-up and cosine schedule start (a warm restart of a resumed run); 0 = the run's start. */
  scheduleFrom: number;
  seed: number;
  /** Loss weight of the worked answers inside few-shot prompts (the rest of a prompt weighs 0.3, the answer 1). */
  shotAnswerWeight: number;
  /** Task reweighting (`code=3,safety=2`; '' = the default mix): see taskMix in training-data.ts. */
  mix: string;
  /** A saved run to grow into this (deeper, more KV heads) configuration when `dir` holds no state yet: see grow.ts. */
  growFrom?: string;
  /** An exported model (with its training-run.json) to continue from when `dir` holds no state: see exported-run.ts. */
  fromModel?: string;
  /** Run directory: resumable state, the evaluation export. */
  dir: string;
  /** Where the finished model goes (config.json, model.safetensors, tokenizer.json, README.md); '' = nowhere. */
  exportDir: string;
  checkpointEvery: number;
  /** Held-out evaluation (and export) every this many steps; 0 = only at the end. */
  evalEvery: number;
  evalN: number;
  /** Stop after this many steps in this process (the run can be resumed); 0 = no limit. */
  stopAfter: number;
  /** Evaluate and export the saved state without training or saving (safe beside a running trainer). */
  exportOnly?: boolean;
  log: (line: string) => void;
}

export function configOf(o: Pick<TrainOptions, 'dim' | 'hidden' | 'layers' | 'heads' | 'kvHeads' | 'seq'>): TinyConfig {
  return { dim: o.dim, hiddenDim: o.hidden, nLayers: o.layers, nHeads: o.heads, nKvHeads: o.kvHeads, vocabSize: VOCAB_SIZE, maxSeqLen: o.seq, normEps: 1e-5, ropeTheta: 10000 };
}

export async function useWasmBackend(): Promise<void> {
  await import('@tensorflow/tfjs-backend-wasm');
  await tf.setBackend('wasm');
  await tf.ready();
}

/** Options compared by value, whatever order their keys were written in. */
const sameOptions = (a: Record<string, number | string>, b: Record<string, number | string>) =>
  Object.keys(a).length === Object.keys(b).length && Object.entries(a).every(([k, v]) => b[k] === v);

/** Records that training continues from the current step with `options` (the first phase is the run's start). */
function startPhase(meta: RunMeta, options: Record<string, number | string>): void {
  meta.phases = [...(meta.phases ?? [{ fromStep: 0, options: meta.options }]), { fromStep: meta.step, options }];
}

/** Trains (resuming from `dir` when it holds a state), checkpoints, evaluates and exports; returns the final state. */
export async function train(o: TrainOptions): Promise<{ params: Params; meta: RunMeta; config: TinyConfig }> {
  const config = configOf(o);
  if (o.scheduleFrom > 0 && o.scheduleFrom >= o.steps) throw new Error(`--schedule-from ${o.scheduleFrom} must come before --steps ${o.steps}`);
  const params = initParams(config, o.seed);
  const opt = new AdamW(params);
  // What shapes the model and its data is saved with the run; where it goes and how often it reports is not.
  const { growFrom, fromModel, dir, exportDir, checkpointEvery, evalEvery, evalN, stopAfter, exportOnly, log, ...options } = o;
  let meta: RunMeta = { config, options, step: 0, tokens: 0, trainSeconds: 0, history: [] };
  if (o.growFrom && o.fromModel) throw new Error('--grow-from and --from-model are two ways to start a run: give one');
  if (!hasState(o.dir) && o.growFrom) {
    if (!hasState(o.growFrom)) throw new Error(`--grow-from ${o.growFrom} holds no saved state`);
    const from = savedConfig(o.growFrom);
    const oldParams = initParams(from, o.seed);
    const oldOpt = new AdamW(oldParams);
    meta = { ...loadState(o.growFrom, oldParams, oldOpt), config };
    growInto(oldParams, oldOpt, from, params, opt, config);
    tf.dispose([...oldParams.values(), ...oldOpt.m.values(), ...oldOpt.v.values()]);
    startPhase(meta, { ...options, growFrom: o.growFrom });
    meta.options = options;
    o.log(`grew ${o.growFrom} (${from.nLayers} layers, ${from.nKvHeads} KV heads) at step ${meta.step}`);
  } else if (!hasState(o.dir) && o.fromModel) {
    meta = loadExportedRun(o.fromModel, params, config);
    // Its moments start afresh (opt.step 0), so the phase is recorded even when the options stay the same.
    startPhase(meta, { ...options, fromModel: o.fromModel });
    meta.options = options;
    o.log(`continuing ${o.fromModel} at step ${meta.step} (AdamW moments start afresh)`);
  } else if (hasState(o.dir)) {
    meta = loadState(o.dir, params, opt);
    if (!sameConfig(meta.config, config)) throw new Error(`${o.dir} holds a run of another configuration; use another --dir`);
    // A resumed run may change its options (a longer schedule, another mix): the card lists each phase.
    // Evaluating a saved state trains nothing, so it starts no phase.
    if (!o.exportOnly) {
      if (!sameOptions(meta.options, options)) startPhase(meta, options);
      meta.options = options;
    }
    o.log(`resumed at step ${meta.step}`);
  }
  if (o.scheduleFrom > meta.step) throw new Error(`--schedule-from ${o.scheduleFrom} is after the run's step ${meta.step}: a warm restart starts at or before it`);
  const paramCount = [...params.values()].reduce((a, p) => a + p.size, 0);
  o.log(`model: ${paramCount} parameters, ${JSON.stringify(config)}`);
  const rot = ropeTables(config, o.seq);

  const evaluate = async () => {
    const evalDir = join(o.dir, o.exportOnly ? 'export-only' : 'eval-export');
    exportModel(evalDir, params, config);
    const t0 = Date.now();
    const accuracy = await heldOutAccuracy(evalDir, o.evalN);
    o.log(`step ${meta.step} held-out accuracy ${JSON.stringify(accuracy)} (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
    const last = meta.history.at(-1);
    if (last && last.step === meta.step) last.accuracy = accuracy;
    else meta.history.push({ step: meta.step, loss: NaN, accuracy });
    if (o.exportDir) {
      exportModel(o.exportDir, params, config, modelCard(meta, paramCount, o.evalN));
      writeRunRecord(o.exportDir, meta);
    }
  };

  if (o.exportOnly) {
    if (!hasState(o.dir)) throw new Error(`${o.dir} holds no saved state to export`);
    await evaluate();
    return { params, meta, config };
  }
  let stopping = false;
  const onSignal = () => (stopping = true);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const first = meta.step;
  try {
    while (meta.step < o.steps && !stopping && !(o.stopAfter > 0 && meta.step - first >= o.stopAfter)) {
      const t0 = Date.now();
      const batch = trainingBatch(o.seed, meta.step, o.batch, o.seq, meta.step / o.steps, o);
      const lr = learningRate(meta.step, o.steps, o.lr, o.warmup, o.scheduleFrom);
      const { value, grads } = tf.variableGrads(() => loss(forward(params, config, batch, rot), batch.targets, batch.weights), [...params.values()]);
      const lossValue = value.dataSync()[0]!;
      const gnorm = opt.apply(params, grads, lr);
      tf.dispose([value, ...Object.values(grads)]);
      if (!Number.isFinite(lossValue)) throw new Error(`loss is ${lossValue} at step ${meta.step}`);
      meta.step++;
      meta.tokens += o.batch * o.seq;
      const seconds = (Date.now() - t0) / 1000;
      meta.trainSeconds += seconds;
      meta.history.push({ step: meta.step, loss: lossValue });
      o.log(`step ${meta.step}/${o.steps} loss ${lossValue.toFixed(4)} lr ${lr.toExponential(2)} gnorm ${gnorm.toFixed(2)} ${((o.batch * o.seq) / seconds).toFixed(0)} tok/s tensors ${tf.memory().numTensors}`);
      if (meta.step % o.checkpointEvery === 0) saveState(o.dir, meta, params, opt);
      if (o.evalEvery > 0 && meta.step % o.evalEvery === 0) await evaluate();
      // A step never yields by itself: without this a SIGTERM or SIGINT would never reach onSignal.
      await new Promise((resolve) => setImmediate(resolve));
    }
    saveState(o.dir, meta, params, opt);
    // A finished run ends evaluated and exported; an interrupted one (signal, --stop-after) only saves.
    if (meta.step >= o.steps && o.evalN > 0 && (o.evalEvery === 0 || meta.step % o.evalEvery !== 0)) await evaluate();
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  return { params, meta, config };
}
