import * as tf from '@tensorflow/tfjs';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AdamW } from './adamw.js';
import type { TinyConfig } from './tiny-config.js';
import type { Params } from './tf-model.js';

/** Everything a run needs to continue exactly: its options, progress and measurements. */
export interface RunMeta {
  config: TinyConfig;
  options: Record<string, number | string>;
  /** Present once a resume changed the options: each phase's first step and options. */
  phases?: { fromStep: number; options: Record<string, number | string> }[];
  step: number;
  tokens: number;
  trainSeconds: number;
  history: { step: number; loss: number; accuracy?: Record<string, number> }[];
}

const META = 'state.json';
const TENSORS = 'state.bin';

/** Saves parameters and AdamW moments (float32, in a fixed order) beside the run's meta; the meta file is renamed into place last. */
export function saveState(dir: string, meta: RunMeta, params: Params, opt: AdamW): void {
  mkdirSync(dir, { recursive: true });
  const order = [...params.keys()];
  const parts = order.flatMap((n) => [params.get(n)!, opt.m.get(n)!, opt.v.get(n)!].map((t) => t.dataSync() as Float32Array));
  const total = parts.reduce((a, p) => a + p.length, 0);
  const all = new Float32Array(total);
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  writeFileSync(join(dir, TENSORS + '.tmp'), new Uint8Array(all.buffer));
  writeFileSync(join(dir, META + '.tmp'), JSON.stringify({ ...meta, order, optStep: opt.step }));
  renameSync(join(dir, TENSORS + '.tmp'), join(dir, TENSORS));
  renameSync(join(dir, META + '.tmp'), join(dir, META));
}

export function hasState(dir: string): boolean {
  return existsSync(join(dir, META)) && existsSync(join(dir, TENSORS));
}

/** The configuration of the run saved in `dir` (to build its parameters before loading them). */
export function savedConfig(dir: string): TinyConfig {
  return (JSON.parse(readFileSync(join(dir, META), 'utf8')) as RunMeta).config;
}

/** Restores parameters and moments saved by saveState into freshly built ones of the same config. */
export function loadState(dir: string, params: Params, opt: AdamW): RunMeta {
  const meta = JSON.parse(readFileSync(join(dir, META), 'utf8')) as RunMeta & { order: string[]; optStep: number };
  const buf = readFileSync(join(dir, TENSORS));
  const all = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  let at = 0;
  for (const n of meta.order) {
    for (const v of [params.get(n), opt.m.get(n), opt.v.get(n)]) {
      if (!v) throw new Error(`${dir}: saved tensor ${n} does not exist in this model`);
      const size = v.size;
      if (at + size > all.length) throw new Error(`${dir}: ${TENSORS} is shorter than its meta says`);
      tf.tidy(() => v.assign(tf.tensor(all.subarray(at, at + size), v.shape)));
      at += size;
    }
  }
  if (at !== all.length) throw new Error(`${dir}: ${TENSORS} is longer than its meta says`);
  opt.step = meta.optStep;
  const { order: _order, optStep: _optStep, ...rest } = meta;
  return rest;
}
