import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { FormatError } from '../../src/formats/format-error.js';
import { ropeScalingFromFreqFactors } from '../../src/formats/gguf-rope-freqs.js';
import { loadCheckpoint } from '../../src/formats/load-checkpoint.js';
import { writeGgufModel } from '../../src/formats/writers/gguf-writer.js';
import { writeHfModel } from '../../src/formats/writers/hf-writer.js';
import type { ModelConfig, RopeScaling } from '../../src/formats/model-config.js';
import { Model } from '../../src/model/model.js';
import { randomModel, tinyConfig } from '../helpers/random-model.js';
import { maxRelError } from '../helpers/reference-forward.js';

const dir = mkdtempSync(join(tmpdir(), 'kvtrim-ropefreqs-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const llama3 = (factor: number, low: number, high: number, orig: number): RopeScaling => ({ type: 'llama3', factor, lowFreqFactor: low, highFreqFactor: high, originalMaxPositions: orig });

/** llama.cpp's converter: rope_freqs from float32 base frequencies (torch), thresholds in float64. */
function converterFactors(s: RopeScaling, theta: number, hd: number): Float32Array {
  return Float32Array.from({ length: hd / 2 }, (_, k) => {
    const freq = Math.fround(1 / Math.fround(theta ** Math.fround((2 * k) / hd)));
    const wavelen = (2 * Math.PI) / freq;
    if (wavelen < s.originalMaxPositions / s.highFreqFactor) return 1;
    if (wavelen > s.originalMaxPositions / s.lowFreqFactor) return s.factor;
    const smooth = (s.originalMaxPositions / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
    return 1 / ((1 - smooth) / s.factor + smooth);
  });
}

/** HF transformers' llama3 inv_freq (float64), the function a RopeScaling must reproduce. */
function hfInvFreq(s: RopeScaling, theta: number, hd: number): number[] {
  return Array.from({ length: hd / 2 }, (_, k) => {
    const f = 1 / theta ** ((2 * k) / hd);
    const wavelen = (2 * Math.PI) / f;
    const smooth = (s.originalMaxPositions / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
    if (wavelen < s.originalMaxPositions / s.highFreqFactor) return f;
    if (wavelen > s.originalMaxPositions / s.lowFreqFactor) return f / s.factor;
    return (1 - smooth) * (f / s.factor) + smooth * f;
  });
}

test('rope_freqs of Llama 3.2 1B (head dim 64, theta 5e5) gives back factor 32, low 1, high 4, original 8192', () => {
  const s = llama3(32, 1, 4, 8192);
  assert.deepEqual(ropeScalingFromFreqFactors(converterFactors(s, 500000, 64), 500000, 64, 'f'), s);
  const s8b = llama3(8, 1, 4, 8192);
  assert.deepEqual(ropeScalingFromFreqFactors(converterFactors(s8b, 500000, 128), 500000, 128, 'f'), s8b);
});

test('other llama3 parameters are recovered up to an equivalent set: the same inverse frequencies', () => {
  for (const [s, theta, hd] of [[llama3(16, 2, 8, 4096), 500000, 64], [llama3(8, 1, 4, 16), 500000, 6], [llama3(4, 1, 4, 64), 10000, 16], [llama3(4, 1, 2, 50), 10000, 8]] as const) {
    const got = ropeScalingFromFreqFactors(converterFactors(s, theta, hd), theta, hd, 'f')!;
    const want = hfInvFreq(s, theta, hd);
    hfInvFreq(got, theta, hd).forEach((x, i) => assert.ok(Math.abs(x - want[i]!) <= 1e-6 * want[i]!, `${JSON.stringify(s)} freq ${i}`));
  }
  assert.equal(ropeScalingFromFreqFactors(new Float32Array(32).fill(1), 500000, 64, 'f'), undefined);
});

test('rope_freqs that are not llama3 scaling are a FormatError', () => {
  const bad = converterFactors(llama3(32, 1, 4, 8192), 500000, 64);
  bad[16] = bad[16]! * 1.1;
  for (const r of [bad, Float32Array.from({ length: 32 }, (_, i) => 1 + (i % 3)), new Float32Array(31).fill(2), new Float32Array(32).fill(NaN)])
    assert.throws(() => ropeScalingFromFreqFactors(r, 500000, 64, 'file.gguf'), (e: unknown) => e instanceof FormatError && e.message.startsWith('file.gguf: '));
});

test('a llama3-scaled model written to GGUF (rope_freqs tensor) computes what its HF directory computes', () => {
  const cases: Partial<ModelConfig>[] = [
    { ropeScaling: llama3(8, 1, 4, 16), ropeTheta: 500000 },
    { dim: 32, headDim: 16, nHeads: 2, nKvHeads: 1, ropeScaling: llama3(4, 1, 8, 2048), ropeTheta: 10000, maxSeqLen: 4096 },
  ];
  for (const [k, over] of cases.entries()) {
    const m = randomModel(tinyConfig(over), 11 + k);
    writeHfModel(join(dir, `hf${k}`), m);
    writeGgufModel(join(dir, `m${k}.gguf`), m);
    const hf = loadCheckpoint(join(dir, `hf${k}`));
    const gg = loadCheckpoint(join(dir, `m${k}.gguf`));
    assert.ok(gg.config.ropeScaling);
    const tokens = Array.from({ length: 40 }, (_, i) => (i * 7 + 3) % 37);
    const run = (ck: typeof hf) => {
      const model = Model.fromCheckpoint(ck);
      return model.forward(tokens, model.newCache(), { allLogits: true });
    };
    const err = maxRelError(run(gg), run(hf));
    assert.ok(err < 1e-5, `case ${k}: rel error ${err}`);
  }
});
