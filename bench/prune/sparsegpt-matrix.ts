// Times SparseGPT's pieces on one SmolLM2-sized down_proj (576 × 1536) with 4096 calibration rows.
import { dampedInverseFactor } from '../../src/prune/cholesky.js';
import { HessianAccumulator } from '../../src/prune/hessian.js';
import { magnitudePrune } from '../../src/prune/magnitude.js';
import { sparseGptSweep } from '../../src/prune/sparsegpt.js';
import type { SparsityPattern } from '../../src/prune/sparsity-pattern.js';

const rows = 576;
const cols = 1536;
const n = 4096;
let s = 1;
const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296) * 2 - 1;
const x = Float32Array.from({ length: n * cols }, rand);
const w0 = Float64Array.from({ length: rows * cols }, rand);

// Wall time on a shared machine depends on the other load; process CPU time is what the step costs.
const cpuSeconds = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
const time = <T>(label: string, f: () => T): T => {
  const t0 = performance.now();
  const c0 = cpuSeconds();
  const r = f();
  console.log(`${label}: ${((performance.now() - t0) / 1000).toFixed(2)} s wall, ${(cpuSeconds() - c0).toFixed(2)} s CPU`);
  return r;
};
const acc = new HessianAccumulator(cols);
time(`Hessian, ${n} rows × ${cols}`, () => {
  for (let t = 0; t < n; t += 512) acc.add(x.subarray(t * cols, (t + 512) * cols), 512);
});
const h = acc.hessian();
const factor = time(`damped inverse factor, ${cols}²`, () => dampedInverseFactor(h, cols));
const patterns: SparsityPattern[] = [{ kind: 'unstructured', sparsity: 0.5 }, { kind: 'nm', n: 2, m: 4 }];
for (const p of patterns) {
  time(`sweep ${rows} × ${cols}, ${p.kind === 'nm' ? `${p.n}:${p.m}` : p.sparsity}`, () => sparseGptSweep(Float64Array.from(w0), rows, cols, factor, p));
  time(`magnitude ${rows} × ${cols}`, () => magnitudePrune(Float64Array.from(w0), rows, cols, p));
}
