import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { getLlama, LlamaLogLevel, type Llama, type Token } from 'node-llama-cpp';
import { syntheticVocab } from '../../bench/bench-models.js';
import { loadCheckpoint } from '../../src/formats/load-checkpoint.js';
import type { DType } from '../../src/formats/tensor.js';
import { writeGgufModel } from '../../src/formats/writers/gguf-writer.js';
import type { QuantMix } from '../../src/formats/writers/quant-mix.js';
import { Model } from '../../src/model/model.js';
import { randomModel, tinyConfig } from '../helpers/random-model.js';

// The check that our block layouts are llama.cpp's: llama.cpp (node-llama-cpp's build) runs the
// files our writer quantised, and its next-token distributions must match kvtrim's on the same
// file far more closely than either matches the unquantised model (what is left is llama.cpp's
// int8 rounding of the activations: KL ≈ 5e-4 against ≈ 2e-2 for Q4_K_M's own error, 2e-4 against 1.6e-3 for Q6_K).

const dir = mkdtempSync(join(tmpdir(), 'kvtrim-llamacpp-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const V = 320;
// hiddenDim 288: ffn_down rows are not whole super-blocks, so the mix holds q5_0 and q8_0 too.
const cfg = tinyConfig({ dim: 256, hiddenDim: 288, nHeads: 4, nKvHeads: 2, headDim: 64, nLayers: 4, vocabSize: V, maxSeqLen: 64 });
const prompt = [1, 300, 17, 260, 290, 301, 12, 280, 299, 270, 33, 100];

function write(dtype: DType | QuantMix): string {
  const path = join(dir, `${dtype}.gguf`);
  writeGgufModel(path, randomModel(cfg, 9, 0.1), { dtype, vocab: syntheticVocab(V) });
  return path;
}

/** llama.cpp's next-token distribution after each prompt prefix (temperature 1, no truncation). */
async function llamaCppProbs(llama: Llama, path: string): Promise<Float64Array[]> {
  const model = await llama.loadModel({ modelPath: path, gpuLayers: 0 });
  const ctx = await model.createContext({ contextSize: 64, batchSize: 64, sequences: 1, threads: 1 });
  try {
    const options = { temperature: 1, topK: V, topP: 1, minP: 0 };
    const out = await ctx.getSequence().controlledEvaluate(prompt.map((t) => [t as Token, { generateNext: { probabilities: true, options } }]));
    return out.map((o) => {
      const p = new Float64Array(V);
      for (const [k, v] of o!.next.probabilities!) p[k] = v;
      return p;
    });
  } finally {
    await ctx.dispose();
    await model.dispose();
  }
}

/** kvtrim's softmax of the logits after each prompt prefix (TypeScript backend: exact float activations). */
function kvtrimProbs(path: string): Float64Array[] {
  const m = Model.fromCheckpoint(loadCheckpoint(path));
  const all = m.forward(prompt, m.newCache(), { allLogits: true });
  return prompt.map((_, t) => {
    const l = all.subarray(t * V, (t + 1) * V);
    const mx = Math.max(...l);
    const e = Float64Array.from(l, (v) => Math.exp(v - mx));
    const s = e.reduce((a, b) => a + b);
    return e.map((v) => v / s);
  });
}

const kl = (p: Float64Array, q: Float64Array) => p.reduce((s, v, i) => s + (v > 0 ? v * Math.log(v / Math.max(q[i]!, 1e-300)) : 0), 0);
const meanKl = (a: Float64Array[], b: Float64Array[]) => a.reduce((s, p, t) => s + kl(p, b[t]!), 0) / a.length;

test('llama.cpp reads our Q4_K_M (q4_K, q6_K, q5_0, q8_0) and Q6_K files as kvtrim does: mean KL to kvtrim on the same file < 1/4 of the quantisation\'s own KL to f32', async () => {
  // One library instance for all files: node-llama-cpp does not load its binding a second time.
  const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
  after(() => llama.dispose());
  const f32 = await llamaCppProbs(llama, write('f32'));
  for (const dtype of ['q4_k_m', 'q6_k'] as const) {
    const path = write(dtype);
    const types = new Set([...loadCheckpoint(path).tensors.values()].map((t) => t.dtype));
    if (dtype === 'q4_k_m') assert.deepEqual(types, new Set(['f32', 'q4_k', 'q6_k', 'q5_0', 'q8_0']));
    const theirs = await llamaCppProbs(llama, path);
    const same = meanKl(theirs, kvtrimProbs(path));
    const noise = meanKl(f32, theirs);
    assert.ok(noise > 0, `${dtype}: quantisation changed nothing`);
    assert.ok(same < noise / 4, `${dtype}: KL(llama.cpp ‖ kvtrim) ${same} vs KL(f32 ‖ ${dtype}) ${noise}`);
  }
});
