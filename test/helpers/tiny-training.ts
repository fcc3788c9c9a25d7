import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { drillShares, NO_CURRICULA } from '../../scripts/train-tiny/drills.js';
import { useWasmBackend, type TrainOptions } from '../../scripts/train-tiny/train.js';

/**
 * For a trainer test file: the wasm backend before its tests, a temporary root removed after them, and
 * options of a tiny run (every drill on, nothing exported or evaluated) under that root.
 */
export function tinyTraining(name: string): { root: string; tiny: (over: Partial<TrainOptions>) => TrainOptions } {
  const root = mkdtempSync(join(tmpdir(), `kvtrim-${name}-`));
  before(async () => {
    await useWasmBackend();
  });
  after(() => rmSync(root, { recursive: true, force: true }));
  const tiny = (over: Partial<TrainOptions>): TrainOptions => ({
    dim: 32, hidden: 64, layers: 2, heads: 4, kvHeads: 2, seq: 96, batch: 2, steps: 16, lr: 1e-2, warmup: 2, scheduleFrom: 0, seed: 3,
    ...drillShares(() => 1),
    ...NO_CURRICULA, shotAnswerWeight: 1, mix: '',
    dir: join(root, 'run'), exportDir: '', checkpointEvery: 100, evalEvery: 0, evalN: 0, stopAfter: 0, log: () => {},
    ...over,
  });
  return { root, tiny };
}
