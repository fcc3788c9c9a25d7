// Times `pruneModel` (SparseGPT, 50 %) on a random-weight SmolLM2-135M-shaped model with 8 × 128 calibration tokens.
// Usage: bench/prune/smollm2-shaped.ts [layers = 30] [ts | wasm] [--no-error]
import { createWasmBackend } from '../../src/kernels/wasm-backend.js';
import { Model } from '../../src/model/model.js';
import { pruneModel } from '../../src/prune/prune-model.js';
import { randomModel, tinyConfig, toCheckpoint } from '../../test/helpers/random-model.js';

const layers = Number(process.argv[2] ?? 30);
const config = tinyConfig({ dim: 576, hiddenDim: 1536, nLayers: layers, nHeads: 9, nKvHeads: 3, headDim: 64, vocabSize: 49152, maxSeqLen: 2048 });
const backend = process.argv[3] === 'wasm' ? await createWasmBackend({ threads: 1 }) : undefined;
const model = Model.fromCheckpoint(toCheckpoint(randomModel(config, 1, 0.05)), { backend });
let s = 7;
const calibration = Array.from({ length: 8 }, () => Array.from({ length: 128 }, () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) % config.vocabSize));
// Wall time on a shared machine depends on the other load; process CPU time is what the pruning costs.
const cpuSeconds = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
const t0 = performance.now();
const c0 = cpuSeconds();
let last = t0;
pruneModel(model, calibration, {
  method: 'sparsegpt',
  pattern: { kind: 'unstructured', sparsity: 0.5 },
  measureError: !process.argv.includes('--no-error'),
  onMatrix: (r) => {
    if (r.name.endsWith('down_proj.weight')) {
      const now = performance.now();
      console.log(`layer ${r.layer}: ${((now - last) / 1000).toFixed(1)} s wall, ${(cpuSeconds() - c0).toFixed(1)} s CPU so far`);
      last = now;
    }
  },
});
console.log(`SparseGPT 50 % on ${layers} SmolLM2-135M-shaped layers (${model.backend.name} backend), 8 × 128 calibration tokens: ${((performance.now() - t0) / 1000).toFixed(1)} s wall, ${(cpuSeconds() - c0).toFixed(1)} s CPU`);
model.backend.dispose();
